/**
 * Soak (npm run test:soak): the reproduction at scale on the real broker. Three instances (child processes)
 * of the exact-accounting topology; 200 bad customers and 60 bad regions already in their topics at the first
 * start; 20,000 orders (a fifth of each bad kind) produced in waves while one instance is killed (-9) and restarted
 * and another is stopped gracefully and restarted; more bad table records while it all runs. In the end the distinct
 * dead letters are exactly the bad source records per topic and stage, every copy is recognised by the replay dry
 * run, originals are byte-identical, and no internal topic is a source.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exactPoisonTopics } from '../fixtures/exact-poison-topology.js';
import { AppProcessGroup, type AppProcess } from '../helpers/app-process.js';
import { createTopics, produce, uniqueName, waitUntil, type TestRecord } from '../helpers/kafka.js';
import { checkLetters, EXPECT_HEADER, expectedDeadLetters, replayDryRun, tallyDeadLetters } from '../dlq/dead-letter-accounting.js';

const processes = new AppProcessGroup('dead-letters-soak');
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
    const value = (kind: string) => JSON.stringify({ id: `o-${i}`, customerId: `c-${i % 50}`, kind });
    const record = (v: string, expectation: string): TestRecord => ({ key: `o-${i}`, value: v, headers: { [EXPECT_HEADER]: expectation } });
    if (i % 20 === 1) return record(value('boom'), 'processing');
    if (i % 20 === 3) return record(value('negative'), 'processing');
    if (i % 20 === 5) return record(value('late'), 'processing');
    if (i % 20 === 7) return record(`{"id":"o-${i}",`, 'deserialization');
    return record(value('good'), 'good');
  });
}

describe('dead letters under failures, at scale', () => {
  it('three instances, kill -9 and graceful restarts: distinct dead letters == bad source records', { timeout: 600_000 }, async () => {
    const appId = uniqueName('soak-dlq');
    const t = exactPoisonTopics(appId);
    await createTopics([
      { topic: t.regions, partitions: 3 },
      { topic: t.customers, partitions: 6 },
      { topic: t.orders, partitions: 6 },
      { topic: t.enrichedGlobal, partitions: 6 },
      { topic: t.enrichedCopart, partitions: 6 },
    ]);
    await produce(t.regions, tableRecords('r', 40, 60));
    await produce(t.customers, tableRecords('c', 50, 200));
    const instance = (name: string, stateDir: string): Promise<AppProcess> =>
      processes.start({ fixture: FIXTURE, appId, name, stateDir, commitIntervalMs: 5000, env: { TOPIC_PREFIX: appId } });
    const dirs = ['a', 'b', 'c'].map((n) => processes.newDir(`state-${n}`));
    let a = await instance('a', dirs[0]);
    let b = await instance('b', dirs[1]);
    const c = await instance('c', dirs[2]);
    await Promise.all([a, b, c].map((p) => p.waitUntilReady(120_000)));

    let next = 0;
    const wave = async (count: number): Promise<void> => {
      await produce(t.orders, orderRecords(next, count));
      next += count;
    };
    await wave(5000);
    // Killed while dead letters are being written and offsets are (up to 5 s) behind them: copies follow.
    await waitUntil(async () => ((await tallyDeadLetters(`${appId}-dlq`)).raw[`${t.orders}/processing`] ?? 0) >= 300, {
      timeoutMs: 120_000,
      description: 'order dead letters before the kill',
    });
    await a.kill();
    await wave(5000);
    await produce(t.customers, tableRecords('e', 10, 40));
    a = await instance('a2', dirs[0]);
    await wave(5000);
    await b.stop();
    await produce(t.regions, tableRecords('s', 5, 20));
    b = await instance('b2', dirs[1]);
    await wave(5000);
    await Promise.all([a, b, c].map((p) => p.waitUntilReady(120_000)));

    const expected = await expectedDeadLetters([t.regions, t.customers, t.orders]);
    const total = expected.bad.size;
    const dlq = `${appId}-dlq`;
    let tally = await tallyDeadLetters(dlq);
    await waitUntil(async () => Object.values((tally = await tallyDeadLetters(dlq)).distinct).reduce((x, y) => x + y, 0) >= total, {
      timeoutMs: 240_000,
      intervalMs: 2000,
      description: `${total} distinct dead letters`,
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    tally = await tallyDeadLetters(dlq);
    const replay = await replayDryRun(appId);
    console.log(
      'soak counts',
      JSON.stringify({
        badSourceRecords: total,
        deadLetters: tally.letters.length,
        duplicates: tally.duplicates,
        replayWouldSend: replay.replayed,
        replayDuplicates: replay.duplicates,
        distinctPerTopicStage: tally.distinct,
        rawPerTopicStage: tally.raw,
      }),
    );
    expect(tally.distinct).toEqual(expected.counts);
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
