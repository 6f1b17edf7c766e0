/**
 * The exactly-once kill -9 loop, sized by the caller (kill-loop.test.ts runs a few rounds, test/soak/ twenty): the
 * enrichment app (test/fixtures/enrichment-app.ts: a global-table join and a repartition + co-partitioned join)
 * runs under `processingGuarantee: 'exactly-once'` on one state directory while orders and customer updates flow;
 * every few seconds it is killed with SIGKILL and restarted in place. At the end a read_committed reader of each
 * output must see every order exactly once, and the co-partitioned store must equal the customers' latest versions.
 * Per restart, the records replayed into the stores (tributary_restored_records_total of that life) are reported.
 */
import { RecordProducer } from '../../processor/kafka/producer.js';
import type { AppProcess, AppProcessGroup } from '../helpers/app-process.js';
import { testKafkaClient, toProducedRecord, waitUntil } from '../helpers/kafka.js';
import { scanAll } from '../http/query-client.js';
import {
  createEnrichmentTopics,
  customerIds,
  customerRecords,
  deliveryReport,
  orderRecords,
  produceCustomers,
  readEnriched,
  startEnrichmentApp,
  type EnrichmentTopics,
} from '../runtime/enrichment-fixture.js';
import type { Customer } from '../fixtures/enrichment-app.js';

export interface KillLoopOptions {
  readonly rounds: number;
  /** Each life runs a random time in [minRunMs, maxRunMs] after /ready before SIGKILL. */
  readonly minRunMs: number;
  readonly maxRunMs: number;
  readonly partitions: number;
  readonly customers: number;
  /** Orders written per 100 ms tick while the loop runs. */
  readonly ordersPerTick: number;
  /** Customers updated (both topics, next version) per 500 ms. */
  readonly updatesPerTick: number;
}

export interface OutputCounts {
  readonly records: number;
  readonly duplicates: number;
  readonly missing: number;
}

export interface KillLoopReport {
  readonly rounds: number;
  readonly orders: number;
  readonly customerUpdates: number;
  readonly global: OutputCounts;
  readonly copart: OutputCounts;
  /** Per restart (the first start excluded): records restored into each store before processing. */
  readonly replayedPerRestart: readonly { readonly customers: number; readonly global: number }[];
  /** Keys of the co-partitioned store whose value differs from the customer's latest version (or missing). */
  readonly storeMismatches: number;
  readonly transactionsAbortedInFinalLife: number;
  /** Proof the final life ran under exactly-once: its committed transactions. */
  readonly transactionsCommittedInFinalLife: number;
}

const EOS_ENV = { PROCESSING_GUARANTEE: 'exactly-once' };

async function restoredRecords(app: AppProcess): Promise<{ customers: number; global: number }> {
  const metrics = await app.metrics();
  const value = (store: string): number => metrics.get(`tributary_restored_records_total{store="${store}"}`) ?? 0;
  return { customers: value('customers'), global: value('customers-global') };
}

/** Orders and customer updates written in the background until `stop()`. */
class Traffic {
  orders = 0;
  updates = 0;
  readonly versions = new Map<string, number>();
  private stopped = false;
  private readonly producer = new RecordProducer(testKafkaClient());
  private running: Promise<void> | undefined;

  constructor(
    private readonly topics: EnrichmentTopics,
    private readonly ids: readonly string[],
    private readonly options: KillLoopOptions,
  ) {
    for (const id of ids) this.versions.set(id, 1);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.producer.disconnect();
  }

  private async loop(): Promise<void> {
    const { topics, options } = this;
    let tick = 0;
    let next = 0;
    while (!this.stopped) {
      const batch = orderRecords(this.orders, options.ordersPerTick, this.ids.length).map((r) => toProducedRecord(topics.orders, r));
      this.orders += options.ordersPerTick;
      if (tick++ % 5 === 0) {
        for (let i = 0; i < options.updatesPerTick; i++) {
          const id = this.ids[next++ % this.ids.length];
          const version = (this.versions.get(id) ?? 1) + 1;
          this.versions.set(id, version);
          for (const record of customerRecords([id], version)) {
            batch.push(toProducedRecord(topics.customers, record), toProducedRecord(topics.customersGlobal, record));
          }
          this.updates++;
        }
      }
      await this.producer.send(batch);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const counts = (report: ReturnType<typeof deliveryReport>, records: number): OutputCounts => ({
  records,
  duplicates: report.duplicates,
  missing: report.lost,
});

export async function runKillLoop(apps: AppProcessGroup, options: KillLoopOptions): Promise<KillLoopReport> {
  const topics = await createEnrichmentTopics('eos-kill', options.partitions);
  const ids = customerIds(options.customers);
  await produceCustomers(topics, ids, 1);
  const stateDir = apps.newDir('eos-state');
  const traffic = new Traffic(topics, ids, options);
  await traffic.start();
  const replayedPerRestart: { customers: number; global: number }[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const app = await startEnrichmentApp(apps, topics, { name: `life-${round}`, stateDir, commitIntervalMs: 100, env: EOS_ENV });
      await app.waitUntilReady(90_000);
      if (round > 0) replayedPerRestart.push(await restoredRecords(app));
      const runMs = options.minRunMs + Math.random() * (options.maxRunMs - options.minRunMs);
      await new Promise((resolve) => setTimeout(resolve, runMs));
      await app.kill();
    }
  } finally {
    await traffic.stop();
  }

  const last = await startEnrichmentApp(apps, topics, { name: 'final', stateDir, commitIntervalMs: 100, env: EOS_ENV });
  try {
    await last.waitUntilReady(90_000);
    replayedPerRestart.push(await restoredRecords(last));
    const total = traffic.orders;
    await waitUntil(
      async () => {
        const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
        return deliveryReport(global, total, ids.length).lost === 0 && deliveryReport(copart, total, ids.length).lost === 0;
      },
      { timeoutMs: 120_000, intervalMs: 1000, description: `all ${total} orders on both outputs` },
    );
    // The store against the source of truth: every customer at its latest version.
    let storeMismatches = 0;
    await waitUntil(
      async () => {
        const { entries } = await scanAll(last.url, 'customers', 1000);
        const served = new Map(entries.map((e) => [String(e.key), e.value as Customer]));
        storeMismatches = 0;
        for (const [id, version] of traffic.versions) if (served.get(id)?.version !== version) storeMismatches++;
        return storeMismatches === 0;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the customers store at the latest versions' },
    ).catch(() => undefined);
    const aborted = await last.metricSum('tributary_transactions_aborted_total');
    const committed = await last.metricSum('tributary_transactions_committed_total');
    const [global, copart] = await Promise.all([readEnriched(topics.outGlobal), readEnriched(topics.outCopart)]);
    return {
      rounds: options.rounds,
      orders: total,
      customerUpdates: traffic.updates,
      global: counts(deliveryReport(global, total, ids.length), global.length),
      copart: counts(deliveryReport(copart, total, ids.length), copart.length),
      replayedPerRestart,
      storeMismatches,
      transactionsAbortedInFinalLife: aborted,
      transactionsCommittedInFinalLife: committed,
    };
  } finally {
    await last.stop();
  }
}
