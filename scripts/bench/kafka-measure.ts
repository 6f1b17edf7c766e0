/**
 * Kafka-side measurements for the benchmark: the raw consume ceiling and the store ceiling, waiting for output topics
 * to fill, and end-to-end latency from records' own timestamps.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import type { KafkaClient } from '../../processor/kafka/client.js';
import { PartitionReader } from '../../processor/kafka/partition-reader.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { DEFAULT_MEMORY, DEFAULT_RESTORATION_FETCH } from '../../processor/runtime/options.js';
import type { FetchTuning } from '../../processor/kafka/partition-reading.js';
import { levelDatabaseOptions } from '../../state-store/level-store.js';
import { percentile, perSecond, round } from './stats.js';

export interface CeilingResult {
  readonly records: number;
  readonly ms: number;
  readonly recordsPerSecond: number;
}

/**
 * Reads every partition of `topic` from the start to the current end through the product's PartitionReader and
 * does nothing with the records: the rate any consumer of this client stack can reach on this machine. `fetch`
 * defaults to the reader's own defaults (32 MiB per fetch).
 */
export async function measureConsumeCeiling(client: KafkaClient, topic: string, fetch?: FetchTuning): Promise<CeilingResult> {
  const ends = await endOffsets(client, topic);
  let records = 0;
  const started = performance.now();
  await readToEnd(client, topic, ends, 'tributary-bench-ceiling', fetch, async (batch) => {
    records += batch.length;
  });
  const ms = performance.now() - started;
  return { records, ms: Math.round(ms), recordsPerSecond: perSecond(records, ms) };
}

/**
 * The store ceiling: the topic read as a global table's bootstrap reads it (the partition reader with the default
 * `restorationFetch` sizes), each record then written into a fresh LevelDB with raw classic-level chained batches:
 * record key and value bytes as they are (a tombstone a delete), the options a global store opens with (write buffer
 * `memory.globalStoreWriteBufferBytes`, block cache, open files), `memory.globalRestoreBatchRecords` records per batch, one
 * batch write in flight while the next is filled (as restoration does). No decoding, no
 * checkpoints, no Tributary store logic: how fast this machine's LevelDB takes the table. Time runs from opening the
 * database to the last write resolved (closing it is not counted). The database goes into a new directory under
 * `parent` (default: the system's temporary directory; give one on the disk the state directories use), removed after.
 */
export async function measureStoreCeiling(client: KafkaClient, topic: string, parent = tmpdir()): Promise<CeilingResult> {
  const ends = await endOffsets(client, topic);
  mkdirSync(parent, { recursive: true });
  const location = mkdtempSync(join(parent, 'store-ceiling-'));
  const batchRecords = DEFAULT_MEMORY.globalRestoreBatchRecords;
  let records = 0;
  const started = performance.now();
  const db = new ClassicLevel<Buffer, Buffer>(
    location,
    levelDatabaseOptions({
      writeBufferSize: DEFAULT_MEMORY.globalStoreWriteBufferBytes,
      cacheSize: DEFAULT_MEMORY.storeBlockCacheBytes,
      maxOpenFiles: DEFAULT_MEMORY.storeMaxOpenFiles,
    }),
  );
  try {
    await db.open({ createIfMissing: true });
    let batch = db.batch();
    let inflight: Promise<void> = Promise.resolve();
    const writeBatch = async (): Promise<void> => {
      const full = batch;
      batch = db.batch();
      await inflight;
      inflight = full.write();
    };
    await readToEnd(client, topic, ends, 'tributary-bench-store-ceiling', DEFAULT_RESTORATION_FETCH, async (fetched) => {
      for (const record of fetched) {
        if (record.key === null) continue;
        if (record.value === null) batch.del(record.key);
        else batch.put(record.key, record.value);
        records++;
        if (batch.length >= batchRecords) await writeBatch();
      }
    });
    if (batch.length > 0) await writeBatch();
    await inflight;
    const ms = performance.now() - started;
    return { records, ms: Math.round(ms), recordsPerSecond: perSecond(records, ms) };
  } finally {
    await db.close().catch(() => undefined);
    rmSync(location, { recursive: true, force: true });
  }
}

/** Every partition of `topic` from the start to `ends` through the product's PartitionReader, each batch to `onBatch`. */
async function readToEnd(
  client: KafkaClient,
  topic: string,
  ends: ReadonlyMap<number, number>,
  groupIdPrefix: string,
  fetch: FetchTuning | undefined,
  onBatch: (records: readonly ConsumedRecord[]) => Promise<void>,
): Promise<void> {
  const reader = new PartitionReader(client, {
    partitions: [...ends.keys()].map((partition) => ({ topic, partition })),
    endOffsets: new Map([...ends].map(([partition, end]) => [topicPartitionId(topic, partition), end])),
    groupIdPrefix,
    fetch,
    onBatch,
  });
  await reader.run();
}

