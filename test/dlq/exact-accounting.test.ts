/**
 * Exactly one dead letter per bad source record, on the real broker, in-process apps (see crash-accounting.test.ts
 * for kill -9): a topic read only by global tables; a topic read by a global table and a co-partitioned table; a
 * stream read by two sub-topologies whose joiners throw in both, or only after the repartition; two instances; bad
 * records already there at the first start and arriving later. In every case: dead letters == bad source records
 * per topic and stage, byte-identical originals, never an internal topic as source, metrics == dead letters,
 * replay dry-run == dead letters per topic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../common/records.js';
import type { TributaryApp } from '../../processor/runtime/app.js';
import { topicPartitionId } from '../../common/records.js';
import { exactPoisonTopics, exactPoisonTopology, globalOnlyTopology, type ExactPoisonTopics } from '../fixtures/exact-poison-topology.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil, withAdmin, type TestRecord } from '../helpers/kafka.js';
import {
  checkLetters,
  EXPECT_HEADER,
  expectedDeadLetters,
  metricCounts,
  replayDryRun,
  tallyDeadLetters,
  type Counts,
  type Expected,
} from './dead-letter-accounting.js';
import { InProcessApps } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

const good = (key: string, name: string): TestRecord => ({ key, value: JSON.stringify({ name }), headers: { [EXPECT_HEADER]: 'good' } });
const badTable = (key: string | null, value: string): TestRecord => ({ key, value, headers: { [EXPECT_HEADER]: 'deserialization' } });

/** Good and bad records of a table topic: `bad` undecodable values, one of them without a key. */
function tableRecords(prefix: string, goodCount: number, badCount: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let i = 0; i < goodCount; i++) records.push(good(`${prefix}-${i}`, `${prefix} ${i}`));
  for (let i = 0; i < badCount; i++) {
    records.push(
      i === 0 ? badTable(null, JSON.stringify({ name: 'no key' })) : badTable(`${prefix}-bad-${i}`, `{"id": ${prefix}-${i}, nope}`),
    );
  }
  return records;
}

/** Dead letters, metrics and replay agree with the bad records of `sources`, exactly. */
async function expectExactAccounting(
  appId: string,
  sources: readonly string[],
  running: readonly TributaryApp[],
  expectedCounts: Counts,
): Promise<{ expected: Expected; counts: Counts }> {
  const dlq = `${appId}-dlq`;
  const expected = await expectedDeadLetters(sources);
  expect(expected.counts).toEqual(expectedCounts);
  const total = Object.values(expectedCounts).reduce((a, b) => a + b, 0);
  let tally = await tallyDeadLetters(dlq);
  await waitUntil(
    async () => {
      tally = await tallyDeadLetters(dlq);
      const metrics = metricCounts(running.map((app) => app.stats().engine));
      return tally.letters.length >= total && Object.values(metrics).reduce((a, b) => a + b, 0) >= tally.letters.length;
    },
    { timeoutMs: 45_000, description: `${total} dead letters in ${dlq}, counted by the apps` },
  );
  // Nothing more arrives late.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  tally = await tallyDeadLetters(dlq);
  const metrics = metricCounts(running.map((app) => app.stats().engine));
  const replay = await replayDryRun(appId);
  const byTopic: Counts = {};
  for (const [key, n] of Object.entries(expectedCounts)) byTopic[key.split('/')[0]] = (byTopic[key.split('/')[0]] ?? 0) + n;
  const counts = {
    badSourceRecords: total,
    deadLetters: tally.letters.length,
    duplicates: tally.duplicates,
    metrics: Object.values(metrics).reduce((a, b) => a + b, 0),
    replayWouldSend: replay.replayed,
  };
  console.log(`[${appId}] counts`, JSON.stringify({ ...counts, perTopicStage: tally.raw, replayByTopic: replay.replayedByTopic }));
  expect(tally.raw).toEqual(expectedCounts);
  expect(tally.distinct).toEqual(expectedCounts);
  expect(tally.duplicates).toBe(0);
  expect(metrics).toEqual(expectedCounts);
  expect(replay).toMatchObject({ replayed: total, duplicates: 0, refused: 0, malformed: 0, replayedByTopic: byTopic });
  checkLetters(appId, expected, tally);
  return { expected, counts };
}

/** Waits until the group has committed the end offsets of `topics` (so a joining instance starts after them). */
async function waitForCommits(groupId: string, topics: readonly string[]): Promise<void> {
  await waitUntil(
    async () =>
      withAdmin(async (admin) => {
        const committed = await admin.fetchCommittedOffsets(groupId, topics);
        for (const topic of topics) {
          for (const [partition, end] of await admin.fetchEndOffsets(topic)) {
            if (end > 0 && (committed.get(topicPartitionId(topic, partition)) ?? 0) < end) return false;
          }
        }
        return true;
      }),
    { timeoutMs: 30_000, description: `group ${groupId} committed ${topics.join(', ')}` },
  );
}

