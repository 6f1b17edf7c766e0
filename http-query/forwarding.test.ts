/** Two real query servers on loopback, each owning half of the partitions, forwarding to each other. */
import fc from 'fast-check';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPartition } from '../common/partitioner.js';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

const PARTITIONS = 6;
const KEYS = Array.from({ length: 120 }, (_, i) => (i % 7 === 0 ? `dir/${i}` : i % 5 === 0 ? `ключ-${i}` : `k${i}`));
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface Instance {
  source: FakeQuerySource;
  server: QueryServer;
  url: string;
}

let data: FakeClusterData;
const started: QueryServer[] = [];

async function startPair(options: { authTokens?: [string, string] } = {}): Promise<[Instance, Instance]> {
  const ids = ['A', 'B'] as const;
  const instances = await Promise.all(
    ids.map(async (id, i) => {
      const source = new FakeQuerySource(data, id);
      source.assignRoundRobin(ids);
      const server = createQueryServer({ source, authToken: options.authTokens?.[i], forwardTimeoutMs: 1000 });
      started.push(server);
      const url = await server.listen();
      return { source, server, url };
    }),
  );
  for (const instance of instances) for (const [i, id] of ids.entries()) instance.source.urls.set(id, instances[i].url);
  return [instances[0], instances[1]];
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

function keyInPartition(partition: number): string {
  const key = KEYS.find((k) => defaultPartition(Buffer.from(k), PARTITIONS) === partition);
  if (key === undefined) throw new Error(`no test key in partition ${partition}`);
  return key;
}

let pair: [Instance, Instance];

beforeAll(async () => {
  data = new FakeClusterData();
  data.addStore('counts', 'partitioned', PARTITIONS);
  data.load(
    'counts',
    KEYS.map((k, i) => [k, i] as const),
  );
  pair = await startPair();
});

afterAll(async () => {
  await Promise.allSettled(started.map((server) => server.close()));
});

describe('two instances', () => {
  it('both answer every key correctly (local or forwarded) and 404 for missing keys', async () => {
    for (const { url } of pair) {
      const answers = await Promise.all(KEYS.map((key) => getJson(`${url}/stores/counts/keys/${encodeURIComponent(key)}`)));
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ key: KEYS[i], value: i });
      });
      const missing = await getJson(`${url}/stores/counts/keys/missing%2Fkey`);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_KEY_NOT_FOUND' } });
    }
  });

  it('scans merge both instances; cursor pages cover the keyspace exactly once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.constantFrom('', 'k', 'k1', 'dir/', 'ключ', 'zzz'),
        fc.constantFrom(0, 1),
        async (limit, reverse, prefix, via) => {
          const expected = KEYS.filter((k) => Buffer.from(k).subarray(0, Buffer.byteLength(prefix)).equals(Buffer.from(prefix))).sort(
            byteOrder,
          );
          if (reverse) expected.reverse();
          const seen: string[] = [];
          let cursor: string | null = null;
          for (let page = 0; page <= KEYS.length; page++) {
            const query = new URLSearchParams({ limit: String(limit), reverse: String(reverse), prefix });
            if (cursor !== null) query.set('cursor', cursor);
            const res = await getJson(`${pair[via].url}/stores/counts/entries?${query}`);
            expect(res.status).toBe(200);
            const body = res.body as { entries: { key: string; value: number }[]; nextCursor: string | null };
            for (const entry of body.entries) expect(entry.value).toBe(KEYS.indexOf(entry.key));
            seen.push(...body.entries.map((e) => e.key));
            cursor = body.nextCursor;
            if (cursor === null) break;
            expect(body.entries.length).toBe(limit);
          }
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('an unavailable partition is 503 + Retry-After from both instances, for keys and scans', async () => {
    const key = keyInPartition(1);
    const owner = pair[1].source.owners.get('counts');
    if (owner === undefined) throw new Error('owners missing');
    // B (which owns partition 1) restores it; A still routes to B.
    owner[1] = { unavailable: 'restoring from changelog' };
    try {
      for (const { url } of pair) {
        const res = await getJson(`${url}/stores/counts/keys/${encodeURIComponent(key)}`);
        expect(res.status).toBe(503);
        expect(res.retryAfter).toBe('2');
        expect(res.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_UNAVAILABLE' } });
        const scan = await getJson(`${url}/stores/counts/entries?limit=1000`);
        expect(scan.status).toBe(503);
        expect(Number(scan.retryAfter)).toBeGreaterThan(0);
        expect(scan.body).toHaveProperty('error.code');
      }
    } finally {
      owner[1] = 'B';
    }
  });

  it('never forwards twice when the instances disagree on the owner', async () => {
    const key = keyInPartition(0); // A owns partition 0
    const ownersA = pair[0].source.owners.get('counts');
    if (ownersA === undefined) throw new Error('owners missing');
    ownersA[0] = 'B'; // A now believes B owns it, B believes A does
    try {
      const viaA = await getJson(`${pair[0].url}/stores/counts/keys/${encodeURIComponent(key)}`);
      expect(viaA.status).toBe(503);
      expect(viaA.retryAfter).toBe('1');
      expect(viaA.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_NOT_LOCAL' } });
      const scan = await getJson(`${pair[0].url}/stores/counts/entries`);
      expect(scan.status).toBe(503);
      expect(scan.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_UNAVAILABLE' } });
      // Not a rebalance symptom: the same request can never succeed, so a 400 without Retry-After.
      const forwardedScan = await getJson(`${pair[1].url}/stores/counts/entries`, { 'x-tributary-forwarded': '1' });
      expect(forwardedScan).toMatchObject({ status: 400, retryAfter: null });
      expect(forwardedScan.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_FORWARDED_SCAN' } });
    } finally {
      ownersA[0] = 'A';
    }
  });

  it('an unreachable owner is 503 JSON, not 500', async () => {
    const deadPort = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        probe.close(() => resolve(port));
      });
    });
    const savedB = pair[0].source.urls.get('B');
    if (savedB === undefined) throw new Error('url missing');
    pair[0].source.urls.set('B', `http://127.0.0.1:${deadPort}`);
    try {
      const res = await getJson(`${pair[0].url}/stores/counts/keys/${encodeURIComponent(keyInPartition(1))}`);
      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('1');
      expect(res.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE' } });
      const scan = await getJson(`${pair[0].url}/stores/counts/entries`);
      expect(scan.status).toBe(503);
      expect(scan.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE' } });
    } finally {
      pair[0].source.urls.set('B', savedB);
    }
  });
});

describe('a hanging owner', () => {
  it('times out into 503 REMOTE_UNREACHABLE', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const source = new FakeQuerySource(data, 'A');
    source.assignRoundRobin(['A', 'B']);
    source.urls.set('B', `http://127.0.0.1:${port}`);
    const server = createQueryServer({ source, forwardTimeoutMs: 200 });
    try {
      const res = await server.app.inject({
        method: 'GET',
        url: `/stores/counts/keys/${encodeURIComponent(keyInPartition(1))}`,
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE' } });
    } finally {
      await server.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('two instances with auth', () => {
  it('forwarded requests carry the token; a token mismatch between instances is 503, not a wrong answer', async () => {
    const [a] = await startPair({ authTokens: ['t0k', 't0k'] });
    const auth = { authorization: 'Bearer t0k' };
    const remoteKey = keyInPartition(1);
    expect((await getJson(`${a.url}/stores/counts/keys/${encodeURIComponent(remoteKey)}`)).status).toBe(401);
    const ok = await getJson(`${a.url}/stores/counts/keys/${encodeURIComponent(remoteKey)}`, auth);
    expect(ok).toMatchObject({ status: 200, body: { key: remoteKey } });
    const scan = await getJson(`${a.url}/stores/counts/entries?limit=1000`, auth);
    expect((scan.body.entries as unknown[]).length).toBe(KEYS.length);

    const [c] = await startPair({ authTokens: ['t0k', 'other'] });
    const mismatch = await getJson(`${c.url}/stores/counts/keys/${encodeURIComponent(remoteKey)}`, auth);
    expect(mismatch.status).toBe(503);
    expect(mismatch.body).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_REMOTE_FAILED' } });
  });
});
