/**
 * The dead letters of a topic only a global table reads come from the owner's own global reader (its bootstrap and
 * updater), on the real broker: the topic is not read a second time on a first start, a partition taken over after
 * its owner stopped gets the letters of the records arriving later, and a store checkpoint ahead of the group's
 * committed offset makes the owner read [committed, checkpoint) once ("gap read") and no more. Accounting as in
 * exact-accounting.test.ts: distinct dead letters == bad source records, copies only where a gap read re-lettered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import type { TributaryApp } from '../../processor/runtime/app.js';
import { globalOnlyTopology } from '../fixtures/exact-poison-topology.js';
import { createTopics, produce, testKafkaClient, uniqueName, waitUntil, withAdmin, type TestRecord } from '../helpers/kafka.js';
import { EXPECT_HEADER, tallyDeadLetters } from './dead-letter-accounting.js';
import { InProcessApps } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

function records(prefix: string, goodCount: number, badCount: number, partition?: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < goodCount; i++)
    out.push({ key: `${prefix}-${i}`, value: JSON.stringify({ name: `${prefix} ${i}` }), partition, headers: { [EXPECT_HEADER]: 'good' } });
  for (let i = 0; i < badCount; i++)
    out.push({
      key: `${prefix}-bad-${i}`,
      value: `{"id": ${prefix}-${i}, nope}`,
      partition,
      headers: { [EXPECT_HEADER]: 'deserialization' },
    });
  return out;
}

const groupOf = (appId: string): string => `${appId}-global-dead-letters`;

/** Waits until the dead-letter group committed every partition's end offset. */
async function waitForCommits(appId: string, topic: string): Promise<void> {
  await waitUntil(
    () =>
      withAdmin(async (admin) => {
        const committed = await admin.fetchCommittedOffsets(groupOf(appId), [topic]);
        for (const [partition, end] of await admin.fetchEndOffsets(topic)) {
          if (end > 0 && (committed.get(topicPartitionId(topic, partition)) ?? 0) < end) return false;
        }
        return true;
      }),
    { timeoutMs: 30_000, description: `group ${groupOf(appId)} committed ${topic}` },
  );
}

async function waitForLetters(appId: string, distinct: number): Promise<Awaited<ReturnType<typeof tallyDeadLetters>>> {
  let tally = await tallyDeadLetters(`${appId}-dlq`);
  await waitUntil(
    async () => {
      tally = await tallyDeadLetters(`${appId}-dlq`);
      return tally.letters.length - tally.duplicates >= distinct;
    },
    { timeoutMs: 30_000, description: `${distinct} distinct dead letters` },
  );
  await new Promise((resolve) => setTimeout(resolve, 1000)); // nothing more arrives late
  return tallyDeadLetters(`${appId}-dlq`);
}

/** Commits `offset` on partition 0 through a group member that then leaves (kafkajs admin.setOffsets lingers). */
async function commitAs(groupId: string, topic: string, offset: number): Promise<void> {
  const consumer = testKafkaClient().consumer({ groupId, maxWaitTimeInMs: 100 });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    // Nothing to fetch (the group is at the end): commit once the member belongs to a generation.
    await consumer.run({ autoCommit: false, eachBatch: async () => {} });
    await waitUntil(() => joined, { timeoutMs: 20_000, description: 'joining the group' });
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(offset) }]);
  } finally {
    await consumer.disconnect();
  }
}

const rereads = (app: TributaryApp): { ranges: number; records: number } => app.stats().globalDeadLetterRereads;

describe('global-only dead letters from the global reader', () => {
  it('first start with bad records already there: every letter, and the topic is not read a second time', async () => {
    const appId = uniqueName('verdicts-first');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 3 }]);
    await produce(topic, records('c', 300, 9));
    const a = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId });
    await waitForCommits(appId, topic);
    // Bad records arriving while it runs come from the updater's verdicts.
    await produce(topic, records('d', 50, 6));
    await waitForCommits(appId, topic);
    const tally = await waitForLetters(appId, 15);
    expect(tally.letters).toHaveLength(15);
    expect(tally.duplicates).toBe(0);
    expect(a.stats().engine.deadLettered).toBe(15);
    expect(rereads(a)).toEqual({ ranges: 0, records: 0 });
  });

  it('a second instance takes over after the first stops, and letters what arrives then', async () => {
    const appId = uniqueName('verdicts-takeover');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 2 }]);
    await produce(topic, records('c', 100, 6));
    const a = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId });
    await waitForCommits(appId, topic);
    const b = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId });
    await a.stop();
    await produce(topic, records('d', 40, 5));
    await waitForCommits(appId, topic);
    const tally = await waitForLetters(appId, 11);
    expect(tally.letters).toHaveLength(11);
    expect(tally.duplicates).toBe(0);
    expect(a.stats().engine.deadLettered + b.stats().engine.deadLettered).toBe(11);
    expect(b.stats().engine.deadLettered).toBeGreaterThanOrEqual(5);
  });

  it('a store checkpoint ahead of the committed offset: [committed, checkpoint) is read once, then verdicts again', async () => {
    const appId = uniqueName('verdicts-gap');
    const topic = `${appId}-customers`;
    await createTopics([{ topic, partitions: 1 }]);
    await produce(topic, records('c', 20, 4, 0)); // offsets 0-23, bad at 20-23
    const stateDir = await apps.newStateDir();
    const a = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId, stateDir });
    await waitForCommits(appId, topic);
    await waitForLetters(appId, 4);
    await a.stop();
    // As if the owner had died after lettering 22 and 23 but before committing them: the group is back at 22.
    await commitAs(groupOf(appId), topic, 22);
    const restarted = await apps.start(globalOnlyTopology(appId, topic), { applicationId: appId, stateDir });
    await waitForCommits(appId, topic);
    await produce(topic, records('d', 5, 2, 0)); // offsets 24-30, bad at 29-30
    await waitForCommits(appId, topic);
    const tally = await waitForLetters(appId, 6);
    // 22 and 23 again (same identity: replay sends them once), nothing else twice.
    expect(tally.letters).toHaveLength(8);
    expect(tally.duplicates).toBe(2);
    expect(rereads(restarted)).toEqual({ ranges: 1, records: 2 });
    expect(restarted.stats().engine.deadLettered).toBe(4);
  });
});
