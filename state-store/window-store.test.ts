/**
 * The window store contract, run over both key-value stores a window store can live in (LevelDB and memory):
 * one-key and all-keys time-range reads, paging by position, retention by whole segments, clipping by the stream
 * time stored with the data, and persistence across a reopen.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopicPartitionId } from '../common/records.js';
import { LevelKeyValueStore } from './level-store.js';
import { MemoryKeyValueStore } from './memory-store.js';
import type { KeyValueStore, StoreWrite } from './types.js';
import type { WindowLayout } from './window-layout.js';
import { WindowStoreReader, expireWindows, streamTimeWrite, windowWrite, type WindowEntry } from './window-store.js';

interface Subject {
  readonly store: KeyValueStore<unknown>;
  readonly reopen?: () => Promise<KeyValueStore<unknown>>;
  readonly cleanup: () => Promise<void>;
}

const factories: Record<string, () => Promise<Subject>> = {
  LevelKeyValueStore: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-window-'));
    const location = join(dir, 'db');
    let current: KeyValueStore<unknown> = await LevelKeyValueStore.open({ location, name: 'windows', partition: 0 });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await LevelKeyValueStore.open({ location, name: 'windows', partition: 0 });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  MemoryKeyValueStore: async () => {
    const store = new MemoryKeyValueStore<unknown>('windows', 0);
    return { store, cleanup: () => store.close() };
  },
};

// Tumbling windows of 10 ms kept for 30 ms, in segments of 15 ms.
const layout: WindowLayout = { windowSizeMs: 10, retentionMs: 30, segmentIntervalMs: 15 };
const s = (text: string): Buffer => Buffer.from(text, 'utf8');

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const plain = (entries: readonly WindowEntry<unknown>[]) =>
  entries.map((e) => ({ key: e.key.toString('latin1'), start: e.start, end: e.end, value: e.value }));

for (const [name, factory] of Object.entries(factories)) {
  describe(`window store over ${name}`, () => {
    let subject: Subject | undefined;
    afterEach(async () => {
      await subject?.cleanup();
      subject = undefined;
    });
    async function open(): Promise<KeyValueStore<unknown>> {
      subject = await factory();
      return subject.store;
    }
    const put = (key: string, start: number, value: unknown): StoreWrite<unknown> => windowWrite(s(key), start, value, layout);

    it('fetches one key by window start range, across segments, without other keys leaking in', async () => {
      const store = await open();
      // 'a', 'a\0' and 'ab' share byte prefixes: the escaped layout keeps their windows apart.
      await store.write([
        put('a', 0, 1),
        put('a', 10, 2),
        put('a', 20, 3),
        put('a', 30, 4),
        put('a\0', 10, 'nul'),
        put('ab', 10, 'ab'),
        put('b', 10, 'b'),
      ]);
      const reader = new WindowStoreReader(store.readOnly(), layout);
      expect(plain(await collect(reader.fetch(s('a'), 10, 30)))).toEqual([
        { key: 'a', start: 10, end: 20, value: 2 },
        { key: 'a', start: 20, end: 30, value: 3 },
        { key: 'a', start: 30, end: 40, value: 4 },
      ]);
      expect(plain(await collect(reader.fetch(s('a\0'))))).toEqual([{ key: 'a\0', start: 10, end: 20, value: 'nul' }]);
      expect(plain(await collect(reader.fetch(s('a'), 11, 19)))).toEqual([]);
      expect(plain(await collect(reader.fetch(s('c'))))).toEqual([]);
    });

    it('scans all keys in (segment, key, start) order, filtered by start, and resumes after a position', async () => {
      const store = await open();
      await store.write([put('b', 0, 'b0'), put('a', 10, 'a10'), put('a', 0, 'a0'), put('b', 20, 'b20'), put('a', 30, 'a30')]);
      const reader = new WindowStoreReader(store.readOnly(), layout);
      const all = await collect(reader.fetchAll());
      // Segments of 15 ms: {0, 10} | {20} | {30}.
      expect(all.map((e) => `${e.key.toString()}@${e.start}`)).toEqual(['a@0', 'a@10', 'b@0', 'b@20', 'a@30']);
      expect((await collect(reader.fetchAll({ fromStart: 10, toStart: 20 }))).map((e) => `${e.key.toString()}@${e.start}`)).toEqual([
        'a@10',
        'b@20',
      ]);
      const rest = await collect(reader.fetchAll({ after: all[2].position }));
      expect(rest.map((e) => `${e.key.toString()}@${e.start}`)).toEqual(['b@20', 'a@30']);
      expect(await collect(reader.fetchAll({ fromStart: 31, toStart: 30 }))).toEqual([]);
    });

    it('hides windows past retention, then deletes whole expired segments in one range delete', async () => {
      const store = await open();
      await store.write([put('a', 0, 1), put('a', 10, 2), put('a', 20, 3), put('b', 40, 4), streamTimeWrite(45)]);
      const reader = new WindowStoreReader(store.readOnly(), layout);
      expect(await reader.streamTime()).toBe(45);
      // Stream time 45, retention 30: windows starting after 15 live.
      expect((await collect(reader.fetch(s('a')))).map((e) => e.start)).toEqual([20]);
      expect((await collect(reader.fetchAll())).map((e) => e.start)).toEqual([20, 40]);
      // Before expiry the raw store still holds the segment-0 windows; expiry removes segment 0 ([0, 15)) only.
      expect(await store.approximateCount()).toBe(5);
      await expireWindows(store, layout, 45);
      expect(await store.approximateCount()).toBe(3); // a@20, b@40 and the stream time
      await expireWindows(store, layout, 45); // idempotent
      expect(await store.approximateCount()).toBe(3);
      expect((await collect(reader.fetchAll())).map((e) => e.start)).toEqual([20, 40]);
    });

    it('keeps windows, stream time and checkpoints across a reopen', async (context) => {
      const first = await open();
      if (subject?.reopen === undefined) {
        context.skip();
        return;
      }
      const tp = 'app-counts-changelog:0' as TopicPartitionId;
      await first.write([put('k', 30, { total: 3 }), streamTimeWrite(35)], new Map([[tp, 9]]));
      const second = await subject.reopen();
      const reader = new WindowStoreReader(second.readOnly(), layout);
      expect(await reader.streamTime()).toBe(35);
      expect(plain(await collect(reader.fetch(s('k'))))).toEqual([{ key: 'k', start: 30, end: 40, value: { total: 3 } }]);
      expect(second.checkpoints().get(tp)).toBe(9);
    });
  });
}
