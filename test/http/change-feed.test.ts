/**
 * The change feed on the real broker, two in-process instances A and B sharing a 4-partition `customers` table and
 * a global `regions` table:
 * 1. a client subscribed through A receives every change of the partitioned store (partitions owned by A and B,
 *    merged) exactly once and in per-partition order; `app.changes()` on B sees the same changes; key/prefix
 *    filters; a global store's feed;
 * 2. a client that disconnects mid-stream and reconnects with Last-Event-ID misses nothing and gets nothing twice;
 *    a position older than the replay buffer is refused with 410;
 * 3. a third instance joins while a client follows the feed through A and changes are produced: the rebalance ends
 *    the stream with a retryable reason, the client resumes from its last id (503s while partitions move), and gets
 *    every change exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { TributaryApp } from '../../processor/runtime/app.js';
import { InProcessApps } from '../dlq/in-process-app.js';
import { createTestTopic, produce, readTopic, waitUntil, type TestRecord } from '../helpers/kafka.js';
import { SseSubscription } from './sse-client.js';

const PARTITIONS = 4;

function topology(customers: string, regions: string, applicationId: string) {
  const b = new StreamsBuilder();
  b.table(customers, { key: Serdes.string(), value: Serdes.json<{ v: number }>(), store: 'customers' });
  b.globalTable(regions, { key: Serdes.string(), value: Serdes.json<{ label: string }>(), store: 'regions' });
  return b.build({ applicationId });
}

const updates = (from: number, count: number): TestRecord[] =>
  Array.from({ length: count }, (_, i) => ({ key: `c-${(from + i) % 37}`, value: JSON.stringify({ v: from + i }) }));

describe('GET /stores/:store/changes on two instances', () => {
  const apps = new InProcessApps();
  let a: TributaryApp;
  let b: TributaryApp;
  let customers: string;
  let regions: string;
  const open: SseSubscription[] = [];
  const subscribe = (app: TributaryApp, path: string, lastEventId?: string): SseSubscription => {
    const s = new SseSubscription(app.url + path, { lastEventId });
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    customers = await createTestTopic('feed-customers', PARTITIONS);
    regions = await createTestTopic('feed-regions', 2);
    await produce(customers, updates(0, 40)); // before any subscription: not replayable later
    const applicationId = `feed-${Date.now().toString(36)}`;
    const options = { http: { port: 0 }, changeFeed: { replayEvents: 500, heartbeatMs: 300 } };
    a = await apps.start(topology(customers, regions, applicationId), options);
    b = await apps.start(topology(customers, regions, applicationId), options);
    await waitUntil(
      async () => {
        const ready = await Promise.all([a, b].map((app) => fetch(`${app.url}/ready`).then((r) => r.status)));
        const held = [a, b].map((app) => app.querySource().store('customers')?.localPartitions().length ?? 0);
        return ready.every((s) => s === 200) && held.every((n) => n > 0) && held[0] + held[1] === PARTITIONS;
      },
      { timeoutMs: 60_000, description: 'two ready instances splitting the partitions' },
    );
  });

  afterAll(async () => {
    for (const s of open) s.close();
    await apps.cleanup();
  });

  it('merges the partitions of A and B: every change exactly once, in per-partition order; app.changes() agrees', async () => {
    const all = subscribe(a, '/stores/customers/changes');
    const one = subscribe(b, '/stores/customers/changes?key=c-5');
    const prefixed = subscribe(a, '/stores/customers/changes?prefix=c-1');
    await waitUntil(() => [all, one, prefixed].every((s) => s.events.some((e) => e.event === 'subscribed')), {
      description: 'three subscriptions started',
    });
    const inProcess: { key: unknown; partition: number; offset: number }[] = [];
    const iterating = (async () => {
      for await (const message of b.changes('customers')) {
        if (message.type === 'end') return;
        inProcess.push(message.event);
        if (inProcess.length === 400) return;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const produced = updates(1000, 400);
    await produce(customers, produced);
    await waitUntil(() => all.changes().length >= 400 && inProcess.length >= 400, { timeoutMs: 30_000, description: '400 changes' });
    await iterating;

    const changes = all.changes();
    expect(changes).toHaveLength(400);
    const positions = changes.map((c) => `${c.partition}@${c.offset}`);
    expect(new Set(positions).size).toBe(400);
    const byPartition = new Map<number, number[]>();
    for (const c of changes) byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), c.offset]);
    expect(byPartition.size).toBe(PARTITIONS); // partitions of both instances
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(changes.map((c) => (c.value as { v: number }).v).sort((x, y) => x - y)).toEqual(
      produced.map((r) => JSON.parse(r.value as string).v),
    );
    expect(new Set(inProcess.map((c) => `${c.partition}@${c.offset}`))).toEqual(new Set(positions));

    // The last id is a position covering every partition.
    expect(all.lastEventId?.split(',').map((p) => Number(p.split(':')[0]))).toEqual([0, 1, 2, 3]);
    await waitUntil(() => one.changes().length === produced.filter((r) => r.key === 'c-5').length, { description: 'key filter' });
    expect(one.changes().every((c) => c.key === 'c-5')).toBe(true);
    await waitUntil(() => prefixed.changes().length === produced.filter((r) => String(r.key).startsWith('c-1')).length, {
      description: 'prefix filter',
    });
  });

  it('a global store has a feed on every instance', async () => {
    const feed = subscribe(b, '/stores/regions/changes');
    await waitUntil(() => feed.events.some((e) => e.event === 'subscribed'), { description: 'subscribed' });
    await produce(regions, [
      { key: 'eu', value: JSON.stringify({ label: 'Europe' }) },
      { key: 'eu', value: null },
    ]);
    await waitUntil(() => feed.changes().length === 2, { description: 'two region changes' });
    expect(feed.changes().map((c) => [c.type, c.key, c.value])).toEqual([
      ['upsert', 'eu', { label: 'Europe' }],
      ['delete', 'eu', null],
    ]);
  });

  it('a client that reconnects with Last-Event-ID misses nothing and gets nothing twice; older positions get 410', async () => {
    const first = subscribe(a, '/stores/customers/changes');
    await waitUntil(() => first.events.some((e) => e.event === 'subscribed'), { description: 'subscribed' });
    const start = first.lastEventId as string;
    const ends = new Map((await readTopic(customers)).map((r) => [r.partition, r.offset + 1]));
    const producing = produce(customers, updates(5000, 300));
    await waitUntil(() => first.changes().length >= 60, { description: 'some changes before the disconnect' });
    first.close();
    await producing;
    const received = first.events.filter((e) => e.event === 'change');
    const resumeAt = [...first.events].reverse().find((e) => e.id !== undefined)?.id as string;
    const again = subscribe(a, '/stores/customers/changes', resumeAt);
    const total = 300;
    await waitUntil(() => received.length + again.changes().length >= total, {
      timeoutMs: 30_000,
      description: 'the rest after reconnecting',
    });
    const seen = [...received.map((e) => JSON.parse(e.data)), ...again.changes()].map((c) => `${c.partition}@${c.offset}`);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    // Exactly the records produced after the first subscription started.
    const startPosition = new Map(start.split(',').map((p) => p.split(':').map(Number) as [number, number]));
    const expected = (await readTopic(customers))
      .filter((r) => r.offset >= (startPosition.get(r.partition) ?? 0))
      .map((r) => `${r.partition}@${r.offset}`);
    expect(new Set(seen)).toEqual(new Set(expected));
    expect(ends.size).toBeGreaterThan(0);

    const tooOld = subscribe(a, '/stores/customers/changes', '0:0,1:0,2:0,3:0');
    await tooOld.done;
    expect(tooOld.status).toBe(410);
    expect(tooOld.events[0].data).toContain('TRIBUTARY_QUERY_CHANGES_POSITION_TOO_OLD');
  });

  it('a rebalance ends the stream with a retryable reason; resuming from the last id misses nothing', async () => {
    const received: string[] = [];
    let current = subscribe(a, '/stores/customers/changes');
    await waitUntil(() => current.events.some((e) => e.event === 'subscribed'), { description: 'subscribed' });
    const start = new Map((current.lastEventId as string).split(',').map((p) => p.split(':').map(Number) as [number, number]));
    let reconnects = 0;
    let rebalanceEnds = 0;
    let lastId = current.lastEventId as string;
    const follow = (): void => {
      if (current.ended() === undefined && (current.status === 0 || current.status === 200)) return;
      if (current.ended()?.data.includes('TRIBUTARY_FEED_REBALANCE')) rebalanceEnds++;
      for (const c of current.changes()) received.push(`${c.partition}@${c.offset}`);
      lastId = current.lastEventId ?? lastId;
      current.close();
      current = subscribe(a, '/stores/customers/changes', lastId);
      reconnects++;
    };
    const timer = setInterval(follow, 100);
    try {
      await produce(customers, updates(20_000, 150));
      const c = await apps.start(topology(customers, regions, a.topology.applicationId), {
        http: { port: 0 },
        changeFeed: { replayEvents: 500, heartbeatMs: 300 },
      });
      await produce(customers, updates(30_000, 150));
      await waitUntil(
        async () =>
          (await fetch(`${c.url}/ready`)).status === 200 && (c.querySource().store('customers')?.localPartitions().length ?? 0) > 0,
        { timeoutMs: 60_000, description: 'the third instance owns partitions' },
      );
      await produce(customers, updates(40_000, 150));
      const expected = (await readTopic(customers))
        .filter((r) => r.offset >= (start.get(r.partition) ?? 0))
        .map((r) => `${r.partition}@${r.offset}`);
      await waitUntil(() => received.length + current.changes().length >= expected.length, {
        timeoutMs: 60_000,
        description: `${expected.length} changes across the rebalance`,
      }).catch((error: unknown) => {
        const state = {
          received: received.length,
          current: current.changes().length,
          status: current.status,
          reconnects,
          lastId,
          last: current.events.slice(-2),
        };
        throw new Error(`${String(error)} ${JSON.stringify(state)}`);
      });
      const seen = [...received, ...current.changes().map((ch) => `${ch.partition}@${ch.offset}`)];
      expect(seen).toHaveLength(expected.length);
      expect(new Set(seen)).toEqual(new Set(expected));
      expect(rebalanceEnds).toBeGreaterThan(0);
      console.log(`[change feed] across a rebalance: ${seen.length} changes exactly once, ${reconnects} reconnects`);
    } finally {
      clearInterval(timer);
    }
  });
});
