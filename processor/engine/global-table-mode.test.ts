import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPartition } from '../../common/partitioner.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { compareVersions, VersionsNeeded } from '../../state-store/record-version.js';
import { restoreStore } from '../../state-store/restore.js';
import { GlobalTableModes, decodeGlobalTableMode, encodeGlobalTableMode, isMisplaced } from './global-table-mode.js';
import { GlobalTableUpdater } from './global-updater.js';

const TOPIC = 'customers';
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const BEFORE = 2;
const AFTER = 4;

function topology() {
  const b = new StreamsBuilder();
  b.globalTable(TOPIC, { key: Serdes.string(), value: Serdes.string(), store: 'customers' });
  return b.build({ applicationId: 'modes' });
}

/** Writes of (key index, value or null) in the order producers sent them; placed by murmur2 with `count` partitions. */
const writes = fc.array(fc.record({ key: fc.integer({ min: 0, max: KEYS.length - 1 }), value: fc.option(fc.string({ maxLength: 2 })) }), {
  maxLength: 25,
});

class Log {
  readonly partitions: ConsumedRecord[][] = Array.from({ length: AFTER }, () => []);
  private clock = 0;

  append(writes: readonly { key: number; value: string | null }[], count: number): void {
    for (const w of writes) {
      const key = Buffer.from(KEYS[w.key]);
      const partition = defaultPartition(key, count);
      const log = this.partitions[partition];
      // Timestamps never go back across the expansion (one clock); ties inside one side are possible.
      const timestamp = Math.floor(this.clock++ / 2);
      log.push({
        topic: TOPIC,
        partition,
        offset: log.length,
        timestamp,
        key,
        value: w.value === null ? null : Buffer.from(w.value),
        headers: {},
      });
    }
  }

  /** The latest record of every key by (timestamp, partition, offset); tombstones mean absent. */
  expected(): Record<string, string> {
    const latest = new Map<string, ConsumedRecord>();
    for (const record of this.partitions.flat()) {
      const key = (record.key as Buffer).toString();
      const current = latest.get(key);
      if (current === undefined || compareVersions(record, current) > 0) latest.set(key, record);
    }
    return Object.fromEntries(
      [...latest]
        .filter(([, r]) => r.value !== null)
        .map(([k, r]) => [k, (r.value as Buffer).toString()])
        .sort(),
    );
  }
}

/** Reads `positions` onward of the given partitions, interleaved by `choices`, in batches of `sizes`. */
function interleave(
  log: Log,
  from: readonly number[],
  partitions: readonly number[],
  choices: readonly number[],
  sizes: readonly number[],
) {
  const cursors = [...from];
  const order: ConsumedRecord[] = [];
  let c = 0;
  for (;;) {
    const open = partitions.filter((p) => cursors[p] < log.partitions[p].length);
    if (open.length === 0) break;
    const p = open[(choices[c++ % Math.max(1, choices.length)] ?? 0) % open.length];
    order.push(log.partitions[p][cursors[p]++]);
  }
  const batches: ConsumedRecord[][] = [];
  for (let i = 0, s = 0; i < order.length; s++) {
    const size = sizes[s % sizes.length];
    batches.push(order.slice(i, i + size));
    i += size;
  }
  return batches;
}

async function table(store: MemoryKeyValueStore<unknown>): Promise<Record<string, string>> {
  const out: [string, string][] = [];
  for await (const entry of store.range()) out.push([entry.key.toString(), String(entry.value)]);
  return Object.fromEntries(out.sort());
}

/** A fresh instance: a fast bootstrap that starts over with versions at its first misplaced record. */
async function freshBootstrap(log: Log, choices: readonly number[], sizes: readonly number[]): Promise<MemoryKeyValueStore<unknown>> {
  const endOffsets = new Map(log.partitions.map((p, i) => [topicPartitionId(TOPIC, i), p.length] as [TopicPartitionId, number]));
  const run = async (versioned: boolean) => {
    const store = new MemoryKeyValueStore<unknown>('customers', 'global');
    await restoreStore<unknown>({
      store,
      batches: (async function* () {
        for (const batch of interleave(log, [0, 0, 0, 0], [0, 1, 2, 3], choices, sizes)) yield batch;
      })(),
      endOffsets,
      decode: (r) => ({ type: 'put', key: r.key as Buffer, value: (r.value as Buffer).toString() }),
      onDecodeError: () => 'fail',
      batchSize: sizes[0],
      versioned,
      needsVersions: (r) => isMisplaced(r, AFTER),
    });
    return store;
  };
  try {
    return await run(false);
  } catch (error) {
    if (!(error instanceof VersionsNeeded)) throw error;
    return run(true);
  }
}

describe('global table modes', () => {
  it('encodes modes', () => {
    expect(decodeGlobalTableMode(encodeGlobalTableMode({ kind: 'fast', partitions: 12 }))).toEqual({ kind: 'fast', partitions: 12 });
    expect(decodeGlobalTableMode('versioned')).toEqual({ kind: 'versioned' });
    expect(decodeGlobalTableMode(undefined)).toBeUndefined();
    expect(decodeGlobalTableMode('fast/')).toBeUndefined();
  });

  it('a running instance switching in place at the expansion and a fresh instance after it build the same table, the latest by the rule', async () => {
    await fc.assert(
      fc.asyncProperty(
        writes,
        writes,
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (before, after, choices, sizes, freshChoices) => {
          const log = new Log();
          log.append(before, BEFORE);
          // The running instance reads everything written before the expansion, fast (blind writes).
          const running = new MemoryKeyValueStore<unknown>('customers', 'global');
          const partitions = new Map([[TOPIC, BEFORE]]);
          const modes = new GlobalTableModes(partitions);
          modes.set('customers', TOPIC, { kind: 'fast', partitions: BEFORE }, undefined);
          const updater = new GlobalTableUpdater({ topology: topology(), stores: new Map([['customers', running]]), modes });
          for (const batch of interleave(log, [0, 0], [0, 1], choices, sizes)) await updater.write(updater.prepare(batch));
          expect(modes.isVersioned('customers')).toBe(false);
          const read = log.partitions.map((p) => p.length);
          // Expansion: new writes go to the keys' new homes; the watcher switches the table in place.
          log.append(after, AFTER);
          partitions.set(TOPIC, AFTER);
          for (const store of modes.grownFastTables()) modes.switchToVersioned(store, 'grew');
          for (const batch of interleave(log, read, [0, 1, 2, 3], choices, sizes)) await updater.write(updater.prepare(batch));
          const expected = log.expected();
          expect(await table(running)).toEqual(expected);
          expect(await table(await freshBootstrap(log, freshChoices, sizes))).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
