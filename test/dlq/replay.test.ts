/**
 * Dead-letter replay against the real broker, with dead letters written exactly as the engine writes them
 * (`deadLetterRecord`) plus malformed ones. The end-to-end path (app dead-letters, fix, replay, app processes) is in
 * poison-input.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { runDlqCommand } from '../../cli/commands/dlq.js';
import { CliConfigError, CliUsageError, DeadLetterTargetMissingError, DeadLetterTopicMissingError } from '../../errors.js';
import { REPLAYED_FROM_HEADER } from '../../processor/dlq/dead-letter.js';
import { progressTopicName } from '../../processor/dlq/progress-topic.js';
import { replayDeadLetters } from '../../processor/dlq/replay.js';
import { DeadLetterHeaders, deadLetterRecord, type ErrorStage } from '../../common/dead-letters.js';
import { RecordProducer } from '../../processor/kafka/producer.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { TARGET_TOPIC_HEADER } from '../../common/dead-letters.js';
import { createTopics, kafkaBrokers, readTopic, testKafkaClient, uniqueName } from '../helpers/kafka.js';

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

interface Fixture {
  readonly app: string;
  readonly dlq: string;
  readonly orders: string;
  readonly customers: string;
}

async function fixture(): Promise<Fixture> {
  const app = uniqueName('replay');
  const f = { app, dlq: `${app}-dlq`, orders: `${app}-orders`, customers: `${app}-customers` };
  await createTopics([
    { topic: f.dlq, partitions: 2 },
    { topic: f.orders, partitions: 4 },
    { topic: f.customers, partitions: 2 },
  ]);
  return f;
}

/** A record as if read from `topic`, to be dead-lettered. */
function source(topic: string, partition: number, offset: number, key: string | null, value: string | null): ConsumedRecord {
  return {
    topic,
    partition,
    offset,
    timestamp: 1_700_000_000_000 + offset,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: { 'trace-id': Buffer.from(`t-${offset}`) },
  };
}

async function send(records: readonly ProducedRecord[]): Promise<void> {
  const producer = new RecordProducer(testKafkaClient());
  await producer.connect();
  try {
    await producer.send(records);
  } finally {
    await producer.disconnect();
  }
}

function letter(f: Fixture, stage: ErrorStage, record: ConsumedRecord, dlqPartition: number): ProducedRecord {
  return { ...deadLetterRecord(f.dlq, f.app, stage, record, new SyntaxError(`bad ${record.offset}`)), partition: dlqPartition };
}

