/**
 * Restoration and bootstrap finish on every kind of valid topic, and a ready instance serves exactly the source of
 * truth. For each shape of the customer topics (transactions with committed and aborted ones at the end and in the
 * middle, an emptied partition, retention past the store's checkpoint, compaction gaps, an empty topic), a fresh
 * instance and then the same instance restarted with its state directory (after changes made while it was down)
 * must reach ready; at that moment every lookup in the global and the co-partitioned store equals the table the
 * topic describes (read-committed, from its log start), and the join emits for every order with those values.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../common/logger.js';
import { restorationTopology } from '../fixtures/restoration-topology.js';
import { InProcessApps } from '../dlq/in-process-app.js';
import { FAST_COMPACTION_CONFIGS, type TestRecord } from '../helpers/kafka.js';
import {
  checkJoin,
  checkLookups,
  compactCustomers,
  createCaseTopics,
  deleteCustomerRecords,
  produceCustomers,
  produceTransactions,
  restoredRecords,
  tableOf,
  type CaseTopics,
} from './restoration-data.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

const KEYS = Array.from({ length: 16 }, (_, i) => `c${i}`);
const records = (keys: readonly string[], value: (key: string) => string | null): TestRecord[] =>
  keys.map((key) => ({ key, value: value(key) }));

interface Case {
  readonly name: string;
  readonly configs?: Record<string, string>;
  /** Shapes the customer topics before the first start. */
  readonly before: (topics: CaseTopics) => Promise<void>;
  /** Changes made while the instance is stopped, before its restart. */
  readonly whileDown: (topics: CaseTopics) => Promise<void>;
  /**
   * Store rebuilds the restart logs ("rebuilt from the log start"): a store whose checkpoint is below its log start
   * is rebuilt, never patched (the global store once, co-partitioned stores per partition). Default 0.
   */
  readonly rebuildsOnRestart?: number;
}

const CASES: readonly Case[] = [
  {
    name: 'transactions',
    before: (topics) =>
      produceTransactions(topics, [
        { records: records(KEYS.slice(0, 10), (k) => `${k}-v1`) },
        { records: records(KEYS.slice(0, 5), (k) => `${k}-aborted`), abort: true },
        { records: [...records(KEYS.slice(5, 9), (k) => `${k}-v2`), { key: 'c9', value: null }] },
        // Ends one partition in an abort marker, the other in a commit marker.
        { records: records(['c10'], (k) => `${k}-aborted`), abort: true },
      ]),
    whileDown: (topics) =>
      produceTransactions(topics, [
        { records: [...records(KEYS.slice(0, 3), (k) => `${k}-v3`), { key: 'c6', value: null }] },
        { records: records(['c1', 'c11'], (k) => `${k}-aborted`), abort: true },
      ]),
  },
  {
    name: 'emptied',
    before: async (topics) => {
      await produceCustomers(
        topics,
        records(KEYS.slice(0, 10), (k) => `${k}-v1`),
      );
      await deleteCustomerRecords(topics, { partitions: [0] }); // partition 0: log start = log end > 0
    },
    whileDown: async (topics) => {
      await produceCustomers(
        topics,
        records(KEYS.slice(0, 10), (k) => `${k}-v2`),
      );
      await deleteCustomerRecords(topics); // every partition emptied, past the stores' checkpoints
    },
    // Partition 1's checkpoints (global, co-partitioned); partition 0 was empty on the first start: no checkpoint.
    rebuildsOnRestart: 2,
  },
  {
    name: 'retention',
    before: (topics) =>
      produceCustomers(
        topics,
        records(KEYS, (k) => `${k}-v1`),
      ),
    whileDown: async (topics) => {
      await produceCustomers(topics, [...records(KEYS.slice(0, 12), (k) => `${k}-v2`), ...records(['c12', 'c13'], () => null)]);
      // Retention removed everything but the last 3 offsets of each partition: past the stores' checkpoints, so
      // keys whose last update is gone must disappear from the stores too.
      await deleteCustomerRecords(topics, { keepLast: 3 });
    },
    rebuildsOnRestart: 3, // the global store, and both partitions of the co-partitioned one
  },
  {
    name: 'compaction',
    configs: { ...FAST_COMPACTION_CONFIGS },
    before: async (topics) => {
      for (const version of [1, 2, 3])
        await produceCustomers(
          topics,
          records(KEYS.slice(0, 10), (k) => `${k}-v${version}`),
        );
      await produceCustomers(
        topics,
        records(['c8', 'c9'], () => null),
      );
      await compactCustomers(topics);
    },
    whileDown: async (topics) => {
      await produceCustomers(topics, [...records(KEYS.slice(0, 5), (k) => `${k}-v4`), { key: 'c5', value: null }]);
      await compactCustomers(topics);
    },
  },
  { name: 'empty', before: async () => {}, whileDown: async () => {} },
];

const measurements: string[] = [];
afterAll(() => console.log(`[restoration cases]\n${measurements.join('\n')}`));

/** Starts an instance, checks it at the moment it is ready; returns its stop() and the warnings it logged. */
async function startAndCheck(
  topics: CaseTopics,
  stateDir: string,
  label: string,
  fromSeq: number,
): Promise<{ readonly stop: () => Promise<void>; readonly warnings: readonly string[] }> {
  const truth = await tableOf(topics.customers);
  expect(await tableOf(topics.customersGlobal)).toEqual(truth);
  expect([...truth.values()].filter((value) => value.includes('aborted'))).toEqual([]);
  const keys = [...new Set([...KEYS, ...truth.keys()])];
  const startedAt = performance.now();
  const warnings: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (message) => void warnings.push(message),
    error: (message) => void warnings.push(message),
  };
  const app = await apps.create(restorationTopology(topics.appId, topics), { applicationId: topics.appId, stateDir, logger });
  await app.start();
  await app.waitUntilReady();
  const readyMs = Math.round(performance.now() - startedAt);
  const lookups = await checkLookups(app, keys, truth);
  const restored = restoredRecords(app);
  const joinErrors = await checkJoin(topics, keys, fromSeq, truth);
  measurements.push(
    `${label.padEnd(24)} ready in ${String(readyMs).padStart(5)} ms; restored global ${restored.global}, co-partitioned ${restored.copart}; ` +
      `table ${truth.size} keys; lookups ${lookups.checked}, wrong ${lookups.wrong.length}; joined ${keys.length}, wrong ${joinErrors.length}`,
  );
  expect(lookups.wrong).toEqual([]);
  expect(joinErrors).toEqual([]);
  return { stop: () => app.stop(), warnings };
}

describe.each(CASES)('restoration on a $name topic', (c) => {
  it('a fresh and a restarted instance reach ready and serve exactly the committed, non-deleted values', async () => {
    const topics = await createCaseTopics(`restore-${c.name}`, 2, c.configs);
    await c.before(topics);
    const stateDir = await apps.newStateDir();
    const fresh = await startAndCheck(topics, stateDir, `${c.name} fresh`, 0);
    await fresh.stop();
    expect(fresh.warnings).toEqual([]);
    await c.whileDown(topics);
    const restarted = await startAndCheck(topics, stateDir, `${c.name} restarted`, 1000);
    await restarted.stop();
    const rebuilt = restarted.warnings.filter((line) => line.includes('rebuilt from the log start'));
    expect(rebuilt.length).toBe(c.rebuildsOnRestart ?? 0);
  });
});
