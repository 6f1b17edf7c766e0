/**
 * kill -9 in the middle, then a restart on the same state directory (child processes): dead letters written before
 * the crash whose offsets were not committed yet are written again (at-least-once). Every copy carries the identity
 * of its source record, so the distinct dead letters are exactly the bad source records (per topic and stage), the
 * replay dry-run recognises every copy and would send each record once, and the restarted instance's counter equals
 * the letters it wrote.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { topicPartitionId } from '../../common/records.js';
import { exactPoisonTopics } from '../fixtures/exact-poison-topology.js';
import { AppProcessGroup, sumMetric } from '../helpers/app-process.js';
import { createTopics, produce, uniqueName, waitUntil, withAdmin, type TestRecord } from '../helpers/kafka.js';
import { checkLetters, EXPECT_HEADER, expectedDeadLetters, replayDryRun, tallyDeadLetters } from './dead-letter-accounting.js';

const processes = new AppProcessGroup('crash-accounting');
afterEach(({ task }) => processes.cleanup({ printLogs: task.result?.state === 'fail' }));
afterAll(() => processes.dispose());

const FIXTURE = 'test/fixtures/exact-poison-app.ts';

function tableRecords(prefix: string, goodCount: number, badCount: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let i = 0; i < goodCount; i++)
    records.push({ key: `${prefix}-${i}`, value: JSON.stringify({ name: `${prefix} ${i}` }), headers: { [EXPECT_HEADER]: 'good' } });
  for (let i = 0; i < badCount; i++)
    records.push({ key: `${prefix}-bad-${i}`, value: `{"id": ${prefix}-${i}, nope}`, headers: { [EXPECT_HEADER]: 'deserialization' } });
  return records;
}

function orderRecords(from: number, count: number): TestRecord[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    const value = (kind: string) => JSON.stringify({ id: `o-${i}`, customerId: `c-${i % 10}`, kind });
    const record = (v: string, expectation: string): TestRecord => ({ key: `o-${i}`, value: v, headers: { [EXPECT_HEADER]: expectation } });
    if (i % 10 === 1) return record(value('boom'), 'processing');
    if (i % 10 === 3) return record(value('negative'), 'processing');
    if (i % 10 === 5) return record(value('late'), 'processing');
    if (i % 10 === 7) return record(`{"id":"o-${i}",`, 'deserialization');
    return record(value('good'), 'good');
  });
}

describe('kill -9 and restart', () => {
  it('copies written again after the crash are recognised; distinct dead letters == bad source records', async () => {
    const appId = uniqueName('crash-dlq');
    const t = exactPoisonTopics(appId);
    await createTopics([
      { topic: t.regions, partitions: 2 },
      { topic: t.customers, partitions: 2 },
      { topic: t.orders, partitions: 2 },
      { topic: t.enrichedGlobal, partitions: 2 },
      { topic: t.enrichedCopart, partitions: 2 },
    ]);
    await produce(t.regions, tableRecords('r', 4, 3));
    await produce(t.customers, tableRecords('c', 10, 4));
    const stateDir = processes.newDir('state');
    // A long commit interval: the crash lands after dead letters were written but before their offsets were committed.
    const options = { fixture: FIXTURE, appId, stateDir, name: 'crashing', commitIntervalMs: 60_000, env: { TOPIC_PREFIX: appId } };
    const first = await processes.start(options);
    await first.waitUntilReady();
    await produce(t.orders, orderRecords(0, 200));
    const dlq = `${appId}-dlq`;
    await waitUntil(
      async () =>
        (await withAdmin((admin) => admin.fetchEndOffsets(dlq))).get(0) !== undefined &&
        (await tallyDeadLetters(dlq)).raw[`${t.orders}/processing`] >= 40,
      {
        description: 'some order dead letters before the crash',
      },
    );
    await first.kill();
    const committed = await withAdmin((admin) => admin.fetchCommittedOffsets(appId, [t.orders]));
    const beforeRestart = await tallyDeadLetters(dlq);
    // Letters of orders read by the first sub-topology past the committed offset are written again after the restart.
    const rewritten = beforeRestart.letters.filter((letter) => {
      const h = (name: string) => letter.headers[name]?.toString('utf8');
      if (h(DeadLetterHeaders.sourceTopic) !== t.orders || h(DeadLetterHeaders.failedAt) !== undefined) return false;
      return (
        Number(h(DeadLetterHeaders.sourceOffset)) >=
        (committed.get(topicPartitionId(t.orders, Number(h(DeadLetterHeaders.sourcePartition)))) ?? 0)
      );
    }).length;

    const second = await processes.start({ ...options, name: 'restarted', commitIntervalMs: 200 });
    await second.waitUntilReady();
    await produce(t.orders, orderRecords(200, 100));
    await produce(t.customers, tableRecords('e', 2, 3));

    const expected = await expectedDeadLetters([t.regions, t.customers, t.orders]);
    const total = expected.bad.size;
    let tally = beforeRestart;
    await waitUntil(async () => Object.values((tally = await tallyDeadLetters(dlq)).distinct).reduce((a, b) => a + b, 0) >= total, {
      timeoutMs: 60_000,
      description: `${total} distinct dead letters`,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    tally = await tallyDeadLetters(dlq);
    const writtenAfterRestart = tally.letters.length - beforeRestart.letters.length;
    await waitUntil(async () => sumMetric(await second.metrics(), 'tributary_records_dead_lettered_total') === writtenAfterRestart, {
      description: 'the restarted instance counted every letter it wrote',
    });
    const replay = await replayDryRun(appId);
    const counts = {
      badSourceRecords: total,
      deadLetters: tally.letters.length,
      distinct: Object.values(tally.distinct).reduce((a, b) => a + b, 0),
      duplicates: tally.duplicates,
      writtenBeforeCrash: beforeRestart.letters.length,
      expectedRewritten: rewritten,
      writtenAfterRestart,
      restartedMetric: sumMetric(await second.metrics(), 'tributary_records_dead_lettered_total'),
      replayWouldSend: replay.replayed,
      replayDuplicates: replay.duplicates,
    };
    console.log(
      'scenario kill -9',
      JSON.stringify({ ...counts, distinctPerTopicStage: tally.distinct, replayByTopic: replay.replayedByTopic }),
    );
    expect(tally.distinct).toEqual(expected.counts);
    expect(tally.letters.length).toBe(total + tally.duplicates);
    expect(tally.duplicates).toBeGreaterThanOrEqual(rewritten);
    expect(rewritten).toBeGreaterThan(0);
    expect(replay).toMatchObject({
      replayed: total,
      duplicates: tally.duplicates,
      refused: 0,
      malformed: 0,
      replayedByTopic: tally.distinctByTopic,
    });
    checkLetters(appId, expected, tally);
  });
});
