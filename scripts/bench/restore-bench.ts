/**
 * Restore throughput: N small records (~100-byte JSON customers) from a generated source through restoreStore()
 * into a fresh LevelDB in a temp dir.
 *
 *   npx tsx scripts/bench/restore-bench.ts --records 1000000 [--batch-size 10000] [--write-buffer-mb 16]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsumedRecord, TopicPartitionId } from '../../common/records.js';
import { LevelKeyValueStore, type LevelTuning } from '../../state-store/level-store.js';
import { DEFAULT_RESTORE_BATCH_SIZE, restoreStore } from '../../state-store/restore.js';
import type { StoreWrite } from '../../state-store/types.js';

export interface RestoreBenchOptions {
  readonly records: number;
  /** Records per store write (restoreStore batchSize). */
  readonly batchSize?: number;
  /** Records per source batch (what one kafkajs eachBatch would hand over). */
  readonly sourceBatchSize?: number;
  readonly partitions?: number;
  readonly tuning?: LevelTuning;
}

export interface RestoreBenchResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly batchSize: number;
  readonly peakRssMb: number;
}

const TOPIC = 'customers';
const COUNTRIES = ['NL', 'DE', 'FR', 'US', 'JP', 'BR', 'IN', 'ZA'];

/** Round-robin partitions; keys visit every customer id once in a scattered (not sorted) order. */
async function* generatedSource(records: number, partitions: number, sourceBatchSize: number): AsyncGenerator<ConsumedRecord[]> {
  const nextOffset = new Array<number>(partitions).fill(0);
  for (let start = 0; start < records; start += sourceBatchSize) {
    const batch: ConsumedRecord[] = [];
    const end = Math.min(records, start + sourceBatchSize);
    const partition = (start / sourceBatchSize) % partitions;
    for (let i = start; i < end; i++) {
      const id = (i * 7919) % records;
      const value = JSON.stringify({
        id,
        name: `Customer ${id}`,
        email: `customer${id}@example.com`,
        country: COUNTRIES[id % COUNTRIES.length],
        balance: (id * 37) % 100_000,
      });
      batch.push({
        topic: TOPIC,
        partition,
        offset: nextOffset[partition]!++,
        timestamp: 1_700_000_000_000 + i,
        key: Buffer.from(`customer-${id}`),
        value: Buffer.from(value),
        headers: {},
      });
    }
    yield batch;
  }
}

export async function runRestoreBench(options: RestoreBenchOptions): Promise<RestoreBenchResult> {
  const records = options.records;
  const partitions = options.partitions ?? 4;
  const sourceBatchSize = options.sourceBatchSize ?? 2000;
  const batchSize = options.batchSize ?? DEFAULT_RESTORE_BATCH_SIZE;
  const endOffsets = new Map<TopicPartitionId, number>();
  const batches = Math.ceil(records / sourceBatchSize);
  for (let p = 0; p < partitions; p++) {
    let count = 0;
    for (let b = p; b < batches; b += partitions) count += Math.min(sourceBatchSize, records - b * sourceBatchSize);
    endOffsets.set(`${TOPIC}:${p}`, count);
  }

  const dir = await mkdtemp(join(tmpdir(), 'tributary-restore-bench-'));
  const store = await LevelKeyValueStore.open({
    location: join(dir, 'db'),
    name: 'customers',
    partition: 'global',
    tuning: options.tuning,
  });
  try {
    const started = performance.now();
    const result = await restoreStore({
      store,
      batches: generatedSource(records, partitions, sourceBatchSize),
      endOffsets,
      decode: (record): StoreWrite<unknown> => ({
        type: 'put',
        key: record.key!,
        value: JSON.parse(record.value!.toString('utf8')) as unknown,
      }),
      onDecodeError: () => 'fail',
      batchSize,
    });
    const seconds = (performance.now() - started) / 1000;
    if (!result.caughtUp || result.restored !== records) {
      throw new Error(`restore bench: restored ${result.restored} of ${records} records (caughtUp ${result.caughtUp})`);
    }
    return {
      records,
      seconds: Math.round(seconds * 1000) / 1000,
      recordsPerSecond: Math.round(records / seconds),
      batchSize,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function numberFlag(args: readonly string[], name: string): number | undefined {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const writeBufferMb = numberFlag(args, 'write-buffer-mb');
  const result = await runRestoreBench({
    records: numberFlag(args, 'records') ?? 1_000_000,
    batchSize: numberFlag(args, 'batch-size'),
    sourceBatchSize: numberFlag(args, 'source-batch-size'),
    tuning: writeBufferMb === undefined ? undefined : { writeBufferSize: writeBufferMb * 1024 * 1024 },
  });
  console.log(JSON.stringify(result));
}
