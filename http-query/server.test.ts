import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

const KEYS = ['a', 'a/b', 'a/c', 'b', 'ü€', '%25', 'k?x=1', 'space key', 'z'];

interface ErrorJson {
  error: { code: string; message: string };
}

let data: FakeClusterData;
let source: FakeQuerySource;
let server: QueryServer;

beforeAll(async () => {
  data = new FakeClusterData();
  data.addStore('counts', 'partitioned', 4);
  data.addStore('countries', 'global', 1);
  data.load(
    'counts',
    KEYS.map((k, i) => [k, { n: i }] as const),
  );
  data.load('countries', [
    ['fr', 'France'],
    ['de', 'Germany'],
  ]);
  source = new FakeQuerySource(data, 'self');
  server = createQueryServer({ source });
  await server.app.ready();
});

afterAll(async () => {
  await server.close();
});

const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });
const errorOf = (body: string) => (JSON.parse(body) as ErrorJson).error;

describe('GET /stores', () => {
  it('lists stores with serdes, partitions and counts', async () => {
    const res = await get('/stores');
    expect(res.statusCode).toBe(200);
    const body = res.json<{ stores: { name: string; approximateCount: number; localPartitions: number[] }[] }>();
    const counts = body.stores.find((s) => s.name === 'counts');
    expect(counts).toMatchObject({ kind: 'partitioned', keySerde: 'string', valueSerde: 'json', partitionCount: 4 });
    expect(counts?.approximateCount).toBe(KEYS.length);
    expect(counts?.localPartitions).toEqual([0, 1, 2, 3]);
    expect(body.stores.find((s) => s.name === 'countries')?.approximateCount).toBe(2);
  });
});

describe('GET /stores/:store/keys/:key', () => {
  it('round-trips keys with slashes, unicode and percent signs', async () => {
    for (const [i, key] of KEYS.entries()) {
      const res = await get(`/stores/counts/keys/${encodeURIComponent(key)}`);
      expect(res.statusCode, key).toBe(200);
      expect(res.json()).toEqual({ key, value: { n: i } });
    }
  });

  it('answers global stores locally', async () => {
    const res = await get('/stores/countries/keys/fr');
    expect(res.json()).toEqual({ key: 'fr', value: 'France' });
  });

  it('404 with a stable code for a missing key and an unknown store', async () => {
    const missing = await get('/stores/counts/keys/nope');
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing.body).code).toBe('TRIBUTARY_QUERY_KEY_NOT_FOUND');
    const unknown = await get('/stores/nope/keys/a');
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown.body).code).toBe('TRIBUTARY_QUERY_UNKNOWN_STORE');
  });

  it('400 for a key the serde rejects, bad percent-encoding and over-long keys', async () => {
    const rejecting = new FakeQuerySource(data, 'self');
    const info = rejecting.store('counts');
    if (info === undefined) throw new Error('store missing');
    Object.assign(info, {
      codec: {
        ...info.codec,
        keyFromString: () => {
          throw new Error('not a number');
        },
      },
    });
    const strict = createQueryServer({ source: rejecting });
    try {
      const res = await strict.app.inject({ method: 'GET', url: '/stores/counts/keys/x' });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ code: 'TRIBUTARY_QUERY_INVALID_KEY' });
      expect(errorOf(res.body).message).toContain('not a number');
    } finally {
      await strict.close();
    }

    const badEncoding = await get('/stores/counts/keys/%zz');
    expect(badEncoding.statusCode).toBe(400);
    expect(errorOf(badEncoding.body).code).toBe('TRIBUTARY_QUERY_INVALID_PARAMETER');

    const justTooLong = await get(`/stores/counts/keys/${'x'.repeat(4097)}`);
    expect(justTooLong.statusCode).toBe(400);
    expect(errorOf(justTooLong.body).code).toBe('TRIBUTARY_QUERY_KEY_TOO_LONG');
    // 4096 bytes of 3-byte characters, fully percent-encoded: reaches the handler, then fails on bytes.
    const encodedTooLong = await get(`/stores/counts/keys/${encodeURIComponent('€'.repeat(1366))}`);
    expect(errorOf(encodedTooLong.body).code).toBe('TRIBUTARY_QUERY_KEY_TOO_LONG');
    const routerTooLong = await get(`/stores/counts/keys/${'y'.repeat(20_000)}`);
    expect(routerTooLong.statusCode).toBe(400);
    expect(errorOf(routerTooLong.body).code).toBe('TRIBUTARY_QUERY_KEY_TOO_LONG');
    const maxOk = await get(`/stores/counts/keys/${encodeURIComponent('€'.repeat(1365))}`);
    expect(errorOf(maxOk.body).code).toBe('TRIBUTARY_QUERY_KEY_NOT_FOUND');
  });

  it('503 + Retry-After for a partition that is moving, never an answer', async () => {
    const owners = source.owners.get('counts');
    if (owners === undefined) throw new Error('owners missing');
    const saved = [...owners];
    owners.fill({ unavailable: 'restoring' });
    try {
      const res = await get('/stores/counts/keys/a');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_UNAVAILABLE');
      expect(errorOf(res.body).message).toContain('restoring');
      const scan = await get('/stores/counts/entries');
      expect(scan.statusCode).toBe(503);
      expect(scan.headers['retry-after']).toBe('2');
    } finally {
      saved.forEach((owner, p) => (owners[p] = owner));
    }
  });

  it('503 (not 500) when the store read fails, e.g. closed by a rebalance', async () => {
    const failing = new FakeQuerySource(data, 'self');
    failing.locate = () => ({
      kind: 'local',
      store: {
        name: 'counts',
        partition: 0,
        get: () => Promise.reject(new Error('closed')),
        getMany: () => Promise.reject(new Error('closed')),
        range: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('closed')) }) }),
        approximateCount: () => Promise.resolve(0),
      },
    });
    const srv = createQueryServer({ source: failing });
    try {
      const res = await srv.app.inject({ method: 'GET', url: '/stores/counts/keys/a' });
      expect(res.statusCode).toBe(503);
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_STORE_READ_FAILED');
    } finally {
      await srv.close();
    }
  });
});

