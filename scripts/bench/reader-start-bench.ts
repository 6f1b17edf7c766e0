/**
 * How long a partition read outside the consumer group takes to start, on a broker with Kafka's default
 * `group.initial.rebalance.delay.ms` (3000 ms; the project's test broker sets 0). Such reads run at every start
 * (partition-count history, global-table bootstrap, restoration): a reader that joins a group pays the delay per read.
 * Each round times an until-end read of a small 6-partition topic (1,200 records) with this checkout's PartitionReader
 * and, with `--baseline-root <dir>` (another checkout with its node_modules, e.g. main), with that checkout's,
 * alternating which goes first. One JSON document on stdout.
 *
 *   npx tsx scripts/bench/reader-start-bench.ts [--rounds 3] [--delay-ms 3000] [--baseline-root /work/main]
 *
 * Starts its own broker (run it under the shared broker lock).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { REPO_ROOT, startBroker, stopBroker } from '../kafka/broker.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, 'delay-ms': { type: 'string' }, 'baseline-root': { type: 'string' } },
});
const rounds = Number(values.rounds ?? 3);
const delayMs = Number(values['delay-ms'] ?? 3000);
const roots = [{ name: 'branch', root: REPO_ROOT }];
if (values['baseline-root'] !== undefined) roots.push({ name: 'baseline', root: values['baseline-root'] });
const note = (text: string) => process.stderr.write(`[reader-start] ${text}\n`);

interface ReaderModules {
  client: { createKafkaClient(config: { clientId: string; brokers: string[] }): unknown };
  reader: {
    PartitionReader: new (
      client: unknown,
      options: { partitions: { topic: string; partition: number }[]; onBatch: (records: unknown[]) => Promise<void> },
    ) => { run(): Promise<void> };
  };
  admin: {
    KafkaAdmin: new (client: unknown) => {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      ensureTopics(topics: { topic: string; partitions: number }[]): Promise<unknown>;
    };
  };
}

async function load(root: string): Promise<ReaderModules> {
  return {
    client: (await import(join(root, 'processor/kafka/client.ts'))) as ReaderModules['client'],
    reader: (await import(join(root, 'processor/kafka/partition-reader.ts'))) as ReaderModules['reader'],
    admin: (await import(join(root, 'processor/kafka/admin.ts'))) as ReaderModules['admin'],
  };
}

const broker = await startBroker({ properties: [`group.initial.rebalance.delay.ms=${delayMs}`], quiet: true });
try {
  const brokers = [broker.brokers];
  const modules = new Map<string, ReaderModules>();
  for (const { name, root } of roots) modules.set(name, await load(root));
  const own = modules.get('branch') as ReaderModules;
  const topic = `reader-start-${Date.now()}`;
  const setupClient = own.client.createKafkaClient({ clientId: 'reader-start-setup', brokers });
  const admin = new own.admin.KafkaAdmin(setupClient);
  await admin.connect();
  await admin.ensureTopics([{ topic, partitions: 6 }]);
  await admin.disconnect();
  const producer = (setupClient as KafkaClient).producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 1200 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 6 })),
  });
  await producer.disconnect();

  const runs: { checkout: string; round: number; ms: number; records: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? roots : [...roots].reverse();
    for (const { name } of order) {
      const m = modules.get(name) as ReaderModules;
      const client = m.client.createKafkaClient({ clientId: `reader-start-${name}`, brokers });
      let records = 0;
      const reader = new m.reader.PartitionReader(client, {
        partitions: Array.from({ length: 6 }, (_, partition) => ({ topic, partition })),
        onBatch: async (batch) => {
          records += batch.length;
        },
      });
      const started = performance.now();
      await reader.run();
      const run = { checkout: name, round, ms: Math.round(performance.now() - started), records };
      note(JSON.stringify(run));
      runs.push(run);
    }
  }
  const summary = Object.fromEntries(
    roots.map(({ name }) => {
      const ms = runs.filter((r) => r.checkout === name).map((r) => r.ms);
      return [name, { medianMs: ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)], runsMs: ms }];
    }),
  );
  process.stdout.write(
    `${JSON.stringify({ groupInitialRebalanceDelayMs: delayMs, records: 1200, partitions: 6, summary, runs }, null, 2)}\n`,
  );
} finally {
  await stopBroker(broker);
}
