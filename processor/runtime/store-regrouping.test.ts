import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { defaultPartition } from '../../common/partitioner.js';
import { topicPartitionId, type ConsumedRecord } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { TableRecordDecoder } from '../engine/table-decoder.js';
import { regroupMarker } from './key-regrouping.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import {
  decodeCounts,
  encodeCounts,
  historyOf,
  mergePartitionCounts,
  PartitionHistoryTopic,
  partitionCountsTopic,
  type PartitionCountHistory,
} from './partition-history.js';
import { dropForeignKeys, ownKeysDecoder, prepareRegroup } from './store-regrouping.js';

const key = (i: number) => Buffer.from(`k${i}`);
const plain: TableRecordDecoder = {
  decode: (record) => (record.value === null ? null : { type: 'put', key: record.key as Buffer, value: record.value.toString() }),
  onDecodeError: () => 'fail',
};
const record = (k: Buffer, value: string): ConsumedRecord => ({
  topic: 't',
  partition: 0,
  offset: 0,
  timestamp: 0,
  key: k,
  value: Buffer.from(value),
  headers: {},
});

describe('store regrouping', () => {
  it('drops every key that no longer hashes to the task, in bounded batches, and keeps the others', async () => {
    const store = new MemoryKeyValueStore<unknown>('s', 1);
    const all = Array.from({ length: 250 }, (_, i) => key(i)).filter((k) => defaultPartition(k, 3) === 1);
    await store.write(all.map((k) => ({ type: 'put', key: k, value: 1 })));
    const dropped = await dropForeignKeys(store, 1, 6, 7);
    const left: string[] = [];
    for await (const entry of store.range()) left.push(entry.key.toString());
    const kept = all.filter((k) => defaultPartition(k, 6) === 1).map(String);
    expect(left.sort()).toEqual(kept.sort());
    expect(dropped).toBe(all.length - kept.length);
    expect(dropped).toBeGreaterThan(0);
  });

  it('a decoder for its own keys skips the records of keys that moved away', () => {
    const decoder = ownKeysDecoder(plain, 2, 6);
    for (let i = 0; i < 50; i++) {
      const write = decoder.decode(record(key(i), 'v'));
      expect(write === null).toBe(defaultPartition(key(i), 6) !== 2);
    }
  });

  it('plans the earlier partitions of a new task, clears what it held, and marks the store once they are read', async () => {
    const stores = new Map([['customers', new MemoryKeyValueStore<unknown>('customers', 7)]]);
    // A standby's records of the own partition: applied under the older ones, so the store is rebuilt.
    await stores.get('customers')?.write([{ type: 'put', key: key(1), value: 'x' }], new Map([[topicPartitionId('customers', 7), 3]]));
    const logs = new Map([...Array(12).keys()].map((p) => [topicPartitionId('customers', p), { start: 0, end: 10 }] as const));
    const pending = await prepareRegroup(stores, [{ name: 'customers', topic: 'customers', history: [6, 12], regroupable: true }], {
      partition: 7,
      logs,
      logger: silentLogger,
      clear: () => Promise.resolve(new MemoryKeyValueStore<unknown>('customers', 7)),
      decoder: () => ({ decoder: plain }),
    });
    const store = stores.get('customers') as MemoryKeyValueStore<unknown>;
    expect(store.checkpoints().size).toBe(0);
    expect(pending?.targets.map((t) => [...t.partitions.keys()])).toEqual([['customers:1']]);
    expect(pending?.targets[0].store).toBe(store);
    await pending?.finish();
    expect(store.checkpoints().get(regroupMarker('customers', 12))).toBe(12);
    // Marked: nothing more to do at the next opening.
    expect(
      await prepareRegroup(stores, [{ name: 'customers', topic: 'customers', history: [6, 12], regroupable: true }], {
        partition: 7,
        logs,
        logger: silentLogger,
        clear: () => Promise.reject(new Error('not cleared')),
        decoder: () => ({ decoder: plain }),
      }),
    ).toBeUndefined();
  });

  it('an old task of a growth by a multiple only drops keys and is marked at once; one count or a window store: nothing', async () => {
    const store = new MemoryKeyValueStore<unknown>('customers', 1);
    const mine = Array.from({ length: 60 }, (_, i) => key(i)).filter((k) => defaultPartition(k, 3) === 1);
    await store.write(mine.map((k) => ({ type: 'put', key: k, value: 1 })));
    const stores = new Map([['customers', store]]);
    const context = {
      partition: 1,
      logs: new Map(),
      logger: silentLogger,
      clear: () => Promise.reject(new Error('not cleared')),
      decoder: () => ({ decoder: plain }),
    };
    expect(await prepareRegroup(stores, [{ name: 'customers', topic: 'c', history: [3], regroupable: true }], context)).toBeUndefined();
    expect(await prepareRegroup(stores, [{ name: 'customers', topic: 'c', history: [3, 6], regroupable: false }], context)).toBeUndefined();
    expect(store.checkpoints().size).toBe(0);
    expect(await prepareRegroup(stores, [{ name: 'customers', topic: 'c', history: [3, 6], regroupable: true }], context)).toBeUndefined();
    expect(store.checkpoints().get(regroupMarker('c', 6))).toBe(6);
    for await (const entry of store.range()) expect(defaultPartition(entry.key, 6)).toBe(1);
  });
});