export async function endOffsets(client: KafkaClient, topic: string): Promise<Map<number, number>> {
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    return await admin.fetchEndOffsets(topic);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls the summed end offsets of `topics` until each reached its target; resolves with the ms (since `since`)
 * at which each topic got there. Fails after `timeoutMs` or when `stillAlive` turns false.
 */
export async function waitForTopicCounts(
  client: KafkaClient,
  targets: ReadonlyMap<string, number>,
  since: number,
  { timeoutMs, stillAlive = () => true, intervalMs = 200 }: { timeoutMs: number; stillAlive?: () => boolean; intervalMs?: number },
): Promise<Map<string, number>> {
  const reachedAt = new Map<string, number>();
  const admin = new KafkaAdmin(client);
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    const last = new Map<string, number>();
    while (reachedAt.size < targets.size) {
      if (Date.now() > deadline) {
        const progress = [...targets].map(([topic, target]) => `${topic} ${last.get(topic) ?? 0}/${target}`).join(', ');
        throw new Error(`output topics did not fill within ${timeoutMs} ms: ${progress}`);
      }
      if (!stillAlive()) throw new Error('the application instance exited while the benchmark waited for its output');
      for (const [topic, target] of targets) {
        if (reachedAt.has(topic)) continue;
        let total = 0;
        for (const end of (await admin.fetchEndOffsets(topic)).values()) total += end;
        last.set(topic, total);
        if (total >= target) reachedAt.set(topic, performance.now() - since);
      }
      if (reachedAt.size < targets.size) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return reachedAt;
  } finally {
    await admin.disconnect();
  }
}

/** Reads `topic` from `from` (per partition; default 0) to `to` (exclusive; default the current end offsets). */
export async function readFrom(
  client: KafkaClient,
  topic: string,
  from: ReadonlyMap<number, number>,
  to?: ReadonlyMap<number, number>,
): Promise<ConsumedRecord[]> {
  const ends = to ?? (await endOffsets(client, topic));
  const partitions = [...ends].filter(([partition, end]) => end > (from.get(partition) ?? 0));
  if (partitions.length === 0) return [];
  const records: ConsumedRecord[] = [];
  const reader = new PartitionReader(client, {
    partitions: partitions.map(([partition]) => ({ topic, partition, offset: from.get(partition) ?? 0 })),
    endOffsets: new Map<TopicPartitionId, number>(partitions.map(([partition, end]) => [topicPartitionId(topic, partition), end])),
    groupIdPrefix: 'tributary-bench-read',
    onBatch: async (batch) => {
      records.push(...batch);
    },
  });
  await reader.run();
  return records;
}

export interface AppendWindow {
  readonly records: number;
  /** Broker append time of the first and the last record of the topic. */
  readonly firstAppendMs: number;
  readonly lastAppendMs: number;
  readonly ms: number;
  readonly recordsPerSecond: number;
}

/**
 * How fast a fresh LogAppendTime topic was filled: records over the time between its first and its last append,
 * read from the first and last record of each partition only. Independent of when anyone looked.
 */
export async function appendWindow(client: KafkaClient, topic: string): Promise<AppendWindow> {
  const ends = await endOffsets(client, topic);
  const filled = [...ends].filter(([, end]) => end > 0);
  const firsts = await readFrom(client, topic, new Map(filled.map(([p]) => [p, 0])), new Map(filled.map(([p]) => [p, 1])));
  const lasts = await readFrom(client, topic, new Map(filled.map(([p, end]) => [p, end - 1])), new Map(filled));
  const records = filled.reduce((total, [, end]) => total + end, 0);
  const firstAppendMs = Math.min(...firsts.map((r) => r.timestamp));
  const lastAppendMs = Math.max(...lasts.map((r) => r.timestamp));
  const ms = Math.max(1, lastAppendMs - firstAppendMs);
  return { records, firstAppendMs, lastAppendMs, ms, recordsPerSecond: perSecond(records, ms) };
}

export interface LatencyResult {
  readonly records: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Latency of output records whose topic stamps LogAppendTime: record timestamp (when the broker appended the
 * output) minus the order's `createdAt` (its produce time). Producer, app and broker share this machine's clock.
 */
export function outputLatency(records: readonly ConsumedRecord[]): LatencyResult {
  const latencies = new Float64Array(records.length);
  let n = 0;
  for (const record of records) {
    if (record.value === null) continue;
    const createdAt = (JSON.parse(record.value.toString('utf8')) as { createdAt?: unknown }).createdAt;
    if (typeof createdAt === 'number') latencies[n++] = record.timestamp - createdAt;
  }
  const sorted = latencies.subarray(0, n).sort();
  return {
    records: n,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(n > 0 ? sorted[n - 1] : 0),
  };
}