describe('one bad record, one dead letter', () => {
  it('a topic read only by a global table: records before the first start and later, two instances', async () => {
    const appId = uniqueName('exact-global');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 4 }]);
    await produce(topic, tableRecords('c', 40, 12));
    const a = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId });
    // The first instance dead-letters what was there before it started...
    await waitForCommits(`${appId}-global-dead-letters`, [topic]);
    const b = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId });
    // ... and bad records arriving while two instances run get one dead letter between them.
    await produce(topic, tableRecords('d', 10, 8));
    const { counts } = await expectExactAccounting(appId, [topic], [a, b], { [`${topic}/deserialization`]: 20 });
    // Every instance skipped every bad record in its own store, none of them counted as a dead letter there.
    for (const app of [a, b]) expect(app.stats().engine.notDeadLettered.owner).toBe(20);
    console.log('scenario global-only', JSON.stringify(counts));
  });

  it('a table topic also read by a global table, a stream in two sub-topologies, two instances', async () => {
    const appId = uniqueName('exact-mixed');
    const t: ExactPoisonTopics = exactPoisonTopics(appId);
    await createTopics([
      { topic: t.regions, partitions: 2 },
      { topic: t.customers, partitions: 4 },
      { topic: t.orders, partitions: 4 },
      { topic: t.enrichedGlobal, partitions: 4 },
      { topic: t.enrichedCopart, partitions: 4 },
    ]);
    await produce(t.regions, tableRecords('r', 6, 4));
    await produce(t.customers, tableRecords('c', 10, 6));
    const topology = exactPoisonTopology(appId, t);
    const a = await apps.start(topology, { applicationId: appId });
    await a.waitUntilReady();
    await waitForCommits(appId, [t.customers]);
    await waitForCommits(`${appId}-global-dead-letters`, [t.regions]);
    const b = await apps.start(exactPoisonTopology(appId, t), { applicationId: appId });
    await waitUntil(() => a.stats().tasks.length > 0 && b.stats().tasks.length > 0 && a.state === 'running' && b.state === 'running', {
      description: 'both instances with tasks',
    });
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);

    const orders: TestRecord[] = [];
    const order = (i: number, kind: string, expectation: string, value?: string): TestRecord => ({
      key: `o-${i}`,
      value: value ?? JSON.stringify({ id: `o-${i}`, customerId: `c-${i % 10}`, kind }),
      headers: { [EXPECT_HEADER]: expectation, trace: `t-${i}` },
    });
    for (let i = 0; i < 60; i++) {
      if (i % 10 === 1) orders.push(order(i, 'boom', 'processing'));
      else if (i % 10 === 3) orders.push(order(i, 'negative', 'processing'));
      else if (i % 10 === 5) orders.push(order(i, 'late', 'processing'));
      else if (i % 10 === 7) orders.push(order(i, 'good', 'deserialization', `{"id":"o-${i}",`));
      else orders.push(order(i, 'good', 'good'));
    }
    await produce(t.orders, orders);
    await produce(t.customers, tableRecords('e', 4, 5));
    await produce(t.regions, tableRecords('s', 2, 3));

    const { counts } = await expectExactAccounting(appId, [t.regions, t.customers, t.orders], [a, b], {
      [`${t.regions}/deserialization`]: 7,
      [`${t.customers}/deserialization`]: 11,
      [`${t.orders}/deserialization`]: 6,
      [`${t.orders}/processing`]: 18,
    });
    const letters = (await tallyDeadLetters(`${appId}-dlq`)).letters;
    const failedAfterRepartition = letters.filter((l) => l.headers['tributary.failed-at'] !== undefined);
    expect(failedAfterRepartition).toHaveLength(6); // the 'late' orders: traced to orders, their bytes the user's
    for (const l of failedAfterRepartition)
      expect(l.headers['tributary.failed-at']?.toString()).toContain(`${appId}-by-customer-repartition`);
    // Good orders were enriched in both branches; outputs carry no Tributary header.
    const outputs: ConsumedRecord[] = [...(await readTopic(t.enrichedGlobal)), ...(await readTopic(t.enrichedCopart))];
    expect(outputs).toHaveLength(2 * 36 + 6); // and the late orders in the global branch
    for (const output of outputs) expect(Object.keys(output.headers).filter((h) => h.startsWith('tributary.'))).toEqual([]);
    const engines = [a, b].map((app) => app.stats().engine);
    // The negative orders failed twice but were dead-lettered (and counted as errors) once; downstream knew.
    expect(engines.reduce((n, e) => n + e.notDeadLettered.upstream, 0)).toBe(6);
    expect(engines.reduce((n, e) => n + e.errors.processing['dead-letter'], 0)).toBe(18);
    console.log('scenario mixed', JSON.stringify(counts));
  });
});