describe('GET /stores/:store/entries', () => {
  const sortedKeys = [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('scans all partitions in key byte order', async () => {
    const res = await get('/stores/counts/entries');
    expect(res.statusCode).toBe(200);
    const body = res.json<{ entries: { key: string }[]; nextCursor: string | null }>();
    expect(body.entries.map((e) => e.key)).toEqual(sortedKeys);
    expect(body.nextCursor).toBeNull();
  });

  it('pages with cursors in both directions and honours prefix/from/to', async () => {
    for (const reverse of [false, true]) {
      const keys: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        expect(++pages).toBeLessThanOrEqual(KEYS.length);
        const query = new URLSearchParams({ limit: '2', reverse: String(reverse) });
        if (cursor !== null) query.set('cursor', cursor);
        const res = await get(`/stores/counts/entries?${query}`);
        expect(res.statusCode).toBe(200);
        const body = res.json<{ entries: { key: string }[]; nextCursor: string | null }>();
        keys.push(...body.entries.map((e) => e.key));
        cursor = body.nextCursor;
      } while (cursor !== null);
      expect(keys).toEqual(reverse ? [...sortedKeys].reverse() : sortedKeys);
    }
    const prefixed = await get(`/stores/counts/entries?prefix=${encodeURIComponent('a/')}`);
    expect(prefixed.json<{ entries: { key: string }[] }>().entries.map((e) => e.key)).toEqual(['a/b', 'a/c']);
    const bounded = await get('/stores/counts/entries?from=a%2Fb&to=b');
    expect(bounded.json<{ entries: { key: string }[] }>().entries.map((e) => e.key)).toEqual(['a/b', 'a/c']);
  });

  it('400 for invalid limit, reverse, cursor and bounds', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
      ['limit=1001', 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
      ['limit=abc', 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
      ['reverse=maybe', 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
      ['cursor=%21%21', 'TRIBUTARY_QUERY_INVALID_CURSOR'],
      ['cursor=AQBh&reverse=true', 'TRIBUTARY_QUERY_INVALID_CURSOR'],
      ['from=z&to=a', 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
      [`prefix=${'p'.repeat(4097)}`, 'TRIBUTARY_QUERY_INVALID_PARAMETER'],
    ];
    for (const [query, code] of cases) {
      const res = await get(`/stores/counts/entries?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(errorOf(res.body).code, query).toBe(code);
    }
    const unknown = await get('/stores/nope/entries');
    expect(errorOf(unknown.body).code).toBe('TRIBUTARY_QUERY_UNKNOWN_STORE');
  });

  it('scans a global store', async () => {
    const res = await get('/stores/countries/entries?reverse=true');
    expect(res.json()).toEqual({
      entries: [
        { key: 'fr', value: 'France' },
        { key: 'de', value: 'Germany' },
      ],
      nextCursor: null,
    });
  });

  it('internal scan refuses partitions not held here', async () => {
    source.owners.get('counts')![3] = 'other';
    try {
      const res = await get('/internal/stores/counts/entries?partitions=0,3');
      expect(res.statusCode).toBe(503);
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_NOT_LOCAL');
      const bad = await get('/internal/stores/counts/entries?partitions=0,9');
      expect(errorOf(bad.body).code).toBe('TRIBUTARY_QUERY_INVALID_PARAMETER');
      const ok = await get('/internal/stores/counts/entries?partitions=0,1');
      expect(ok.statusCode).toBe(200);
      const entries = ok.json<{ entries: { k: string; key: string }[] }>().entries;
      for (const entry of entries) expect(Buffer.from(entry.k, 'base64url').toString()).toBe(entry.key);
    } finally {
      source.owners.get('counts')![3] = 'self';
    }
  });
});

describe('requests that can never succeed are 4xx, not 503 + Retry-After', () => {
  it('an internal partition scan of a global store is 400 STORE_KIND_MISMATCH', async () => {
    const res = await get('/internal/stores/countries/entries?partitions=0');
    expect(res.statusCode).toBe(400);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_STORE_KIND_MISMATCH');
    expect(errorOf(res.body).message).toContain('/stores/countries/entries');
  });

  it('a full scan sent with the forwarded header is 400 FORWARDED_SCAN', async () => {
    for (const store of ['counts', 'countries']) {
      const res = await get(`/stores/${store}/entries`, { 'x-tributary-forwarded': '1' });
      expect(res.statusCode, store).toBe(400);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_FORWARDED_SCAN');
    }
  });
});

describe('status routes', () => {
  it('GET /health is up', async () => {
    expect((await get('/health')).json()).toEqual({ status: 'up' });
  });

  it('GET /ready is 503 with progress until running and restored', async () => {
    source.status = {
      state: 'running',
      restoration: [{ store: 'counts', partition: 1, restoredOffset: 5, endOffset: 10, done: false }],
    };
    const restoring = await get('/ready');
    expect(restoring.statusCode).toBe(503);
    expect(restoring.json()).toMatchObject({ ready: false, state: 'running', restoration: [{ restoredOffset: 5 }] });
    source.status = { state: 'rebalancing', restoration: [] };
    expect((await get('/ready')).statusCode).toBe(503);
    source.status = {
      state: 'running',
      restoration: [{ store: 'counts', partition: 'global', restoredOffset: 10, endOffset: 10, done: true }],
    };
    const ready = await get('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true });
  });

  it('GET /metadata shows instances and partitions', async () => {
    const res = await get('/metadata');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      assignmentId: 'a1',
      instances: [{ id: 'self', self: true, storePartitions: { counts: [0, 1, 2, 3] } }],
    });
  });

  it('GET /metrics renders source metrics, store sizes, restoration and HTTP latency', async () => {
    source.metricFamilies = [
      {
        name: 'tributary_records_processed_total',
        help: 'Records processed',
        type: 'counter',
        samples: [{ labels: { topic: 'orders' }, value: 42 }],
      },
      { name: 'tributary_consumer_lag', help: 'Lag', type: 'gauge', samples: [{ labels: { topic: 'orders', partition: '0' }, value: 7 }] },
      { name: 'bad name!', help: 'skipped', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
    ];
    source.status = {
      state: 'running',
      restoration: [{ store: 'counts', partition: 2, restoredOffset: 4, endOffset: 10, done: false }],
    };
    // Over a socket: the latency metric is taken from Node's HTTP server (request-timing.ts), which inject bypasses.
    const base = await server.listen();
    expect((await fetch(`${base}/stores/counts/keys/a`)).status).toBe(200);
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('tributary_records_processed_total{topic="orders"} 42');
    expect(res.body).toContain('tributary_consumer_lag{topic="orders",partition="0"} 7');
    expect(res.body).toContain(`tributary_store_approximate_entries{store="counts"} ${KEYS.length}`);
    expect(res.body).toContain('tributary_restoration_remaining_records{store="counts",partition="2"} 6');
    expect(res.body).toMatch(
      /tributary_http_request_duration_seconds_count\{route="\/stores\/:store\/keys\/:key",method="GET",status_code="200"\} [1-9]/,
    );
    expect(res.body).not.toContain('bad name');
    source.status = { state: 'running', restoration: [] };
  });
});

describe('errors and docs', () => {
  it('unknown routes answer JSON 404', async () => {
    const res = await get('/nope/../../etc/passwd');
    expect(res.statusCode).toBe(404);
    expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_ROUTE_NOT_FOUND');
  });

  it('publishes every route in /openapi.json', async () => {
    const res = await get('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health',
        '/internal/stores/{store}/entries',
        '/internal/stores/{store}/windows',
        '/metadata',
        '/metrics',
        '/ready',
        '/stores',
        '/stores/{store}/entries',
        '/stores/{store}/keys/{key}',
        '/stores/{store}/keys/{key}/windows',
        '/stores/{store}/windows',
        '/stats',
        '/cluster/stats',
        // the fake source provides the optional parts of the seam
        '/topology',
        '/consumer-lag',
        '/dead-letters',
      ].sort(),
    );
  });

  it('an unexpected failure is a JSON 500 without details', async () => {
    const broken = new FakeQuerySource(data, 'self');
    broken.metadata = () => {
      throw new Error('secret internals');
    };
    const srv = createQueryServer({ source: broken });
    try {
      const res = await srv.app.inject({ method: 'GET', url: '/metadata' });
      expect(res.statusCode).toBe(500);
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_INTERNAL');
      expect(res.body).not.toContain('secret');
    } finally {
      await srv.close();
    }
  });
});

describe('bearer auth', () => {
  it('guards every route but /health, compares the whole token', async () => {
    const secured = createQueryServer({ source, authToken: 's3cret' });
    try {
      const inject = (url: string, authorization?: string) =>
        secured.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
      expect((await inject('/health')).statusCode).toBe(200);
      for (const url of [
        '/stores',
        '/stores/counts/keys/a',
        '/stores/counts/entries',
        '/metadata',
        '/ready',
        '/metrics',
        '/openapi.json',
      ]) {
        const res = await inject(url);
        expect(res.statusCode, url).toBe(401);
        expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      for (const wrong of ['Bearer s3cre', 'Bearer s3cret2', 'Basic s3cret', 'Bearers3cret', 's3cret', 'Bearer ', 'Bearer S3CRET']) {
        expect((await inject('/stores', wrong)).statusCode, wrong).toBe(401);
      }
      expect((await inject('/stores/counts/keys/a', 'Bearer s3cret')).statusCode).toBe(200);
    } finally {
      await secured.close();
    }
  });

  it('accepts the scheme name in any case (RFC 7235), the token only exactly', async () => {
    const secured = createQueryServer({ source, authToken: 's3cret' });
    try {
      for (const authorization of ['bearer s3cret', 'BEARER s3cret', 'bEaReR s3cret', 'Bearer  s3cret']) {
        const res = await secured.app.inject({ method: 'GET', url: '/stores', headers: { authorization } });
        expect(res.statusCode, authorization).toBe(200);
      }
    } finally {
      await secured.close();
    }
  });

  it('unknown routes answer 401 without a token, so routes cannot be probed; 404 with one', async () => {
    const secured = createQueryServer({ source, authToken: 's3cret' });
    try {
      const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, authorization?: string) =>
        secured.app.inject({ method, url, headers: authorization === undefined ? {} : { authorization } });
      const probes: ['GET' | 'POST' | 'DELETE', string][] = [
        ['GET', '/nope'],
        ['GET', '/internal/nope'],
        ['POST', '/stores'],
        ['DELETE', '/stores/counts/keys/a'],
        ['GET', '/stores/counts/keys/%zz'],
        ['GET', `/stores/counts/keys/${'y'.repeat(20_000)}`],
      ];
      for (const [method, url] of probes) {
        const res = await inject(method, url);
        expect(res.statusCode, `${method} ${url.slice(0, 40)}`).toBe(401);
        expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      const unknown = await inject('GET', '/nope', 'Bearer s3cret');
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown.body).code).toBe('TRIBUTARY_QUERY_ROUTE_NOT_FOUND');
      const badEncoding = await inject('GET', '/stores/counts/keys/%zz', 'Bearer s3cret');
      expect(errorOf(badEncoding.body).code).toBe('TRIBUTARY_QUERY_INVALID_PARAMETER');
    } finally {
      await secured.close();
    }
  });
});
