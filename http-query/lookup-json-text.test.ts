/**
 * Lookups of values a store keeps as JSON text (tables restored or updated from a `Serdes.json()` topic): the answer
 * carries the text as it is, and is the same JSON as the answer for the same value stored parsed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelKeyValueStore } from '../state-store/level-store.js';
import { MemoryKeyValueStore } from '../state-store/memory-store.js';
import type { ReadOnlyKeyValueStore } from '../state-store/types.js';
import { JsonText } from '../state-store/value-codec.js';
import { Serdes } from '../topology/serdes.js';
import type { StoreCodec } from './query-source.js';
import { storeCodecFromSerdes } from './serde-codec.js';
import { createQueryServer, type QueryServer } from './server.js';
import { LocalStoresSource } from './testing/local-stores-source.js';

/** The same entries twice: as JSON text (`text` store) and parsed, as msgpack (`parsed` store). */
const text = new MemoryKeyValueStore<unknown>('text', 'global');
const parsed = new MemoryKeyValueStore<unknown>('parsed', 'global');
/** `text`'s entries through a store that only has `get` (a store without `readStored`). */
const getOnly: ReadOnlyKeyValueStore = {
  name: 'get-only',
  partition: 'global',
  get: (key) => text.get(key),
  getMany: (keys) => text.getMany(keys),
  range: (options) => text.range(options),
  approximateCount: () => text.approximateCount(),
};
/** A codec that renders values its own way: JSON text must be parsed and go through it. */
const wrapping: StoreCodec = {
  ...storeCodecFromSerdes(Serdes.string(), Serdes.json()),
  valueToJson: (value) => ({ wrapped: value === undefined ? null : (value as never) }),
  valueJsonTextAsIs: false,
};
let server: QueryServer;

beforeAll(() => {
  server = createQueryServer({
    source: new LocalStoresSource([
      { name: 'text', kind: 'global', partitions: [text.readOnly()] },
      { name: 'parsed', kind: 'global', partitions: [parsed.readOnly()] },
      { name: 'get-only', kind: 'global', partitions: [getOnly] },
      { name: 'wrapping', kind: 'global', partitions: [text.readOnly()], codec: wrapping },
    ]),
  });
});

afterAll(async () => server.close());

async function lookup(store: string, key: string) {
  const response = await server.app.inject({ method: 'GET', url: `/stores/${store}/keys/${encodeURIComponent(key)}` });
  return { status: response.statusCode, type: response.headers['content-type'], body: response.body };
}

/** Keys a URL path can carry as a segment ("." and ".." are dot segments, resolved away). */
const anyKey = fc.string({ minLength: 1, maxLength: 20 }).filter((key) => key !== '.' && key !== '..');
/** JSON values both stores keep alike: msgpackr renames a "__proto__" key when it decodes a map. */
const anyValue = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('"__proto__"'));

async function storeBoth(key: string, jsonText: string): Promise<void> {
  await text.put(Buffer.from(key), new JsonText(Buffer.from(jsonText, 'utf8')));
  await parsed.put(Buffer.from(key), JSON.parse(jsonText.replace(/^\ufeff/, '')));
}

