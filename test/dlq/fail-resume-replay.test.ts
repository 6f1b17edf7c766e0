/**
 * The 'fail' policy on the real broker, then the two ways out:
 *   1. strict serde + 'fail': the app fails with a typed DeserializationError; the bad record's offset is NOT
 *      committed and nothing after it is output;
 *   2. restart with the policy changed to 'dead-letter': resumes FROM the bad record (it is the first one read),
 *      dead-letters it, processes the rest;
 *   3. restart with the fixed (lenient) serde, replay the dead letters: the record is processed; a second replay
 *      sends nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeserializationError, TributaryError } from '../../errors.js';
import { REPLAYED_FROM_HEADER } from '../../processor/dlq/dead-letter.js';
import { replayDeadLetters } from '../../processor/dlq/replay.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { ConsumedRecord } from '../../common/records.js';
import { lenientPaymentSerde, paymentTopology, strictPaymentSerde, type Payment } from '../fixtures/poison-topology.js';
import { createTopics, kafkaBrokers, produce, readTopic, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';
import { InProcessApps } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

const payment = (id: string, amount: number | string) => ({ key: id, value: JSON.stringify({ id, amount }) });
const outputs = async (topic: string): Promise<Payment[]> =>
  (await readTopic(topic)).map((r) => JSON.parse(r.value?.toString() ?? 'null') as Payment);

describe("'fail' policy, resume and replay on the real broker", () => {
  it('stops at the bad record without committing it, resumes from it, and replays its dead letter once', async () => {
    const appId = uniqueName('fail-resume');
    const topics = { payments: `${appId}-payments`, paymentsOut: `${appId}-payments-out` };
    await createTopics([
      { topic: topics.payments, partitions: 1 },
      { topic: topics.paymentsOut, partitions: 1 },
    ]);
    const committed = async (): Promise<number | undefined> =>
      (await withAdmin((admin) => admin.fetchCommittedOffsets(appId, [topics.payments]))).get(`${topics.payments}:0`);

    // 1. Strict serde, 'fail'. Two good records are processed and committed first.
    await produce(topics.payments, [payment('pay-0', 10), payment('pay-1', 11)]);
    const strict = await apps.start(paymentTopology(appId, topics, { serde: strictPaymentSerde, deserialization: 'fail' }), {
      applicationId: appId,
    });
    const errors: TributaryError[] = [];
    strict.on('error', (error) => errors.push(error));
    await waitUntil(async () => (await committed()) === 2, { description: 'offset 2 committed' });
    await produce(topics.payments, [payment('pay-2', '12.50'), payment('pay-3', 13), payment('pay-4', 14)]);
    await waitUntil(() => strict.state === 'failed', { description: 'the app failing' });

    const cause = strict.failureCause;
    expect(cause).toBeInstanceOf(DeserializationError);
    expect(cause).toMatchObject({ code: 'TRIBUTARY_DESERIALIZATION', topic: topics.payments, partition: 0, offset: 2, part: 'value' });
    expect((cause as Error).message).toMatch(/amount must be a number.*set the deserialization error policy/s);
    expect(errors.map((e) => e.code)).toEqual(['TRIBUTARY_DESERIALIZATION']);
    await strict.stop();
    expect(await committed()).toBe(2);
    expect((await outputs(topics.paymentsOut)).map((p) => p.id)).toEqual(['pay-0', 'pay-1']);
    expect(await readTopic(`${appId}-dlq`)).toEqual([]);
    console.log(
      'fail policy: app failed with',
      (cause as TributaryError).code,
      'at offset',
      (cause as DeserializationError).offset,
      '; committed offset',
      await committed(),
    );

    // 2. Policy changed to 'dead-letter': resumes from offset 2 (3 records read: 2, 3, 4).
    const deadLettering = await apps.start(paymentTopology(appId, topics, { serde: strictPaymentSerde, deserialization: 'dead-letter' }), {
      applicationId: appId,
    });
    let deadLetters: ConsumedRecord[] = [];
    await waitUntil(
      async () => {
        deadLetters = await readTopic(`${appId}-dlq`);
        return deadLetters.length === 1 && (await outputs(topics.paymentsOut)).length === 4;
      },
      { description: 'pay-2 dead-lettered, pay-3 and pay-4 output' },
    );
    await waitUntil(async () => (await committed()) === 5, { description: 'offset 5 committed' });
    expect(deadLettering.stats().engine.processed[topics.payments]).toBe(3);
    expect(deadLetters[0].headers[DeadLetterHeaders.sourceOffset]?.toString()).toBe('2');
    expect((await outputs(topics.paymentsOut)).map((p) => p.id)).toEqual(['pay-0', 'pay-1', 'pay-3', 'pay-4']);
    console.log(
      'resumed with dead-letter policy: first record read at offset',
      deadLetters[0].headers[DeadLetterHeaders.sourceOffset]?.toString(),
      '; records read',
      deadLettering.stats().engine.processed[topics.payments],
    );
    await deadLettering.stop();

    // 3. Fixed serde; replay the dead letter; the app processes it; a second replay sends nothing.
    const fixed = await apps.start(paymentTopology(appId, topics, { serde: lenientPaymentSerde, deserialization: 'dead-letter' }), {
      applicationId: appId,
    });
    const kafka = { brokers: kafkaBrokers().split(',') };
    const first = await replayDeadLetters({ kafka, applicationId: appId });
    expect(first).toMatchObject({ scanned: 1, replayed: 1, malformed: 0, replayedByTopic: { [topics.payments]: 1 } });
    await waitUntil(async () => (await outputs(topics.paymentsOut)).length === 5, { description: 'the replayed payment processed' });
    expect((await outputs(topics.paymentsOut)).at(-1)).toEqual({ id: 'pay-2', amount: 12.5 });
    const replayed = (await readTopic(topics.payments)).at(-1) as ConsumedRecord;
    expect(replayed.offset).toBe(5);
    expect(replayed.headers[REPLAYED_FROM_HEADER]?.toString()).toBe(`${appId}-dlq:0:0`);
    expect(fixed.stats().engine).toMatchObject({ deadLettered: 0, processed: { [topics.payments]: 1 } });

    const second = await replayDeadLetters({ kafka, applicationId: appId });
    expect(second).toMatchObject({ scanned: 0, replayed: 0 });
    await waitUntil(async () => (await committed()) === 6, { description: 'offset 6 committed' });
    expect((await outputs(topics.paymentsOut)).map((p) => p.id)).toEqual(['pay-0', 'pay-1', 'pay-3', 'pay-4', 'pay-2']);
    console.log('replay: first run', JSON.stringify(first), 'second run', JSON.stringify(second));
  });
});
