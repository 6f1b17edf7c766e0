/**
 * Local lookups answered from JSON text are written in batches (answer-batch.ts): over real HTTP
 * connections, every answer must still be the one fastify would send (status, headers, body), HEAD must carry no
 * body, the latency metric must count them, and a replica's stale answer keeps its header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { MemoryKeyValueStore } from '../state-store/memory-store.js';
import { JsonText } from '../state-store/value-codec.js';
import type { KeyLocation, ReplicaLocation } from './query-source.js';
import { createQueryServer, type QueryServer } from './server.js';
import { LocalStoresSource } from './testing/local-stores-source.js';

const KEYS = 300;
const text = new MemoryKeyValueStore<unknown>('text', 'global');
const replica = new MemoryKeyValueStore<unknown>('replica', 0);

/** One local global store, and a partitioned one whose owner is away, kept here as a standby 3 records behind. */
class Source extends LocalStoresSource {
  override locate(name: string, key: Uint8Array): KeyLocation {
    if (name === 'moving') return { kind: 'unavailable', reason: 'the partition is moving', retryAfterSeconds: 1 };
    return super.locate(name, key);
  }

  locateReplica(name: string): ReplicaLocation | undefined {
    return name === 'moving' ? { store: replica.readOnly(), lagRecords: 3 } : undefined;
  }
}

const valueOf = (i: number) => `{"id":${i},"name":"Customer \\"${i}\\" ✓"}`;
let server: QueryServer;
let base: string;
const agent = new Agent({ connections: 8 });

beforeAll(async () => {
  for (let i = 0; i < KEYS; i++) await text.put(Buffer.from(`k-${i}`), new JsonText(Buffer.from(valueOf(i), 'utf8')));
  await text.put(Buffer.from('broken'), new JsonText(Buffer.from('{}', 'utf8')));
  await replica.put(Buffer.from('k-1'), new JsonText(Buffer.from(valueOf(1), 'utf8')));
  server = createQueryServer({
    source: new Source([
      { name: 'text', kind: 'global', partitions: [text.readOnly()] },
      { name: 'moving', kind: 'partitioned', partitions: [replica.readOnly()] },
    ]),
  });
  // A header a hook sets on every reply must reach batched answers too.
  server.app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-test-hook', 'seen');
    // A value Node refuses when the head is written (a line break).
    if (request.url.endsWith('/broken')) reply.header('x-broken', 'a\nb');
    done();
  });
  base = await server.listen();
});

afterAll(async () => {
  await agent.close();
  await server.close();
});

describe('batched lookup answers', () => {
  it('answer every concurrent request on every connection with its own body and headers', async () => {
    const answers = await Promise.all(
      Array.from({ length: KEYS }, async (_, i) => {
        const response = await request(`${base}/stores/text/keys/k-${i}`, { dispatcher: agent });
        return { i, status: response.statusCode, headers: response.headers, body: await response.body.text() };
      }),
    );
    for (const { i, status, headers, body } of answers) {
      expect(status).toBe(200);
      expect(body).toBe(`{"key":"k-${i}","value":${valueOf(i)}}`);
      expect(headers['content-type']).toBe('application/json; charset=utf-8');
      expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(headers.date).toBeDefined();
      expect(headers['x-test-hook']).toBe('seen');
    }
    // The same answer fastify's own reply path gives (inject runs the whole lifecycle without a socket).
    const injected = await server.app.inject({ method: 'GET', url: '/stores/text/keys/k-7' });
    expect(injected.body).toBe(answers[7].body);
    expect(injected.headers['content-type']).toBe(answers[7].headers['content-type']);
    expect(injected.headers['content-length']).toBe(answers[7].headers['content-length']);
  });

  it('fails only the answer whose head cannot be written, the rest of its batch goes out', async () => {
    const answers = await Promise.allSettled(
      ['k-12', 'broken', 'k-14'].map(async (key) => {
        const response = await request(`${base}/stores/text/keys/${key}`, { dispatcher: agent });
        return response.body.text();
      }),
    );
    expect(answers[0]).toEqual({ status: 'fulfilled', value: `{"key":"k-12","value":${valueOf(12)}}` });
    expect(answers[1].status).toBe('rejected');
    expect(answers[2]).toEqual({ status: 'fulfilled', value: `{"key":"k-14","value":${valueOf(14)}}` });
  });

  it('answers HEAD with the headers and no body', async () => {
    const get = await request(`${base}/stores/text/keys/k-2`, { dispatcher: agent });
    const getBody = await get.body.text();
    const head = await request(`${base}/stores/text/keys/k-2`, { method: 'HEAD', dispatcher: agent });
    expect(head.statusCode).toBe(200);
    expect(await head.body.text()).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(getBody)));
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('counts the batched answers in the latency metric', async () => {
    const before = await lookupCount();
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await request(`${base}/stores/text/keys/k-${i}`, { dispatcher: agent })).body.text()),
    );
    expect((await lookupCount()) - before).toBe(20);
  });

  it('keeps the errors of the route: a missing key is the 404', async () => {
    const response = await request(`${base}/stores/text/keys/absent`, { dispatcher: agent });
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(await response.body.text())).toMatchObject({ error: { code: 'TRIBUTARY_QUERY_KEY_NOT_FOUND' } });
  });

  it('answers from a standby replica with Tributary-Staleness, its JSON text as it is', async () => {
    const response = await request(`${base}/stores/moving/keys/k-1?staleness=10`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    expect(response.headers['tributary-staleness']).toBe('3');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(await response.body.text()).toBe(`{"key":"k-1","value":${valueOf(1)}}`);
    const refused = await request(`${base}/stores/moving/keys/k-1`, { dispatcher: agent });
    expect(refused.statusCode).toBe(503);
    await refused.body.text();
  });
});

async function lookupCount(): Promise<number> {
  const response = await request(`${base}/metrics`, { dispatcher: agent });
  const textBody = await response.body.text();
  const line = textBody
    .split('\n')
    .find((l) =>
      l.startsWith('tributary_http_request_duration_seconds_count{route="/stores/:store/keys/:key",method="GET",status_code="200"}'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