describe('replayDeadLetters on a real broker', () => {
  it('sends original bytes back to the source partition, reports malformed letters, and never replays twice', async () => {
    const f = await fixture();
    const kafka = { brokers: kafkaBrokers().split(',') };
    await send([
      letter(f, 'deserialization', source(f.orders, 3, 10, 'o-10', '{broken'), 0),
      letter(f, 'processing', source(f.orders, 1, 11, 'o-11', '{"total":-1}'), 1),
      letter(f, 'deserialization', source(f.customers, 0, 5, null, 'no key'), 0),
      // A production-stage letter: an output the app could not write; it goes back to its target topic.
      {
        topic: f.dlq,
        partition: 1,
        timestamp: 5,
        key: Buffer.from('c-9'),
        value: Buffer.from('out'),
        headers: { [DeadLetterHeaders.stage]: Buffer.from('production'), [TARGET_TOPIC_HEADER]: Buffer.from(f.customers) },
      },
      // Malformed: no headers at all, and a source-stage letter without its partition.
      { topic: f.dlq, partition: 0, timestamp: 6, key: null, value: Buffer.from('stray'), headers: {} },
      {
        topic: f.dlq,
        partition: 1,
        timestamp: 7,
        key: null,
        value: Buffer.from('half'),
        headers: { [DeadLetterHeaders.stage]: Buffer.from('processing'), [DeadLetterHeaders.sourceTopic]: Buffer.from(f.orders) },
      },
    ]);

    const dry = await replayDeadLetters({ kafka, applicationId: f.app, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, scanned: 6, replayed: 4, malformed: 2, skippedByFilter: 0, alreadyReplayed: 0 });
    expect(await readTopic(f.orders)).toEqual([]);

    const events: number[] = [];
    const first = await replayDeadLetters({ kafka, applicationId: f.app, onProgress: (e) => events.push(e.scanned) });
    console.log('replay run 1', JSON.stringify({ ...first, malformedRecords: first.malformedRecords.length }));
    expect(first).toMatchObject({
      dryRun: false,
      scanned: 6,
      replayed: 4,
      malformed: 2,
      replayedByTopic: { [f.orders]: 2, [f.customers]: 2 },
    });
    expect(first.malformedRecords.map((m) => m.reason).sort()).toEqual(
      [expect.stringMatching(/no tributary.stage header/), expect.stringMatching(/source.partition is missing/)].sort(),
    );
    expect(events.at(-1)).toBe(6);

    const orders = await readTopic(f.orders);
    expect(orders.map((r) => [r.partition, text(r.key), text(r.value), r.timestamp]).sort()).toEqual(
      [
        [1, 'o-11', '{"total":-1}', 1_700_000_000_011],
        [3, 'o-10', '{broken', 1_700_000_000_010],
      ].sort(),
    );
    for (const r of orders) {
      expect(Object.keys(r.headers).sort()).toEqual([REPLAYED_FROM_HEADER, 'trace-id'].sort());
      expect(text(r.headers[REPLAYED_FROM_HEADER])).toMatch(new RegExp(`^${f.dlq}:[01]:\\d+$`));
      expect(text(r.headers['trace-id'])).toBe(`t-${text(r.key)?.slice(2)}`);
    }
    const customers = await readTopic(f.customers);
    expect(customers.map((r) => [text(r.key), text(r.value)]).sort()).toEqual(
      [
        ['c-9', 'out'],
        [null, 'no key'],
      ].sort(),
    );
    expect(customers.find((r) => r.key === null)?.partition).toBe(0); // null key: back to its original partition

    const second = await replayDeadLetters({ kafka, applicationId: f.app });
    expect(second).toMatchObject({ scanned: 0, replayed: 0, malformed: 0 });
    expect(await readTopic(f.orders)).toHaveLength(2);

    // New dead letters after the run: only they are replayed.
    await send([letter(f, 'processing', source(f.orders, 2, 12, 'o-12', '{"total":-2}'), 1)]);
    const third = await replayDeadLetters({ kafka, applicationId: f.app });
    expect(third).toMatchObject({ scanned: 1, replayed: 1, replayedByTopic: { [f.orders]: 1 } });
    expect((await readTopic(progressTopicName(f.app))).length).toBeGreaterThan(0);
  });

  it('filters by source topic and stage; an unfiltered run afterwards replays only the rest', async () => {
    const f = await fixture();
    const kafka = { brokers: kafkaBrokers().split(',') };
    await send([
      letter(f, 'deserialization', source(f.orders, 0, 1, 'a', 'A'), 0),
      letter(f, 'processing', source(f.orders, 0, 2, 'b', 'B'), 0),
      letter(f, 'deserialization', source(f.customers, 1, 3, 'c', 'C'), 0),
      letter(f, 'processing', source(f.customers, 1, 4, 'd', 'D'), 1),
    ]);
    const byTopic = await replayDeadLetters({ kafka, applicationId: f.app, sourceTopic: f.orders });
    expect(byTopic).toMatchObject({ scanned: 4, replayed: 2, skippedByFilter: 2 });
    const byStage = await replayDeadLetters({ kafka, applicationId: f.app, stage: 'processing' });
    expect(byStage).toMatchObject({ scanned: 4, replayed: 1, alreadyReplayed: 2, skippedByFilter: 1 });
    const rest = await replayDeadLetters({ kafka, applicationId: f.app });
    expect(rest).toMatchObject({ scanned: 4, replayed: 1, alreadyReplayed: 3 });
    const all = [...(await readTopic(f.orders)), ...(await readTopic(f.customers))];
    expect(all.map((r) => text(r.value)).sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(await replayDeadLetters({ kafka, applicationId: f.app })).toMatchObject({ scanned: 0, replayed: 0 });
  });

  it('fails with typed errors for a missing DLQ or a missing target, saving progress up to the failing batch', async () => {
    const f = await fixture();
    const kafka = { brokers: kafkaBrokers().split(',') };
    await expect(replayDeadLetters({ kafka, applicationId: uniqueName('nothing') })).rejects.toBeInstanceOf(DeadLetterTopicMissingError);
    await send([letter(f, 'deserialization', source(`${f.app}-deleted`, 0, 1, 'k', 'v'), 0)]);
    const failure = await replayDeadLetters({ kafka, applicationId: f.app }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeadLetterTargetMissingError);
    expect((failure as DeadLetterTargetMissingError).topics).toEqual([`${f.app}-deleted`]);
    // The other topics can still be replayed.
    await send([letter(f, 'deserialization', source(f.orders, 0, 2, 'k2', 'v2'), 1)]);
    expect(await replayDeadLetters({ kafka, applicationId: f.app, sourceTopic: f.orders })).toMatchObject({
      replayed: 1,
      skippedByFilter: 1,
    });
  });

  it('the CLI prints what it did; bad settings and failures are typed errors for the dispatcher', async () => {
    const f = await fixture();
    await send([letter(f, 'deserialization', source(f.orders, 2, 1, 'k', 'v'), 0)]);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    // Settings from the environment too, as every tributary command.
    expect(await runDlqCommand(['replay', '--dry-run'], io, { TRIBUTARY_APPLICATION_ID: f.app, TRIBUTARY_BROKERS: kafkaBrokers() })).toBe(
      0,
    );
    expect(out.join('\n')).toContain('Would replay 1;');
    out.length = 0;
    expect(await runDlqCommand(['replay', '--application-id', f.app, '--brokers', kafkaBrokers()], io, {})).toBe(0);
    console.log(out.join('\n'));
    expect(out).toEqual([
      `Scanned 1 dead letter(s) in ${f.dlq}.`,
      'Replayed 1; skipped by filter 0; already replayed 0; malformed 0; duplicates 0; refused 0.',
      `  ${f.orders}: 1`,
    ]);

    await expect(runDlqCommand(['replay', '--brokers', kafkaBrokers()], io, {})).rejects.toBeInstanceOf(CliConfigError);
    await expect(
      runDlqCommand(['replay', '--application-id', f.app, '--brokers', kafkaBrokers(), '--stage', 'later'], io, {}),
    ).rejects.toThrow(/--stage: "later" is not one of/);
    await expect(runDlqCommand(['replay', '--nope'], io, {})).rejects.toBeInstanceOf(CliUsageError);
    await expect(runDlqCommand(['rewind'], io, {})).rejects.toBeInstanceOf(CliUsageError);
    await expect(
      runDlqCommand(['replay', '--application-id', uniqueName('none'), '--brokers', kafkaBrokers()], io, {}),
    ).rejects.toBeInstanceOf(DeadLetterTopicMissingError);
    out.length = 0;
    expect(await runDlqCommand(['--help'], io, {})).toBe(0);
    expect(out[0]).toMatch(/^Usage: tributary dlq replay/);
  });
});
