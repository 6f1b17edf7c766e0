/**
 * Huge records and Kafka's max.message.bytes, which limits a whole record BATCH (per partition, per request).
 * 1. A bad record close to the default max.message.bytes (1 048 588), default topic settings: it is dead-lettered and
 *    the app keeps running. The dead letter is the record PLUS the tributary.* headers, so the runtime creates
 *    `<applicationId>-dlq` with max.message.bytes = the largest limit of the topics it touches + 64 KiB, and the
 *    engine caps the error-message header.
 * 2. Two 200 KB records for an output topic with max.message.bytes 300 000 in one processing cycle: both are written
 *    (each fits). RecordProducer's requests are larger than that topic's limit per partition batch, so on
 *    MESSAGE_TOO_LARGE it halves the chunk and resends, down to single records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil } from '../helpers/kafka.js';
import { InProcessApps } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

/** Fits a default topic (1 048 588 bytes per batch) with the key and record framing, with little room left. */
const NEAR_DEFAULT_LIMIT = 1_048_000;

describe('a huge poison record on default topic settings', () => {
  it('is dead-lettered and the app keeps running', async () => {
    const appId = uniqueName('huge');
    const topics = { in: `${appId}-in`, out: `${appId}-out` };
    await createTopics([
      { topic: topics.in, partitions: 1 },
      { topic: topics.out, partitions: 1 },
    ]);
    const b = new StreamsBuilder();
    b.stream(topics.in, { key: Serdes.string(), value: Serdes.json() }).to(topics.out, { value: Serdes.json() });
    const app = await apps.start(b.build({ applicationId: appId }), { applicationId: appId });
    await produce(topics.in, [{ key: 'huge', value: 'x'.repeat(NEAR_DEFAULT_LIMIT) }]);
    await produce(topics.in, [{ key: 'fine', value: '{"ok":1}' }]);
    await waitUntil(async () => app.state === 'failed' || (await readTopic(topics.out)).length === 1, {
      timeoutMs: 60_000,
      description: 'the good record output, or the app failing',
    });
    console.log(
      'huge poison record:',
      app.state,
      app.failureCause instanceof Error ? app.failureCause.message : '',
      JSON.stringify(app.stats().engine.errors),
    );
    expect(app.state).toBe('running');
    const [letter] = await readTopic(`${appId}-dlq`);
    expect(letter.value?.length).toBe(NEAR_DEFAULT_LIMIT);
    expect(letter.headers[DeadLetterHeaders.stage]?.toString()).toBe('deserialization');
  });

  it('writes two outputs that each fit the topic limit but not together', async () => {
    const appId = uniqueName('batch');
    const topics = { in: `${appId}-in`, out: `${appId}-out` };
    await createTopics([
      { topic: topics.in, partitions: 1 },
      { topic: topics.out, partitions: 1, configs: { 'max.message.bytes': '300000' } },
    ]);
    const b = new StreamsBuilder();
    b.stream(topics.in, { key: Serdes.string(), value: Serdes.json<string>() }).to(topics.out, { value: Serdes.json<string>() });
    const app = await apps.create(b.build({ applicationId: appId }), { applicationId: appId });
    // Produced before the start, in separate requests, so the app reads both in its first batch.
    await produce(topics.in, [{ key: 'a', value: JSON.stringify('a'.repeat(200_000)) }]);
    await produce(topics.in, [{ key: 'b', value: JSON.stringify('b'.repeat(200_000)) }]);
    await app.start();
    await waitUntil(async () => app.state === 'failed' || (await readTopic(topics.out)).length === 2, {
      timeoutMs: 60_000,
      description: 'both outputs, or the app failing',
    });
    console.log(
      'two 200 KB outputs, 300 000-byte topic limit:',
      app.state,
      app.failureCause instanceof Error ? app.failureCause.message : '',
    );
    expect(app.state).toBe('running');
  });
});
