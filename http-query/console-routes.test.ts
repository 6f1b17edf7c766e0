/**
 * The routes behind the web console (/topology, /stats, /cluster/stats, /consumer-lag, /dead-letters) and the console's
 * own files at /ui/: schemas, errors, auth, and the Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamsBuilder } from '../topology/builder.js';
import { topologyGraph } from '../topology/graph.js';
import { Serdes } from '../topology/serdes.js';
import type { DeadLetterEntry, QuerySource } from './query-source.js';
import { CONSOLE_VENDOR_FILES, consoleSecurityHeaders } from './routes/console.js';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

interface ErrorJson {
  error: { code: string; message: string };
}

const data = new FakeClusterData();
data.addStore('counts', 'partitioned', 2);

function graph() {
  const b = new StreamsBuilder();
  const table = b.table('customers', { key: Serdes.string(), value: Serdes.json(), store: 'customers' });
  b.stream('orders', { key: Serdes.string(), value: Serdes.json() })
    .join(table, (order) => order)
    .to('out');
  return topologyGraph(b.build({ applicationId: 'shop' }));
}

const letter = (partition: number, offset: number, headers: Record<string, string>, value: Uint8Array | null): DeadLetterEntry => ({
  partition,
  offset,
  timestamp: 1_700_000_000_000 + offset,
  key: Buffer.from(`k${offset}`),
  value,
  headers: Object.fromEntries(Object.entries(headers).map(([name, text]) => [name, Buffer.from(text)])),
});

let source: FakeQuerySource;
let server: QueryServer;

beforeAll(async () => {
  source = new FakeQuerySource(data, 'self');
  source.graph = graph();
  source.status = {
    state: 'running',
    restoration: [
      { store: 'counts', partition: 1, restoredOffset: 5, endOffset: 10, done: false, startOffset: 0, restoredRecords: 5, startedAt: 1000 },
    ],
  };
  source.metricFamilies = [
    {
      name: 'tributary_records_dead_lettered_total',
      help: 'Dead letters',
      type: 'counter',
      samples: [{ labels: { stage: 'deserialization', source: 'orders' }, value: 3 }],
    },
  ];
  source.lagHistory = {
    groupId: 'shop',
    intervalMs: 5000,
    times: [1000, 6000],
    partitions: [{ topic: 'orders', partition: 0, committed: [10, 60], end: [100, 110] }],
  };
  source.deadLetterPartitions = [
    {
      earliest: 0,
      records: [
        letter(
          0,
          0,
          {
            'tributary.stage': 'deserialization',
            'tributary.error.class': 'DeserializationError',
            'tributary.error.message': 'bad json',
            'tributary.source.topic': 'orders',
            'tributary.source.partition': '1',
            'tributary.source.offset': '42',
          },
          Buffer.from('{not json'),
        ),
        letter(0, 1, { 'tributary.stage': 'production', 'tributary.target.topic': 'out' }, Buffer.from([0xff, 0xfe, 0x00])),
        letter(0, 2, {}, Buffer.alloc(10_000, 'a')),
      ],
    },
  ];
  server = createQueryServer({ source, ui: true });
  await server.app.ready();
});

afterAll(async () => {
  await server.close();
});

const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });
const errorOf = (body: string) => (JSON.parse(body) as ErrorJson).error;

describe('GET /topology', () => {
  it('serves the topology graph', async () => {
    const res = await get('/topology');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(source.graph)));
  });

  it('exists only when the source describes its topology', async () => {
    const minimal: QuerySource = {
      stores: () => source.stores(),
      store: (name) => source.store(name),
      locate: (store, key) => source.locate(store, key),
      scanTargets: (store) => source.scanTargets(store),
      metadata: () => source.metadata(),
      state: () => source.state(),
      metrics: () => source.metrics(),
    };
    const plain = createQueryServer({ source: minimal });
    try {
      for (const url of ['/topology', '/consumer-lag', '/dead-letters', '/ui/']) {
        const res = await plain.app.inject({ method: 'GET', url });
        expect([url, res.statusCode, errorOf(res.body).code]).toEqual([url, 404, 'TRIBUTARY_QUERY_ROUTE_NOT_FOUND']);
      }
      expect((await plain.app.inject({ method: 'GET', url: '/stats' })).statusCode).toBe(200);
    } finally {
      await plain.close();
    }
  });
});

describe('GET /stats and /cluster/stats', () => {
  it('/stats has the state, restoration progress with its timing, and the metric families', async () => {
    const res = await get('/stats');
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      instanceId: 'self',
      state: 'running',
      assignmentId: 'a1',
      restoration: [
        { store: 'counts', partition: 1, restoredOffset: 5, endOffset: 10, startOffset: 0, restoredRecords: 5, startedAt: 1000 },
      ],
      metrics: [
        {
          name: 'tributary_records_dead_lettered_total',
          type: 'counter',
          samples: [{ labels: { stage: 'deserialization', source: 'orders' }, value: 3 }],
        },
      ],
    });
    expect(typeof body.time).toBe('number');
  });

  it('/cluster/stats asks every instance and reports the ones that cannot answer instead of failing', async () => {
    const other = new FakeQuerySource(data, 'other');
    other.status = { state: 'rebalancing', restoration: [] };
    const otherServer = createQueryServer({ source: other });
    const otherUrl = await otherServer.listen();
    const local = new FakeQuerySource(data, 'self');
    local.urls.set('self', 'http://127.0.0.1:1');
    local.urls.set('other', otherUrl);
    local.urls.set('gone', 'http://127.0.0.1:9'); // nothing listens there
    const localServer = createQueryServer({ source: local, forwardTimeoutMs: 500 });
    try {
      const res = await localServer.app.inject({ method: 'GET', url: '/cluster/stats' });
      expect(res.statusCode).toBe(200);
      const body = res.json<{
        instances: { id: string; self: boolean; stats: { state: string } | null; error: { code: string } | null }[];
      }>();
      const byId = new Map(body.instances.map((i) => [i.id, i]));
      expect(byId.get('self')).toMatchObject({ self: true, stats: { state: 'running' }, error: null });
      expect(byId.get('other')).toMatchObject({ self: false, stats: { state: 'rebalancing' }, error: null });
      expect(byId.get('gone')).toMatchObject({ self: false, stats: null, error: { code: 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE' } });
    } finally {
      await localServer.close();
      await otherServer.close();
    }
  });
});

describe('GET /consumer-lag', () => {
  it('turns sampled offsets into lag and rate series', async () => {
    const res = await get('/consumer-lag');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      groupId: 'shop',
      intervalMs: 5000,
      times: [1000, 6000],
      partitions: [{ topic: 'orders', partition: 0, lag: [90, 50], rate: [null, 10], committed: 60, end: 110 }],
    });
  });
});

describe('GET /dead-letters', () => {
  interface Page {
    topic: string;
    partitions: unknown[];
    deadLetters: {
      offset: number;
      stage: string | null;
      errorClass: string | null;
      sourceTopic: string | null;
      sourcePartition: number | null;
      sourceOffset: number | null;
      targetTopic: string | null;
      key: { encoding: string; data: string } | null;
      value: { encoding: string; data: string; size: number; truncated: boolean } | null;
      headers: { name: string; value: { data: string } }[];
    }[];
    next: string | null;
  }

  it('pages newest first, reads the tributary headers and previews bytes as text or base64', async () => {
    const first = await get('/dead-letters?limit=2');
    expect(first.statusCode).toBe(200);
    const page = first.json<Page>();
    expect(page.topic).toBe('fake-dlq');
    expect(page.partitions).toEqual([{ partition: 0, earliest: 0, end: 3 }]);
    expect(page.deadLetters.map((d) => d.offset)).toEqual([2, 1]);
    expect(page.deadLetters[0].value).toMatchObject({ encoding: 'utf8', size: 10_000, truncated: true });
    expect(page.deadLetters[0].value?.data).toHaveLength(4096);
    expect(page.deadLetters[1]).toMatchObject({
      stage: 'production',
      targetTopic: 'out',
      sourceTopic: null,
      value: { encoding: 'base64', data: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'), truncated: false },
    });
    expect(page.next).toBe('0:1');

    const second = (await get(`/dead-letters?limit=2&before=${page.next}`)).json<Page>();
    expect(second.deadLetters).toHaveLength(1);
    expect(second.deadLetters[0]).toMatchObject({
      offset: 0,
      stage: 'deserialization',
      errorClass: 'DeserializationError',
      sourceTopic: 'orders',
      sourcePartition: 1,
      sourceOffset: 42,
      key: { encoding: 'utf8', data: 'k0' },
      value: { encoding: 'utf8', data: '{not json' },
    });
    expect(second.deadLetters[0].headers.map((h) => h.name)).toContain('tributary.error.message');
    expect(second.next).toBeNull();
  });

  it('refuses a malformed or foreign cursor with 400, and an unreadable topic with 503 and Retry-After', async () => {
    for (const before of ['nope', '0:1,0:2', '0:99999999999999999', '7:1']) {
      const res = await get(`/dead-letters?before=${encodeURIComponent(before)}`);
      expect([before, res.statusCode, errorOf(res.body).code]).toEqual([before, 400, 'TRIBUTARY_QUERY_INVALID_PARAMETER']);
    }
    expect((await get('/dead-letters?limit=1000')).statusCode).toBe(400);
    source.deadLetterFailure = new Error('broker unreachable');
    try {
      const res = await get('/dead-letters');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(errorOf(res.body).code).toBe('TRIBUTARY_QUERY_DEAD_LETTERS_UNAVAILABLE');
      expect(errorOf(res.body).message).toContain('broker unreachable');
    } finally {
      source.deadLetterFailure = undefined;
    }
  });
});

describe('the web console at /ui/', () => {
  it('serves the page with a strict Content-Security-Policy that allows its import map by hash only', async () => {
    const res = await get('/ui/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(consoleSecurityHeaders(res.body)['content-security-policy']).toBe(csp);
    // Every script is a module from this origin; the only inline one is the import map.
    const scripts = [...res.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1].trim());
    expect(scripts).toEqual(['type="importmap"', 'type="module" src="./main.js"']);
    expect(res.body).not.toMatch(/https?:\/\//);
  });

  it('redirects /ui to /ui/ so relative URLs work', async () => {
    const res = await get('/ui');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('ui/');
  });

  it('serves its modules and the vendored libraries as JavaScript from the installed packages, nothing else', async () => {
    for (const file of ['main.js', 'api.js', 'console.css', 'favicon.svg']) {
      const res = await get(`/ui/${file}`);
      expect([file, res.statusCode]).toEqual([file, 200]);
    }
    for (const name of Object.keys(CONSOLE_VENDOR_FILES)) {
      const res = await get(`/ui/vendor/${name}`);
      expect([name, res.statusCode]).toEqual([name, 200]);
      expect(res.headers['content-type']).toMatch(name.endsWith('.css') ? /^text\/css/ : /javascript/);
      // No eval in what the page runs: the CSP would refuse it.
      if (!name.endsWith('.css')) expect(res.body).not.toMatch(/\beval\(|new Function\(/);
    }
    for (const url of ['/ui/partition.d.ts', '/ui/vendor/preact-compat.mjs', '/ui/../package.json', '/ui/%2e%2e/package.json']) {
      expect([url, (await get(url)).statusCode]).toEqual([url, 404]);
    }
  });

  it('with auth on, the files load without the token (they hold no data) and every API route still needs it', async () => {
    const secured = createQueryServer({ source, ui: true, authToken: 's3cret' });
    try {
      const inject = (url: string, token?: string) =>
        secured.app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      for (const url of ['/ui/', '/ui/main.js', '/ui/vendor/preact.mjs']) expect([url, (await inject(url)).statusCode]).toEqual([url, 200]);
      for (const url of ['/topology', '/stats', '/cluster/stats', '/consumer-lag', '/dead-letters', '/ui/nope', '/uix']) {
        expect([url, (await inject(url)).statusCode]).toEqual([url, 401]);
      }
      expect((await inject('/topology', 's3cret')).statusCode).toBe(200);
    } finally {
      await secured.close();
    }
  });
});