describe('partition-count history', () => {
  it('merges counts as a set (idempotent, any writer), encodes and decodes them, and ends a history with the current count', () => {
    const history: PartitionCountHistory = new Map();
    expect(
      mergePartitionCounts(
        history,
        new Map([
          ['orders', 6],
          ['customers', 6],
        ]),
      ),
    ).toEqual(['customers', 'orders']);
    expect(mergePartitionCounts(history, new Map([['orders', 6]]))).toEqual([]);
    expect(mergePartitionCounts(history, new Map([['orders', 12]]))).toEqual(['orders']);
    expect(history.get('orders')).toEqual([6, 12]);
    expect(decodeCounts(encodeCounts([6, 12]))).toEqual([6, 12]);
    expect(decodeCounts(Buffer.from('{"counts":[12,6,6]}'))).toEqual([6, 12]);
    expect(decodeCounts(Buffer.from('nonsense'))).toBeUndefined();
    expect(decodeCounts(Buffer.from('{"counts":[0]}'))).toBeUndefined();
    expect(decodeCounts(null)).toBeUndefined();
    expect(historyOf(history, 'orders', 24)).toEqual([6, 12, 24]);
    expect(historyOf(history, 'unknown', 4)).toEqual([4]);
  });

  it('is shared through the compacted topic: an instance started later reads the counts and when each was first seen', async () => {
    const cluster = new FakeCluster();
    const topic = (c: FakeCluster) =>
      new PartitionHistoryTopic({
        applicationId: 'shop',
        admin: c,
        readers: (options) => c.reader(options),
        send: (records) => c.send(records),
        logger: silentLogger,
      });
    const first = topic(cluster);
    await first.load();
    expect(first.history.size).toBe(0);
    await first.record(new Map([['orders', 6]]));
    await first.record(new Map([['orders', 6]]));
    await first.record(new Map([['orders', 12]]));
    expect(cluster.records(partitionCountsTopic('shop'), 0)).toHaveLength(2);
    const later = topic(cluster);
    await later.load();
    expect(later.history.get('orders')).toEqual([6, 12]);
    expect(later.firstSeen('orders', 12)).toBe(first.firstSeen('orders', 12));
    // A count it saw itself first is not written again; a new one is.
    expect(await later.record(new Map([['orders', 12]]))).toEqual([]);
    expect(await later.record(new Map([['orders', 24]]))).toEqual(['orders']);
  });
});
