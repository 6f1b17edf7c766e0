/**
 * The window routes over the QuerySource seam (the fake source holds windows in the window store layout):
 * one key's windows (local or forwarded once), every key's windows merged across two real instances and paged,
 * retention clipping, and the refusals (wrong store kind, bad ranges, forwarded scans).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPartition } from '../common/partitioner.js';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

const PARTITIONS = 4;
const LAYOUT = { windowSizeMs: 10, retentionMs: 1_000, segmentIntervalMs: 30 };
const KEYS = ['a', 'b', 'c/d', 'ключ', 'e', 'f', 'g', 'h'];
// Every key has windows at 0, 10, ..., 90 (several segments); the value says which.
const WINDOWS = KEYS.flatMap((key) => Array.from({ length: 10 }, (_, i) => [key, i * 10, { key, n: i }] as const));

interface Instance {
  readonly source: FakeQuerySource;
  readonly server: QueryServer;
  readonly url: string;
}

const started: QueryServer[] = [];
let pair: [Instance, Instance];
let single: QueryServer;

beforeAll(async () => {
  const data = new FakeClusterData();
  data.addStore('clicks', 'windowed', PARTITIONS, LAYOUT);
  data.addStore('counts', 'partitioned', PARTITIONS);
  data.loadWindows('clicks', WINDOWS, 95);
  data.load('counts', [['a', 1]]);
  const ids = ['A', 'B'] as const;
  const instances = await Promise.all(
    ids.map(async (id) => {
      const source = new FakeQuerySource(data, id);
      source.assignRoundRobin(ids);
      const server = createQueryServer({ source, forwardTimeoutMs: 1000 });
      started.push(server);
      return { source, server, url: await server.listen() };
    }),
  );
  for (const instance of instances) for (const [i, id] of ids.entries()) instance.source.urls.set(id, instances[i].url);
  pair = [instances[0], instances[1]];
  single = createQueryServer({ source: new FakeQuerySource(data, 'solo') });
  started.push(single);
  await single.app.ready();
});

afterAll(async () => {
  await Promise.allSettled(started.map((server) => server.close()));
});

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

interface KeyWindows {
  key: string;
  windows: { start: number; end: number; value: unknown }[];
  nextFrom: number | null;
}
interface WindowPage {
  entries: { key: string; start: number; end: number; value: unknown }[];
  nextCursor: string | null;
}

describe('GET /stores/:store/keys/:key/windows', () => {
  it('answers every key from both instances (local or forwarded), with start and end, by ascending start', async () => {
    for (const { url } of pair) {
      for (const key of KEYS) {
        const res = await getJson<KeyWindows>(`${url}/stores/clicks/keys/${encodeURIComponent(key)}/windows?from=20&to=40`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          key,
          windows: [20, 30, 40].map((start) => ({ start, end: start + 10, value: { key, n: start / 10 } })),
          nextFrom: null,
        });
      }
    }
  });

  it('pages with limit and nextFrom, and answers an empty list for a key without windows', async () => {
    const url = pair[0].url;
    const first = await getJson<KeyWindows>(`${url}/stores/clicks/keys/a/windows?limit=4`);
    expect(first.body.windows.map((w) => w.start)).toEqual([0, 10, 20, 30]);
    expect(first.body.nextFrom).toBe(40);
    const rest = await getJson<KeyWindows>(`${url}/stores/clicks/keys/a/windows?from=${first.body.nextFrom}&limit=100`);
    expect(rest.body.windows.map((w) => w.start)).toEqual([40, 50, 60, 70, 80, 90]);
    expect(rest.body.nextFrom).toBeNull();
    expect((await getJson<KeyWindows>(`${url}/stores/clicks/keys/zz/windows`)).body).toEqual({ key: 'zz', windows: [], nextFrom: null });
  });
});

describe('GET /stores/:store/windows', () => {
  it('merges both instances; cursor pages cover every window in range exactly once, in storage order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 90 }),
        fc.integer({ min: 0, max: 90 }),
        fc.constantFrom(0, 1),
        async (limit, a, b, which) => {
          const [from, to] = a <= b ? [a, b] : [b, a];
          const seen: string[] = [];
          let cursor: string | null = null;
          do {
            const query = new URLSearchParams({ from: String(from), to: String(to), limit: String(limit) });
            if (cursor !== null) query.set('cursor', cursor);
            const page: { status: number; body: WindowPage } = await getJson<WindowPage>(
              `${pair[which].url}/stores/clicks/windows?${query}`,
            );
            expect(page.status).toBe(200);
            expect(page.body.entries.length).toBeLessThanOrEqual(limit);
            for (const e of page.body.entries) {
              expect(e.end).toBe(e.start + 10);
              expect(e.value).toEqual({ key: e.key, n: e.start / 10 });
              seen.push(`${e.key}@${e.start}`);
            }
            cursor = page.body.nextCursor;
          } while (cursor !== null);
          const expected = WINDOWS.filter(([, start]) => start >= from && start <= to);
          // Storage order: segment (30 ms), then key bytes, then start.
          const order = [...expected].sort(
            ([k1, s1], [k2, s2]) =>
              Math.floor(s1 / 30) - Math.floor(s2 / 30) || Buffer.compare(Buffer.from(k1), Buffer.from(k2)) || s1 - s2,
          );
          expect(seen).toEqual(order.map(([key, start]) => `${key}@${start}`));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('hides windows past retention at the stream time stored with them', async () => {
    const data = new FakeClusterData();
    data.addStore('short', 'windowed', 2, { windowSizeMs: 10, retentionMs: 25, segmentIntervalMs: 12 });
    data.loadWindows(
      'short',
      [
        ['a', 0, 1],
        ['a', 10, 2],
        ['a', 20, 3],
        ['b', 30, 4],
      ],
      40,
    );
    const server = createQueryServer({ source: new FakeQuerySource(data, 'x') });
    started.push(server);
    const page = await server.app.inject({ method: 'GET', url: '/stores/short/windows' });
    // Stream time 40, retention 25: windows starting after 15 remain.
    expect(page.json<WindowPage>().entries.map((e) => `${e.key}@${e.start}`)).toEqual(['a@20', 'b@30']);
    const key = await server.app.inject({ method: 'GET', url: '/stores/short/keys/a/windows' });
    expect(key.json<KeyWindows>().windows.map((w) => w.start)).toEqual([20]);
  });

  it('answers 503 with Retry-After while a partition is unavailable, never a partial page', async () => {
    const [a] = pair;
    const owners = a.source.owners.get('clicks') as (string | { unavailable: string })[];
    const previous = owners[1];
    owners[1] = { unavailable: 'restoring' };
    try {
      const res = await fetch(`${a.url}/stores/clicks/windows`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      const key = KEYS.find((k) => defaultPartition(Buffer.from(k), PARTITIONS) === 1) as string;
      expect((await fetch(`${a.url}/stores/clicks/keys/${encodeURIComponent(key)}/windows`)).status).toBe(503);
    } finally {
      owners[1] = previous;
    }
  });
});

describe('window routes refuse what cannot succeed', () => {
  const get = (url: string, headers: Record<string, string> = {}) => single.app.inject({ method: 'GET', url, headers });
  const code = (body: string) => (JSON.parse(body) as { error: { code: string; message: string } }).error;

  it('a window store on the key routes, and a key-value store on the window routes, is a 400 naming the right route', async () => {
    const lookup = await get('/stores/clicks/keys/a');
    expect(lookup.statusCode).toBe(400);
    expect(code(lookup.body).code).toBe('TRIBUTARY_QUERY_STORE_KIND_MISMATCH');
    expect(code(lookup.body).message).toContain('GET /stores/clicks/keys/:key/windows?from=&to=');
    expect((await get('/stores/clicks/entries')).statusCode).toBe(400);
    const windows = await get('/stores/counts/windows');
    expect(windows.statusCode).toBe(400);
    expect(code(windows.body).message).toContain('is not a window store');
    expect((await get('/stores/counts/keys/a/windows')).statusCode).toBe(400);
    expect((await get('/stores/nope/windows')).statusCode).toBe(404);
  });

  it('bad ranges, limits and cursors are 400s; a forwarded scan is refused', async () => {
    expect(code((await get('/stores/clicks/windows?from=50&to=10')).body).code).toBe('TRIBUTARY_QUERY_INVALID_PARAMETER');
    expect((await get('/stores/clicks/windows?from=-1')).statusCode).toBe(400);
    expect((await get('/stores/clicks/windows?limit=0')).statusCode).toBe(400);
    expect((await get('/stores/clicks/keys/a/windows?to=abc')).statusCode).toBe(400);
    expect(code((await get('/stores/clicks/windows?cursor=AQE')).body).code).toBe('TRIBUTARY_QUERY_INVALID_CURSOR');
    const forwarded = await get('/stores/clicks/windows', { 'x-tributary-forwarded': '1' });
    expect(code(forwarded.body).code).toBe('TRIBUTARY_QUERY_FORWARDED_SCAN');
  });

  it('GET /stores lists the window store with its window size', async () => {
    const res = await get('/stores');
    const stores = res.json<{ stores: { name: string; kind: string; windowSizeMs?: number }[] }>().stores;
    expect(stores.find((s) => s.name === 'clicks')).toMatchObject({ kind: 'windowed', windowSizeMs: 10 });
    expect(stores.find((s) => s.name === 'counts')?.windowSizeMs).toBeUndefined();
  });
});