describe('lookups of values stored as JSON text', () => {
  it('answer byte for byte what the parsed value answers, for any JSON value written compactly', async () => {
    await fc.assert(
      fc.asyncProperty(anyKey, anyValue, async (key, value) => {
        await storeBoth(key, JSON.stringify(value));
        const fromText = await lookup('text', key);
        const fromParsed = await lookup('parsed', key);
        expect(fromText).toEqual(fromParsed);
        expect(fromText.status).toBe(200);
        expect(await lookup('get-only', key)).toEqual(fromParsed);
      }),
      { numRuns: 300 },
    );
  });

  it('answer the same JSON for text with whitespace or a byte-order mark (sent as written, without the mark)', async () => {
    await fc.assert(
      fc.asyncProperty(anyKey, anyValue, fc.boolean(), async (key, value, bom) => {
        const written = `${bom ? '\ufeff' : ''} \n${JSON.stringify(value, null, 2)}\t\r\n`;
        await storeBoth(key, written);
        const fromText = await lookup('text', key);
        const fromParsed = await lookup('parsed', key);
        expect(fromText.status).toBe(200);
        expect(fromText.type).toBe(fromParsed.type);
        expect(fromText.body).not.toContain('\ufeff');
        expect(JSON.parse(fromText.body)).toEqual(JSON.parse(fromParsed.body));
      }),
      { numRuns: 200 },
    );
  });

  it('parse the text for a codec that renders values its own way', async () => {
    await storeBoth('w', '{ "a": [1, 2] }');
    const answer = await lookup('wrapping', 'w');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ key: 'w', value: { wrapped: { a: [1, 2] } } });
  });

  it('answer with the key as sent for any Unicode key text (string keys: the key is not decoded again)', async () => {
    const unicodeKey = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
      .filter((key) => key !== '.' && key !== '..' && Buffer.byteLength(key) <= 4096);
    await fc.assert(
      fc.asyncProperty(unicodeKey, async (key) => {
        await storeBoth(key, '{"n":1}');
        const fromText = await lookup('text', key);
        expect(fromText).toEqual(await lookup('parsed', key));
        expect(JSON.parse(fromText.body)).toEqual({ key, value: { n: 1 } });
      }),
      { numRuns: 200 },
    );
  });

  it('keep the 404 for a missing key', async () => {
    for (const store of ['text', 'parsed', 'get-only']) {
      const answer = await lookup(store, 'absent');
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('TRIBUTARY_QUERY_KEY_NOT_FOUND');
    }
  });
});

describe('lookups over LevelDB', () => {
  let dir: string;
  let store: LevelKeyValueStore;
  let level: QueryServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-lookup-'));
    store = await LevelKeyValueStore.open({ location: join(dir, 'db'), name: 'customers', partition: 'global' });
    await store.write([
      { type: 'put', key: Buffer.from('c1'), value: new JsonText(Buffer.from('{"name":"Ada","tags":["é",null],"n":1.5e3}')) },
      { type: 'put', key: Buffer.from('c2'), value: { name: 'Grace', tags: ['é', null], n: 1500 } },
    ]);
    level = createQueryServer({ source: new LocalStoresSource([{ name: 'customers', kind: 'global', partitions: [store.readOnly()] }]) });
  });

  afterAll(async () => {
    await level.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (key: string) => {
    const response = await level.app.inject({ method: 'GET', url: `/stores/customers/keys/${key}` });
    return { status: response.statusCode, body: response.body, type: response.headers['content-type'] };
  };

  it('sends the stored text inside the answer, and msgpack values rendered as before', async () => {
    expect(await get('c1')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '{"key":"c1","value":{"name":"Ada","tags":["é",null],"n":1.5e3}}',
    });
    expect(await get('c2')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '{"key":"c2","value":{"name":"Grace","tags":["é",null],"n":1500}}',
    });
    expect((await get('c3')).status).toBe(404);
  });

  it('answers 503 TRIBUTARY_QUERY_STORE_READ_FAILED once the store is closed', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'tributary-lookup-'));
    const closed = await LevelKeyValueStore.open({ location: join(dir2, 'db'), name: 'gone', partition: 'global' });
    const app = createQueryServer({ source: new LocalStoresSource([{ name: 'gone', kind: 'global', partitions: [closed.readOnly()] }]) });
    try {
      await closed.close();
      const response = await app.app.inject({ method: 'GET', url: '/stores/gone/keys/x' });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('TRIBUTARY_QUERY_STORE_READ_FAILED');
      expect(response.headers['retry-after']).toBeDefined();
    } finally {
      await app.close();
      await rm(dir2, { recursive: true, force: true });
    }
  });
});
