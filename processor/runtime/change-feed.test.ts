import { describe, expect, it } from 'vitest';
import { ChangeFeedPositionTooOldError, QueryUnavailableError } from '../../errors.js';
import { ChangeQueue, type ChangeItem } from '../../http-query/change-feed.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { ConsumedRecord } from '../../common/records.js';
import { ChangeFeed, type FeedTask } from './change-feed.js';

const topology = (() => {
  const b = new StreamsBuilder();
  b.table('customers', { key: Serdes.string(), value: Serdes.json<{ v: number }>(), store: 'customers' });
  return b.build({ applicationId: 'feed' });
})();

const record = (partition: number, offset: number, key: string, value: unknown): ConsumedRecord => ({
  topic: 'customers',
  partition,
  offset,
  timestamp: 1000 + offset,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(JSON.stringify(value)),
  headers: {},
});

function setup(replayEvents = 100) {
  const feed = new ChangeFeed({
    topology,
    options: { replayEvents, queueLimit: 50, maxSubscribers: 10, heartbeatMs: 1000 },
    scanTargets: () => [],
    partitionCounts: () => new Map([['customers', 2]]),
    globalStore: () => undefined,
  });
  const store = new MemoryKeyValueStore<unknown>('customers', 0);
  let restoring = true;
  const task: FeedTask = {
    partition: 0,
    subtopology: topology.subtopologies[0],
    stores: new Map([['customers', store]]),
    restoration: {
      get restoring() {
        return restoring;
      },
    },
  };
  feed.taskOpened(task);
  const subscribe = (from?: number, filter = {}) => {
    const sink = new ChangeQueue(50);
    feed.subscribeLocal('customers', {
      partitions: [0],
      from: from === undefined ? undefined : new Map([[0, from]]),
      filter,
      sink,
    });
    return sink;
  };
  return { feed, store, task, subscribe, ready: () => (restoring = false) };
}

async function drain(queue: ChangeQueue): Promise<ChangeItem[]> {
  return queue.size === 0 ? [] : queue.take();
}

describe('ChangeFeed', () => {
  it('publishes committed table records only, in offset order, starting at the store checkpoint', async () => {
    const { feed, store, subscribe, ready } = setup();
    await store.write([], new Map([['customers:0', 10]]));
    expect(() => subscribe()).toThrow(QueryUnavailableError); // restoring
    ready();
    const sink = subscribe();
    feed.consumed('customers:0', [record(0, 10, 'a', { v: 1 }), record(0, 11, 'b', { v: 2 }), record(0, 12, 'a', null)]);
    expect(await drain(sink)).toEqual([{ kind: 'start', position: new Map([[0, 10]]) }]);
    feed.committed(new Map([['customers:0', 12]]));
    const items = await drain(sink);
    expect(items.map((i) => (i.kind === 'change' ? [i.event.type, i.event.key, i.event.value, i.event.offset] : i.kind))).toEqual([
      ['upsert', 'a', { v: 1 }, 10],
      ['upsert', 'b', { v: 2 }, 11],
      'advance',
    ]);
    feed.committed(new Map([['customers:0', 13]]));
    expect((await drain(sink)).flatMap((i) => (i.kind === 'change' ? [[i.event.type, i.event.value]] : []))).toEqual([['delete', null]]);
  });

  it('replays from a position inside the ring, refuses one older than it, and skips what a subscriber ahead already saw', async () => {
    const { feed, subscribe, ready } = setup(3);
    ready();
    subscribe(); // activates the feed at offset 0
    feed.consumed(
      'customers:0',
      [0, 1, 2, 3, 4].map((o) => record(0, o, `k${o}`, { v: o })),
    );
    feed.committed(new Map([['customers:0', 5]]));
    // The ring holds offsets 2..4.
    expect(() => subscribe(1)).toThrow(ChangeFeedPositionTooOldError);
    const resumed = await drain(subscribe(3));
    expect(resumed.flatMap((i) => (i.kind === 'change' ? [i.event.offset] : []))).toEqual([3, 4]);
    const ahead = subscribe(7);
    feed.consumed(
      'customers:0',
      [5, 6, 7, 8].map((o) => record(0, o, `k${o}`, { v: o })),
    );
    feed.committed(new Map([['customers:0', 9]]));
    expect((await drain(ahead)).flatMap((i) => (i.kind === 'change' ? [i.event.offset] : []))).toEqual([7, 8]);
  });

  it('filters by key and prefix (filtered changes move the position only); a closed task ends its subscribers', async () => {
    const { feed, task, subscribe, ready } = setup();
    ready();
    const byKey = subscribe(undefined, { key: Buffer.from('b1') });
    const byPrefix = subscribe(undefined, { prefix: 'a' });
    feed.consumed('customers:0', [record(0, 0, 'a1', { v: 0 }), record(0, 1, 'b1', { v: 1 }), record(0, 2, 'a2', { v: 2 })]);
    feed.committed(new Map([['customers:0', 3]]));
    expect((await drain(byKey)).flatMap((i) => (i.kind === 'change' ? [i.event.key] : []))).toEqual(['b1']);
    expect((await drain(byPrefix)).flatMap((i) => (i.kind === 'change' ? [i.event.key] : []))).toEqual(['a1', 'a2']);
    feed.taskClosed(task);
    const [end] = await byKey.take();
    expect(end).toMatchObject({ kind: 'end', end: { code: 'TRIBUTARY_FEED_REBALANCE', retryable: true } });
  });

  it('a task closed and reopened here (an eager rebalance) keeps its replay ring when its store did not move on', async () => {
    const { feed, store, task, subscribe, ready } = setup();
    ready();
    subscribe();
    feed.consumed(
      'customers:0',
      [0, 1, 2].map((o) => record(0, o, `k${o}`, { v: o })),
    );
    feed.committed(new Map([['customers:0', 3]]));
    await store.write([], new Map([['customers:0', 3]]));
    feed.taskClosed(task);
    feed.taskOpened(task);
    expect((await drain(subscribe(1))).flatMap((i) => (i.kind === 'change' ? [i.event.offset] : []))).toEqual([1, 2]);
    // Reopened after another owner moved the store on: the ring is gone, older positions cannot be resumed.
    feed.taskClosed(task);
    await store.write([], new Map([['customers:0', 9]]));
    feed.taskOpened(task);
    expect(() => subscribe(1)).toThrow(ChangeFeedPositionTooOldError);
    expect((await drain(subscribe(9)))[0]).toEqual({ kind: 'start', position: new Map([[0, 9]]) });
  });

  it('a subscriber blocked on its socket with queueLimit items waiting is dropped with a reason, its queue freed', async () => {
    const { feed, subscribe, ready } = setup();
    ready();
    const slow = subscribe();
    slow.consumerBlocked(true);
    feed.consumed(
      'customers:0',
      Array.from({ length: 80 }, (_, o) => record(0, o, `k${o}`, { v: o })),
    );
    feed.committed(new Map([['customers:0', 80]]));
    expect(slow.size).toBe(1);
    // Not blocked, a burst of up to ten times the limit waits for the writer.
    const fast = subscribe(80);
    feed.consumed(
      'customers:0',
      Array.from({ length: 300 }, (_, o) => record(0, 80 + o, `k${o}`, { v: o })),
    );
    feed.committed(new Map([['customers:0', 380]]));
    expect((await fast.take()).filter((i) => i.kind === 'change')).toHaveLength(300);
    expect(await slow.take()).toEqual([
      { kind: 'end', end: expect.objectContaining({ code: 'TRIBUTARY_FEED_SLOW_CONSUMER', retryable: true }) },
    ]);
  });
});
