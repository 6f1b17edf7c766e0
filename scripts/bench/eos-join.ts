/**
 * The join workloads again under `--processing-guarantee exactly-once`, in the same run as the at-least-once ones
 * (scripts/bench/main.ts): an instance of its own application (`<prefix>-app-eos`) writing to its own output topics
 * (`<prefix>-eos-orders-enriched`, `-orders-by-customer`), restored cold before the backlog was produced like
 * instance A, then started warm on the whole order topic (the backlog and the at-least-once latency run's orders),
 * then a paced flow for latency.
 *
 * Outputs of transactions hold commit markers, so end offsets overcount records: the outputs are read (incrementally,
 * read_committed) and counted, and the throughput window is the first and last record's LogAppendTime.
 */
import type { ConsumedRecord } from '../../common/records.js';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { joinableOrders, OrderFlow } from '../../examples/data-generator.js';
import type { OrderEnrichmentTopics } from '../../examples/order-enrichment.js';
import { endOffsets, outputLatency, readFrom, type LatencyResult } from './kafka-measure.js';
import { perSecond } from './stats.js';

/** The output topics of the exactly-once instance (BENCH_OUTPUT_PREFIX in bench-topology.ts). */
export function eosOutputPrefix(prefix: string): string {
  return `${prefix}-eos`;
}

export async function createEosOutputTopics(client: KafkaClient, topics: OrderEnrichmentTopics, partitions: number): Promise<void> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    const appendTime = { 'message.timestamp.type': 'LogAppendTime' };
    await admin.ensureTopics([
      { topic: topics.enriched, partitions, configs: appendTime },
      { topic: topics.byCustomer, partitions, configs: appendTime },
    ]);
  } finally {
    await admin.disconnect();
  }
}

/** Reads a topic forward from where the last call stopped: records counted, first and last append time, and the new records. */
class TopicFollower {
  private readonly positions = new Map<number, number>();
  records = 0;
  firstAppendMs = Number.POSITIVE_INFINITY;
  lastAppendMs = 0;

  constructor(
    private readonly client: KafkaClient,
    readonly topic: string,
  ) {}

  /** Records since the last call (read_committed, up to the current last stable offsets). */
  async poll(): Promise<ConsumedRecord[]> {
    const ends = await endOffsets(this.client, this.topic);
    const records = await readFrom(this.client, this.topic, this.positions, ends);
    for (const [partition, end] of ends) this.positions.set(partition, end);
    for (const record of records) {
      this.records++;
      if (record.timestamp < this.firstAppendMs) this.firstAppendMs = record.timestamp;
      if (record.timestamp > this.lastAppendMs) this.lastAppendMs = record.timestamp;
    }
    return records;
  }

  window(): { readonly outputs: number; readonly ms: number; readonly recordsPerSecond: number } {
    const ms = Math.max(1, this.lastAppendMs - this.firstAppendMs);
    return { outputs: this.records, ms, recordsPerSecond: perSecond(this.records, ms) };
  }
}

async function followUntil(
  followers: readonly TopicFollower[],
  target: number,
  {
    timeoutMs,
    stillAlive,
    onRecords,
  }: { timeoutMs: number; stillAlive: () => boolean; onRecords?: (f: TopicFollower, r: ConsumedRecord[]) => void },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const follower of followers) {
      const records = await follower.poll();
      onRecords?.(follower, records);
    }
    if (followers.every((f) => f.records >= target)) return;
    if (!stillAlive()) throw new Error('the exactly-once instance exited while the benchmark waited for its output');
    if (Date.now() > deadline)
      throw new Error(
        `exactly-once outputs did not fill within ${timeoutMs} ms: ${followers.map((f) => `${f.topic} ${f.records}/${target}`).join(', ')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export interface EosJoinResult {
  readonly orders: number;
  readonly joinableOrders: number;
  readonly warmReadyMs: number;
  readonly globalJoin: { readonly outputs: number; readonly ms: number; readonly recordsPerSecond: number };
  readonly coPartitionedJoin: { readonly outputs: number; readonly ms: number; readonly recordsPerSecond: number };
  readonly latency: {
    readonly ratePerSecond: number;
    readonly seconds: number;
    readonly globalJoin: LatencyResult;
    readonly coPartitionedJoin: LatencyResult;
  };
  readonly measuredAs: string;
}

export interface EosJoinOptions {
  readonly client: KafkaClient;
  /** The exactly-once instance's output topics (orders and customers are the shared ones). */
  readonly topics: OrderEnrichmentTopics;
  readonly partitions: number;
  readonly customers: number;
  /** Orders on the order topic when the instance starts (indexes 0..n-1). */
  readonly ordersSoFar: number;
  readonly pacedRatePerSecond: number;
  readonly pacedSeconds: number;
  /** Starts the exactly-once instance on its (restored) state; resolves with its ms to ready. */
  readonly start: () => Promise<{ readyMs: number; running: () => boolean }>;
}

export async function runEosJoinBench(options: EosJoinOptions): Promise<EosJoinResult> {
  const { client, topics } = options;
  const joinable = joinableOrders(0, options.ordersSoFar, options.customers);
  const enriched = new TopicFollower(client, topics.enriched);
  const byCustomer = new TopicFollower(client, topics.byCustomer);
  const instance = await options.start();
  await followUntil([enriched, byCustomer], joinable, { timeoutMs: 30 * 60_000, stillAlive: instance.running });
  const globalJoin = enriched.window();
  const coPartitionedJoin = byCustomer.window();

  const flow = new OrderFlow(client, {
    topic: topics.orders,
    partitions: options.partitions,
    customerCount: options.customers,
    ordersPerSecond: options.pacedRatePerSecond,
    firstIndex: options.ordersSoFar,
  });
  await flow.start();
  const paced = new Map<string, ConsumedRecord[]>([
    [topics.enriched, []],
    [topics.byCustomer, []],
  ]);
  const collect = (follower: TopicFollower, records: ConsumedRecord[]): void => {
    const list = paced.get(follower.topic) as ConsumedRecord[];
    for (const record of records) list.push(record);
  };
  const pacedEnd = Date.now() + options.pacedSeconds * 1000;
  while (Date.now() < pacedEnd) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const follower of [enriched, byCustomer]) collect(follower, await follower.poll());
  }
  await flow.stop();
  const total = joinable + joinableOrders(options.ordersSoFar, flow.nextIndex - options.ordersSoFar, options.customers);
  await followUntil([enriched, byCustomer], total, { timeoutMs: 120_000, stillAlive: instance.running, onRecords: collect });
  return {
    orders: options.ordersSoFar,
    joinableOrders: joinable,
    warmReadyMs: instance.readyMs,
    globalJoin,
    coPartitionedJoin,
    latency: {
      ratePerSecond: options.pacedRatePerSecond,
      seconds: options.pacedSeconds,
      globalJoin: outputLatency(paced.get(topics.enriched) ?? []),
      coPartitionedJoin: outputLatency(paced.get(topics.byCustomer) ?? []),
    },
    measuredAs:
      'one warm-started instance with --processing-guarantee exactly-once (commit interval 100 ms) over every order so far (the backlog and the at-least-once latency run), outputs read committed; throughput between the first and last output append; latency of a paced flow as for at-least-once',
  };
}
