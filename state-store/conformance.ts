/**
 * The KeyValueStore contract as a reusable vitest suite. Every implementation runs it:
 *
 *   describeKeyValueStoreConformance('LevelKeyValueStore', async () => ({ store, reopen, cleanup }));
 *
 * Test-only module (imports vitest); not exported from the package root.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TopicPartitionId } from '../common/records.js';
import type { KeyValueStore, RangeOptions, StoreEntry } from './types.js';
import { JsonText, StoredJsonText } from './value-codec.js';

export interface ConformanceSubject {
  readonly store: KeyValueStore<unknown>;
  /** Closes `store` and opens the same data again; omit for stores without persistence. */
  readonly reopen?: () => Promise<KeyValueStore<unknown>>;
  /** Closes whatever is open and removes any files. */
  readonly cleanup: () => Promise<void>;
}

export type ConformanceFactory = () => Promise<ConformanceSubject>;

const k = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const s = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

async function collect(iterable: AsyncIterable<StoreEntry<unknown>>): Promise<StoreEntry<unknown>[]> {
  const out: StoreEntry<unknown>[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

async function keysOf(store: KeyValueStore<unknown>, options?: RangeOptions): Promise<string[]> {
  return (await collect(store.range(options))).map((e) => hex(e.key));
}

export function describeKeyValueStoreConformance(implementationName: string, factory: ConformanceFactory): void {
  describe(`KeyValueStore conformance: ${implementationName}`, () => {
    let subject: ConformanceSubject | undefined;

    async function open(): Promise<KeyValueStore<unknown>> {
      subject = await factory();
      return subject.store;
    }

    afterEach(async () => {
      await subject?.cleanup();
      subject = undefined;
    });

    it('returns undefined for a missing key and round-trips plain values', async () => {
      const store = await open();
      expect(await store.get(s('missing'))).toBeUndefined();
      const values: Record<string, unknown> = {
        object: { name: 'Ada', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } },
        array: [1, 'two', false, null, [3.5]],
        string: 'héllo ✓',
        empty: '',
        int: 42,
        negative: -7,
        float: 0.1 + 0.2,
        big: 2 ** 53 - 1,
        zero: 0,
        true: true,
        false: false,
        null: null,
      };
      await store.write(Object.entries(values).map(([key, value]) => ({ type: 'put' as const, key: s(key), value })));
      for (const [key, value] of Object.entries(values)) expect(await store.get(s(key))).toEqual(value);
    });

    it('hands out copies: mutating a written or read value does not change the store', async () => {
      const store = await open();
      const value = { count: 1, list: [1] };
      await store.put(s('a'), value);
      value.count = 2;
      value.list.push(2);
      const read = (await store.get(s('a'))) as { count: number; list: number[] };
      expect(read).toEqual({ count: 1, list: [1] });
      read.count = 99;
      expect(await store.get(s('a'))).toEqual({ count: 1, list: [1] });
    });

    it('rejects undefined as a value (deleting is how a key goes away)', async () => {
      const store = await open();
      await expect(store.put(s('a'), undefined)).rejects.toThrow();
      expect(await store.get(s('a'))).toBeUndefined();
    });

    it('deletes keys, and a delete in a batch acts as a tombstone', async () => {
      const store = await open();
      await store.write([
        { type: 'put', key: s('a'), value: 1 },
        { type: 'put', key: s('b'), value: 2 },
      ]);
      await store.delete(s('a'));
      await store.write([
        { type: 'delete', key: s('b') },
        { type: 'delete', key: s('never-existed') },
      ]);
      expect(await store.get(s('a'))).toBeUndefined();
      expect(await store.get(s('b'))).toBeUndefined();
      expect(await keysOf(store)).toEqual([]);
    });

    it('applies writes of one batch in order (last write per key wins)', async () => {
      const store = await open();
      await store.write([
        { type: 'put', key: s('a'), value: 1 },
        { type: 'put', key: s('a'), value: 2 },
        { type: 'put', key: s('b'), value: 1 },
        { type: 'delete', key: s('b') },
        { type: 'delete', key: s('c') },
        { type: 'put', key: s('c'), value: 3 },
      ]);
      expect(await store.getMany([s('a'), s('b'), s('c')])).toEqual([2, undefined, 3]);
    });

    it('getMany aligns results with keys, including duplicates and missing keys', async () => {
      const store = await open();
      await store.write([
        { type: 'put', key: s('x'), value: 'X' },
        { type: 'put', key: s('y'), value: { y: true } },
      ]);
      expect(await store.getMany([])).toEqual([]);
      expect(await store.getMany([s('y'), s('nope'), s('x'), s('y')])).toEqual([{ y: true }, undefined, 'X', { y: true }]);
    });

    it('stores checkpoints with writes, merges them per partition and returns a snapshot copy', async () => {
      const store = await open();
      expect(store.checkpoints().size).toBe(0);
      const a = 'orders:0' as TopicPartitionId;
      const b = 'orders:1' as TopicPartitionId;
      await store.write([{ type: 'put', key: s('k'), value: 1 }], new Map([[a, 10]]));
      await store.write([], new Map([[b, 5]]));
      await store.write([{ type: 'put', key: s('k'), value: 2 }], new Map([[a, 11]]));
      const seen = store.checkpoints();
      expect([...seen.entries()].sort()).toEqual([
        [a, 11],
        [b, 5],
      ]);
      await store.write([], new Map([[a, 12]]));
      expect(seen.get(a)).toBe(11);
      expect(store.checkpoints().get(a)).toBe(12);
    });

    it('scans in key byte order, forward and reverse, with limit', async () => {
      const store = await open();
      const keys = [k(0xff), k(0x01, 0x00), k(0x00), k(0x01), s('b'), s('ab'), s('a'), k(0x7f, 0xff), k(0x80)];
      await store.write(keys.map((key, i) => ({ type: 'put' as const, key, value: i })));
      const sorted = keys.map(hex).sort();
      expect(await keysOf(store)).toEqual(sorted);
      expect(await keysOf(store, { reverse: true })).toEqual([...sorted].reverse());
      expect(await keysOf(store, { limit: 3 })).toEqual(sorted.slice(0, 3));
      expect(await keysOf(store, { limit: 2, reverse: true })).toEqual([...sorted].reverse().slice(0, 2));
      expect(await keysOf(store, { limit: 0 })).toEqual([]);
      const entries = await collect(store.range({ gte: s('a'), lt: s('b') }));
      expect(entries.map((e) => [Buffer.from(e.key).toString('utf8'), e.value])).toEqual([
        ['a', 6],
        ['ab', 5],
      ]);
    });

    it('honours gt/gte/lt/lte bounds and their combination with a prefix', async () => {
      const store = await open();
      const names = ['a', 'b', 'c', 'd', 'user:1', 'user:2', 'user:3', 'user;', 'users'];
      await store.write(names.map((n) => ({ type: 'put' as const, key: s(n), value: n })));
      const str = async (o: RangeOptions): Promise<string[]> =>
        (await collect(store.range(o))).map((e) => Buffer.from(e.key).toString('utf8'));
      expect(await str({ gt: s('a'), lte: s('c') })).toEqual(['b', 'c']);
      expect(await str({ gte: s('a'), lt: s('c') })).toEqual(['a', 'b']);
      expect(await str({ gt: s('b'), lt: s('b') })).toEqual([]);
      expect(await str({ gte: s('c'), lte: s('a') })).toEqual([]);
      expect(await str({ prefix: s('user:') })).toEqual(['user:1', 'user:2', 'user:3']);
      expect(await str({ prefix: s('user:'), reverse: true, limit: 2 })).toEqual(['user:3', 'user:2']);
      expect(await str({ prefix: s('user:'), gt: s('user:1') })).toEqual(['user:2', 'user:3']);
      expect(await str({ prefix: s('user:'), lt: s('user:3') })).toEqual(['user:1', 'user:2']);
      expect(await str({ prefix: s('user:'), gte: s('a'), lte: s('zzz') })).toEqual(['user:1', 'user:2', 'user:3']);
      expect(await str({ prefix: s('nothing') })).toEqual([]);
      expect(await str({ prefix: s('') })).toEqual([...names].sort());
    });

    it('handles prefixes ending in 0xff', async () => {
      const store = await open();
      const keys = [k(0x01, 0xff), k(0x01, 0xff, 0x00), k(0x01, 0xff, 0xff), k(0x02), k(0xff), k(0xff, 0xff, 0x01)];
      await store.write(keys.map((key) => ({ type: 'put' as const, key, value: hex(key) })));
      expect(await keysOf(store, { prefix: k(0x01, 0xff) })).toEqual(['01ff', '01ff00', '01ffff']);
      expect(await keysOf(store, { prefix: k(0xff) })).toEqual(['ff', 'ffff01']);
      expect(await keysOf(store, { prefix: k(0xff, 0xff) })).toEqual(['ffff01']);
    });

    it('streams large scans without losing or repeating entries', async () => {
      const store = await open();
      const total = 5000;
      const writes = [];
      for (let i = 0; i < total; i++) {
        const key = Buffer.alloc(4);
        key.writeUInt32BE(i);
        writes.push({ type: 'put' as const, key, value: { i } });
      }
      await store.write(writes);
      let expected = 0;
      for await (const entry of store.range()) {
        expect(Buffer.from(entry.key).readUInt32BE(0)).toBe(expected);
        expect(entry.value).toEqual({ i: expected });
        expected++;
      }
      expect(expected).toBe(total);
      let reverseCount = 0;
      for await (const entry of store.range({ reverse: true })) {
        expect(Buffer.from(entry.key).readUInt32BE(0)).toBe(total - 1 - reverseCount);
        reverseCount++;
      }
      expect(reverseCount).toBe(total);
    });

    it('deleteRange removes exactly the keys in [gte, lt), keeping checkpoints', async () => {
      const store = await open();
      const keys = [k(0x00), k(0x01), k(0x01, 0x00), k(0x01, 0xff), k(0x02), k(0x02, 0x00), k(0xff)];
      const tp = 'src:0' as TopicPartitionId;
      await store.write(
        keys.map((key) => ({ type: 'put' as const, key, value: hex(key) })),
        new Map([[tp, 5]]),
      );
      await store.deleteRange({ gte: k(0x01), lt: k(0x02) });
      expect(await keysOf(store)).toEqual(['00', '02', '0200', 'ff']);
      await store.deleteRange({ gte: k(0x02, 0x00), lt: k(0x02, 0x00) }); // empty interval
      await store.deleteRange({ gte: k(0xff), lt: k(0x01) }); // inverted: nothing
      expect(await keysOf(store)).toEqual(['00', '02', '0200', 'ff']);
      await store.deleteRange({ gte: k(0x00), lt: k(0xff, 0xff) });
      expect(await keysOf(store)).toEqual([]);
      expect(store.checkpoints().get(tp)).toBe(5);
      await store.put(k(0x01), 'back');
      expect(await store.get(k(0x01))).toBe('back');
    });

    it('estimates the count of a small store exactly', async () => {
      const store = await open();
      expect(await store.approximateCount()).toBe(0);
      await store.write(Array.from({ length: 37 }, (_, i) => ({ type: 'put' as const, key: s(`k${i}`), value: i })));
      await store.delete(s('k0'));
      expect(await store.approximateCount()).toBe(36);
    });

    it('readOnly() exposes reads only, and they see the same data', async () => {
      const store = await open();
      await store.put(s('a'), 'A');
      const view = store.readOnly();
      for (const method of ['put', 'delete', 'deleteRange', 'write', 'close', 'checkpoints', 'readOnly']) {
        expect(method in view, method).toBe(false);
      }
      expect(view.name).toBe(store.name);
      expect(view.partition).toBe(store.partition);
      expect(await view.get(s('a'))).toBe('A');
      expect(await view.getMany([s('a'), s('b')])).toEqual(['A', undefined]);
      expect((await collect(view.range())).map((e) => e.value)).toEqual(['A']);
      expect(await view.approximateCount()).toBe(1);
      await store.put(s('b'), 'B');
      expect(await view.get(s('b'))).toBe('B');
    });

    it('readStored answers at once: JSON text as its text, other values decoded, undefined when absent; throws once closed', async () => {
      const store = await open();
      await store.write([
        { type: 'put', key: s('j'), value: new JsonText(Buffer.from('{"a":[1,"é"]}')) },
        { type: 'put', key: s('m'), value: { a: [1, 'é'] } },
      ]);
      const view = store.readOnly();
      for (const reader of [store, view]) {
        expect(reader.readStored?.(s('j'))).toEqual(new StoredJsonText('{"a":[1,"é"]}'));
        expect(reader.readStored?.(s('m'))).toEqual({ a: [1, 'é'] });
        expect(reader.readStored?.(s('x'))).toBeUndefined();
      }
      await store.close();
      expect(() => view.readStored?.(s('m'))).toThrow();
    });

    it('keeps data and checkpoints across a reopen (persistent stores)', async (context) => {
      const first = await open();
      if (subject?.reopen === undefined) {
        context.skip();
        return;
      }
      const tp = 'src:3' as TopicPartitionId;
      await first.write(
        [
          { type: 'put', key: s('a'), value: { v: 1 } },
          { type: 'put', key: s('b'), value: [2] },
        ],
        new Map([[tp, 77]]),
      );
      await first.delete(s('b'));
      const second = await subject.reopen();
      expect(await second.get(s('a'))).toEqual({ v: 1 });
      expect(await second.get(s('b'))).toBeUndefined();
      expect(second.checkpoints().get(tp)).toBe(77);
    });
  });
}
