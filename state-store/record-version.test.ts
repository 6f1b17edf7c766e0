import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedRecord, TopicPartitionId } from '../common/records.js';
import { LevelKeyValueStore } from './level-store.js';
import { MemoryKeyValueStore } from './memory-store.js';
import { compareVersions, decodeVersion, encodeVersion, replaces } from './record-version.js';
import { applicableWrites, restoreStore } from './restore.js';
import type { KeyValueStore, StoreWrite } from './types.js';

const TOPIC = 'customers';

interface Version {
  readonly timestamp: number;
  readonly value: string | null;
}

/** Per partition, a key's records in offset order; timestamps from a small range so ties happen. */
const histories = fc.array(
  fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 6 }), value: fc.option(fc.string({ maxLength: 3 })) }), { maxLength: 5 }),
  {
    minLength: 1,
    maxLength: 4,
  },
);

function records(partitions: readonly (readonly Version[])[]): ConsumedRecord[][] {
  return partitions.map((versions, partition) =>
    versions.map((v, offset) => ({
      topic: TOPIC,
      partition,
      offset,
      timestamp: v.timestamp,
      key: Buffer.from('k'),
      value: v.value === null ? null : Buffer.from(v.value),
      headers: {},
    })),
  );
}

/** The rule: the record with the greatest (timestamp, partition, offset); a tombstone means absent. */
function expected(partitions: readonly (readonly ConsumedRecord[])[]): string | undefined {
  const all = partitions.flat();
  if (all.length === 0) return undefined;
  const newest = all.reduce((a, b) => (compareVersions(b, a) > 0 ? b : a));
  return newest.value === null ? undefined : newest.value.toString();
}

/** A merge of the partitions that keeps each partition's offset order, driven by `choices`. */
function interleave(partitions: readonly (readonly ConsumedRecord[])[], choices: readonly number[]): ConsumedRecord[] {
  const cursors = partitions.map(() => 0);
  const out: ConsumedRecord[] = [];
  let c = 0;
  for (;;) {
    const open = partitions.map((p, i) => i).filter((i) => cursors[i] < partitions[i].length);
    if (open.length === 0) return out;
    const pick = open[(choices[c++ % Math.max(1, choices.length)] ?? 0) % open.length];
    out.push(partitions[pick][cursors[pick]++]);
  }
}

function chunks<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  for (let i = 0, s = 0; i < items.length; s++) {
    const size = sizes[s % Math.max(1, sizes.length)] ?? 1;
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}

async function* batchesOf(chunked: ConsumedRecord[][]): AsyncGenerator<ConsumedRecord[]> {
  for (const chunk of chunked) yield chunk;
}

const endOffsets = (partitions: readonly (readonly ConsumedRecord[])[]) =>
  new Map(partitions.map((p, i) => [`${TOPIC}:${i}` as TopicPartitionId, p.length]));

