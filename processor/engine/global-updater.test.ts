import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonText, StoredJsonText } from '../../state-store/value-codec.js';
import { DeserializationError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { ConsumedRecord } from '../../common/records.js';
import { type ErrorPolicy } from './error-policy.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { GlobalTableUpdater } from './global-updater.js';
import { EngineMetrics } from './metrics.js';
import { createTableRecordDecoder } from './table-decoder.js';
import { restoreStore } from '../../state-store/restore.js';

function topology() {
  const b = new StreamsBuilder();
  b.globalTable('rates', { key: Serdes.string(), value: Serdes.json<number>(), store: 'rates' });
  return b.build({ applicationId: 'fx' });
}

function rec(partition: number, offset: number, key: string | null, value: string | null): ConsumedRecord {
  return {
    topic: 'rates',
    partition,
    offset,
    timestamp: offset,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: {},
  };
}

function setup(errorPolicy?: ErrorPolicy) {
  const store = new MemoryKeyValueStore<unknown>('rates', 'global');
  const metrics = new EngineMetrics();
  const updater = new GlobalTableUpdater({ topology: topology(), stores: new Map([['rates', store]]), errorPolicy, metrics });
  return { store, metrics, updater };
}

describe('GlobalTableUpdater', () => {
  it('applies puts and tombstones with per-partition checkpoints in one write', async () => {
    const { store, updater, metrics } = setup();
    await store.put(Buffer.from('GBP'), 1.1);
    const batch = updater.prepare([rec(0, 0, 'EUR', '1.5'), rec(1, 4, 'USD', '2'), rec(0, 1, 'GBP', null), rec(0, 2, 'EUR', '1.6')]);
    expect(batch.deadLetters).toEqual([]);
    await updater.write(batch);
    expect(await store.getMany([Buffer.from('EUR'), Buffer.from('USD'), Buffer.from('GBP')])).toEqual([1.6, 2, undefined]);
    expect([...store.checkpoints()]).toEqual([
      ['rates:0', 3],
      ['rates:1', 5],
    ]);
    expect(metrics.snapshot()).toMatchObject({ tablePuts: 3, tableDeletes: 1, processed: { rates: 4 } });
  });

  it("stores a JSON table's values as the records' JSON text, as the bootstrap does; reads give the parsed value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }), async (values) => {
        const { store, updater } = setup();
        const texts = values.map((value) => JSON.stringify(value));
        const batch = updater.prepare(texts.map((text, i) => rec(0, i, `k${i}`, text)));
        expect(batch.writes.get('rates')?.writes).toEqual(
          texts.map((text, i) => ({ type: 'put', key: Buffer.from(`k${i}`), value: new JsonText(Buffer.from(text)) })),
        );
        await updater.write(batch);
        for (const [i, text] of texts.entries()) {
          // What a join or a lookup reads: the value JSON.parse gives (as decodeTableRecord's parsed value was).
          expect(await store.get(Buffer.from(`k${i}`))).toEqual(JSON.parse(text));
          expect(store.readStored(Buffer.from(`k${i}`))).toEqual(new StoredJsonText(text));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('dead-letters bad records (null key, bad value) and keeps the last good value', async () => {
    const { store, updater } = setup();
    await updater.write(updater.prepare([rec(0, 0, 'EUR', '1.5')]));
    const batch = updater.prepare([rec(0, 1, 'EUR', 'not-json'), rec(0, 2, null, '3')]);
    expect(batch.deadLetters.map((d) => [d.topic, d.headers[DeadLetterHeaders.sourceOffset].toString()])).toEqual([
      ['fx-dlq', '1'],
      ['fx-dlq', '2'],
    ]);
    expect(batch.deadLetters[1].headers[DeadLetterHeaders.errorMessage].toString()).toContain('need a key');
    await updater.write(batch);
    expect(await store.get(Buffer.from('EUR'))).toBe(1.5);
    expect(store.checkpoints().get('rates:0')).toBe(3);
  });

  it("under 'fail' throws the typed error and writes nothing", async () => {
    const { store, updater } = setup({ deserialization: 'fail' });
    expect(() => updater.prepare([rec(0, 0, 'EUR', '1.5'), rec(0, 1, 'EUR', '{')])).toThrow(DeserializationError);
    expect(await store.get(Buffer.from('EUR'))).toBeUndefined();
  });
});

describe('GlobalTableUpdater: whose dead letters', () => {
  function twoTables() {
    const b = new StreamsBuilder();
    b.globalTable('rates', { key: Serdes.string(), value: Serdes.json<number>(), store: 'rates' });
    b.globalTable('rates', { key: Serdes.string(), value: Serdes.string(), store: 'rates-text' });
    return b.build({ applicationId: 'fx' });
  }

  it('writes one letter per bad record of a global-only topic, however many tables fail on it', async () => {
    const stores = new Map([
      ['rates', new MemoryKeyValueStore<unknown>('rates', 'global')],
      ['rates-text', new MemoryKeyValueStore<unknown>('rates-text', 'global')],
    ]);
    const metrics = new EngineMetrics();
    const updater = new GlobalTableUpdater({ topology: twoTables(), stores, metrics });
    const batch = updater.prepare([rec(0, 0, null, '1'), rec(0, 1, 'EUR', 'x')]);
    expect(batch.deadLetters.map((d) => d.headers[DeadLetterHeaders.sourceOffset].toString())).toEqual(['0', '1']);
    expect(metrics.snapshot().errors.deserialization['dead-letter']).toBe(2);
  });

  it("skips bad records without a letter when the topic's letters are another reader's, and counts them as such", () => {
    const store = new MemoryKeyValueStore<unknown>('rates', 'global');
    const metrics = new EngineMetrics();
    const updater = new GlobalTableUpdater({
      topology: topology(),
      stores: new Map([['rates', store]]),
      metrics,
      writesDeadLetters: () => false,
    });
    const batch = updater.prepare([rec(0, 0, 'EUR', 'not-json'), rec(0, 1, 'USD', '2')]);
    expect(batch.deadLetters).toEqual([]);
    expect(metrics.snapshot()).toMatchObject({ notDeadLettered: { owner: 1 }, deadLettered: 0, skipped: 0 });
    expect(metrics.snapshot().errors.deserialization['dead-letter']).toBe(0);
  });

  it('by default leaves the letters of a topic a sub-topology also reads to the task', () => {
    const b = new StreamsBuilder();
    b.globalTable('rates', { key: Serdes.string(), value: Serdes.json<number>(), store: 'rates' });
    b.stream('rates', { key: Serdes.string(), value: Serdes.string() }).to('copy');
    const metrics = new EngineMetrics();
    const stores = new Map([['rates', new MemoryKeyValueStore<unknown>('rates', 'global')]]);
    const updater = new GlobalTableUpdater({ topology: b.build({ applicationId: 'fx' }), stores, metrics });
    expect(updater.prepare([rec(0, 0, 'EUR', 'x')]).deadLetters).toEqual([]);
    expect(metrics.snapshot().notDeadLettered.owner).toBe(1);
  });

  it("'log-and-skip' counts the skip and logs what the record was, without advice about policies", () => {
    const warnings: { message: string; fields: Record<string, unknown> }[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields: fields ?? {} }),
    };
    const metrics = new EngineMetrics();
    const stores = new Map([['rates', new MemoryKeyValueStore<unknown>('rates', 'global')]]);
    const updater = new GlobalTableUpdater({
      topology: topology(),
      stores,
      metrics,
      logger,
      errorPolicy: { deserialization: 'log-and-skip' },
    });
    updater.prepare([rec(0, 0, 'EUR', 'x')]);
    expect(metrics.snapshot()).toMatchObject({ skipped: 1, skippedBy: { deserialization: 1 } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('log-and-skip');
    expect(String(warnings[0].fields.error)).not.toContain('policy');
  });
});

describe('createTableRecordDecoder (for restoration)', () => {
  it('decodes like live processing and maps the policy to skip/fail', () => {
    const spec = topology().globalTables[0];
    const decoder = createTableRecordDecoder(spec, { applicationId: 'fx' });
    // The JSON text is stored as it is (value-codec.ts); reads parse it to 1.5.
    expect(decoder.decode(rec(0, 0, 'EUR', '1.5'))).toEqual({
      type: 'put',
      key: Buffer.from('EUR'),
      value: new JsonText(Buffer.from('1.5')),
    });
    expect(decoder.decode(rec(0, 1, 'EUR', null))).toEqual({ type: 'delete', key: Buffer.from('EUR') });
    expect(() => decoder.decode(rec(0, 2, 'EUR', '{'))).toThrow(DeserializationError);
    expect(decoder.onDecodeError(rec(0, 2, 'EUR', '{'), new Error('x'))).toBe('skip');
    const strict = createTableRecordDecoder(spec, { applicationId: 'fx', errorPolicy: { deserialization: 'fail' } });
    expect(strict.onDecodeError(rec(0, 2, 'EUR', '{'), new Error('x'))).toBe('fail');
  });

  it('plugs into restoreStore: same decoding as live processing, bad records skipped', async () => {
    const spec = topology().globalTables[0];
    const decoder = createTableRecordDecoder(spec, { applicationId: 'fx' });
    const store = new MemoryKeyValueStore<unknown>('rates', 'global');
    async function* batches() {
      yield [rec(0, 0, 'EUR', '1.5'), rec(0, 1, 'USD', 'bad'), rec(0, 2, 'GBP', '0.9'), rec(0, 3, 'EUR', null)];
    }
    const result = await restoreStore({
      store,
      batches: batches(),
      endOffsets: new Map([['rates:0', 4]]),
      decode: decoder.decode,
      onDecodeError: decoder.onDecodeError,
    });
    expect(result).toMatchObject({ caughtUp: true, decodeErrorsSkipped: 1 });
    expect(await store.getMany([Buffer.from('EUR'), Buffer.from('USD'), Buffer.from('GBP')])).toEqual([undefined, undefined, 0.9]);
    expect(store.checkpoints().get('rates:0')).toBe(4);
  });
});
