/**
 * Shared by the multi-instance scenarios (test/runtime/multi-instance.test.ts, scaling.test.ts): a steady flow of
 * orders while instances come and go, and the wait for a group whose instances agree on the task map.
 */
import type { ClusterMetadata } from '../../http-query/query-source.js';
import { RecordProducer } from '../../processor/kafka/producer.js';
import type { AppProcess } from '../helpers/app-process.js';
import { testKafkaClient, toProducedRecord, waitUntil } from '../helpers/kafka.js';
import { orderRecords } from './enrichment-fixture.js';

export interface OrderFlowOptions {
  /** Customers the orders refer to (c0 .. c<customers-1>). */
  readonly customers: number;
  readonly batchSize: number;
  readonly intervalMs: number;
}

/** Produces orders in small batches until paused or closed: the "orders keep flowing" of the scenarios. */
export class OrderFlow {
  private readonly producer = new RecordProducer(testKafkaClient());
  private nextSeq = 0;
  private running: Promise<void> | undefined;
  private stopRequested = false;

  constructor(
    private readonly topic: string,
    private readonly options: OrderFlowOptions,
  ) {}

  get produced(): number {
    return this.nextSeq;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.stopRequested = false;
    this.running = (async () => {
      while (!this.stopRequested) {
        const batch = orderRecords(this.nextSeq, this.options.batchSize, this.options.customers);
        await this.producer.send(batch.map((r) => toProducedRecord(this.topic, r)));
        this.nextSeq += batch.length;
        await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs));
      }
    })();
  }

  async pause(): Promise<void> {
    this.stopRequested = true;
    await this.running;
  }

  resume(): Promise<void> {
    return this.start();
  }

  async close(): Promise<void> {
    await this.pause();
    await this.producer.disconnect();
  }
}

/** Waits until every instance is ready and all publish the same task map; returns that map. */
export async function stableMetadata(instances: readonly AppProcess[]): Promise<ClusterMetadata> {
  let metadata: ClusterMetadata | undefined;
  await waitUntil(
    async () => {
      const views = await Promise.all(instances.map((i) => i.json<ClusterMetadata>('/metadata')));
      const owners = views.map((v) => JSON.stringify(v.instances.map((m) => [m.url, [...m.tasks].sort()]).sort()));
      metadata = views[0];
      return (
        views.every((v) => v.instances.length === instances.length) &&
        owners.every((o) => o === owners[0]) &&
        (await Promise.all(instances.map(async (i) => (await i.request('/ready')).status === 200))).every(Boolean)
      );
    },
    { timeoutMs: 60_000, intervalMs: 250, description: `a stable group of ${instances.length} ready instances that agree on the task map` },
  );
  return metadata as ClusterMetadata;
}
