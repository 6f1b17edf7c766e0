/** Lookups a client allows to be stale: answered by a standby replica kept here when the owner cannot answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPartition } from '../common/partitioner.js';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

const PARTITIONS = 4;
const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
const keyIn = (partition: number) => KEYS.find((k) => defaultPartition(Buffer.from(k), PARTITIONS) === partition) as string;

let source: FakeQuerySource;
let server: QueryServer;

beforeAll(async () => {
  const data = new FakeClusterData();
  data.addStore('counts', 'partitioned', PARTITIONS);
  data.load(
    'counts',
    KEYS.map((k, i) => [k, i] as const),
  );
  source = new FakeQuerySource(data, 'self');
  const owners = source.owners.get('counts') ?? [];
  owners[0] = { unavailable: 'task 0_0 is restoring' };
  owners[1] = 'gone';
  source.urls.set('gone', 'http://127.0.0.1:1'); // nothing listens: the owner died, its session has not expired
  source.replicas.set(
    'counts',
    new Map([
      [0, 3],
      [1, 0],
    ]),
  );
  server = createQueryServer({ source, forwardTimeoutMs: 500 });
});

afterAll(async () => server.close());

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await server.app.inject({ method: 'GET', url, headers });
  return { status: response.statusCode, staleness: response.headers['tributary-staleness'], body: response.body };
}

describe('stale reads from standby replicas', () => {
  it('answers a restoring partition from the replica within the allowed staleness, with its lag in a header', async () => {
    const key = keyIn(0);
    const allowed = await get(`/stores/counts/keys/${key}?staleness=5`);
    expect(allowed.status).toBe(200);
    expect(allowed.staleness).toBe('3');
    expect(JSON.parse(allowed.body)).toEqual({ key, value: KEYS.indexOf(key) });
    expect((await get(`/stores/counts/keys/${key}`, { 'tributary-max-staleness': '3' })).status).toBe(200);
  });

  it('keeps 503 + Retry-After without permission or when the replica is further behind', async () => {
    const key = keyIn(0);
    for (const url of [`/stores/counts/keys/${key}`, `/stores/counts/keys/${key}?staleness=2`]) {
      const response = await server.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBeDefined();
      expect(response.headers['tributary-staleness']).toBeUndefined();
    }
  });

  it('answers from the replica when the owner cannot be reached', async () => {
    const key = keyIn(1);
    const answer = await get(`/stores/counts/keys/${key}?staleness=0`);
    expect(answer.status).toBe(200);
    expect(answer.staleness).toBe('0');
    expect((await get(`/stores/counts/keys/${key}`)).status).toBe(503);
  });

  it('documents the staleness parameter in the OpenAPI document', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
    }>();
    const parameters = doc.paths['/stores/{store}/keys/{key}']?.get?.parameters ?? [];
    expect(parameters).toContainEqual(expect.objectContaining({ name: 'staleness', in: 'query' }));
  });
});