describe('record versions: the newest record of a key wins across partitions', () => {
  it('encodes and orders versions', () => {
    const v = { timestamp: 1_796_547_000_123, partition: 11, offset: 123_456_789, deleted: true };
    expect(decodeVersion(encodeVersion(v))).toEqual(v);
    expect(replaces({ timestamp: 5, partition: 0, offset: 9 }, { timestamp: 5, partition: 1, offset: 0 })).toBe(false);
    expect(replaces({ timestamp: 5, partition: 1, offset: 0 }, { timestamp: 5, partition: 1, offset: 0 })).toBe(true);
    expect(replaces({ timestamp: 6, partition: 0, offset: 0 }, { timestamp: 5, partition: 9, offset: 9 })).toBe(true);
  });

  it('restoration: any interleaving of the partitions, in any batch sizes, gives the latest by (timestamp, partition, offset)', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        async (history, choices, readSizes, writeSizes) => {
          const partitions = records(history);
          const store = new MemoryKeyValueStore<Buffer>('t', 'global');
          const result = await restoreStore<Buffer>({
            store,
            batches: batchesOf(chunks(interleave(partitions, choices), readSizes)),
            endOffsets: endOffsets(partitions),
            decode: (record) => ({ type: 'put', key: record.key as Buffer, value: record.value as Buffer }),
            onDecodeError: () => 'fail',
            batchSize: writeSizes[0],
            versioned: true,
          });
          expect(result.caughtUp).toBe(true);
          const value = await store.get(Buffer.from('k'));
          expect(value === undefined ? undefined : Buffer.from(value).toString()).toBe(expected(partitions));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('live updates (applicableWrites per batch) agree with restoration, and a deletion stays a marker reads never see', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1 }),
        async (history, choices, sizes) => {
          const partitions = records(history);
          const store: KeyValueStore<Buffer> = new MemoryKeyValueStore<Buffer>('t', 'global');
          for (const batch of chunks(interleave(partitions, choices), sizes)) {
            const writes: StoreWrite<Buffer>[] = batch.map((r) => {
              const version = { timestamp: r.timestamp, partition: r.partition, offset: r.offset };
              return r.value === null
                ? { type: 'delete', key: r.key as Buffer, version }
                : { type: 'put', key: r.key as Buffer, value: r.value, version };
            });
            await store.write(await applicableWrites(store, writes));
          }
          const value = await store.get(Buffer.from('k'));
          expect(value === undefined ? undefined : Buffer.from(value).toString()).toBe(expected(partitions));
          const scanned = [];
          for await (const entry of store.range()) scanned.push(entry);
          expect(scanned.length).toBe(expected(partitions) === undefined ? 0 : 1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('LevelDB store versions', () => {
  const dirs: string[] = [];
  afterEach(async () => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));

  it('keeps versions and tombstone markers beside the data (never in reads or scans), and a clear removes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-versions-'));
    dirs.push(dir);
    let store = await LevelKeyValueStore.open<string>({ location: dir, name: 's', partition: 'global' });
    const a = Buffer.from('a');
    const b = Buffer.from('b');
    await store.write(
      [
        { type: 'put', key: a, value: 'A', version: { timestamp: 5, partition: 2, offset: 7 } },
        { type: 'delete', key: b, version: { timestamp: 9, partition: 3, offset: 1 } },
      ],
      new Map([['t:2', 8]]),
    );
    await store.close();
    store = await LevelKeyValueStore.open<string>({ location: dir, name: 's', partition: 'global' });
    expect(await store.getVersions([a, b, Buffer.from('c')])).toEqual([
      { timestamp: 5, partition: 2, offset: 7, deleted: false },
      { timestamp: 9, partition: 3, offset: 1, deleted: true },
      undefined,
    ]);
    expect(await store.get(b)).toBeUndefined();
    const scanned = [];
    for await (const entry of store.range()) scanned.push(entry.key.toString());
    expect(scanned).toEqual(['a']);
    expect(await store.approximateCount()).toBe(1);
    await store.write([{ type: 'clear' }]);
    expect(await store.getVersions([a, b])).toEqual([undefined, undefined]);
    await store.close();
  });

  it('keeps meta entries in the write batch, across a reopen and a clear', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-meta-'));
    dirs.push(dir);
    let store = await LevelKeyValueStore.open<string>({ location: dir, name: 's', partition: 'global' });
    expect(store.meta('mode')).toBeUndefined();
    await store.write([{ type: 'put', key: Buffer.from('a'), value: 'A' }], new Map([['t:0', 1]]), new Map([['mode', 'versioned']]));
    expect(store.meta('mode')).toBe('versioned');
    await store.write([{ type: 'clear' }]);
    await store.close();
    store = await LevelKeyValueStore.open<string>({ location: dir, name: 's', partition: 'global' });
    expect(store.meta('mode')).toBe('versioned');
    expect(await store.get(Buffer.from('a'))).toBeUndefined();
    await store.close();
    const memory = new MemoryKeyValueStore<string>('m', 'global');
    await memory.write([], new Map([['t:0', 1]]), new Map([['mode', 'fast/6']]));
    expect(memory.meta('mode')).toBe('fast/6');
  });
});
