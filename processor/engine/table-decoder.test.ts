import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TableSourceSpec } from '../../topology/specs.js';
import { Serdes } from '../../topology/serdes.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { EngineMetrics } from './metrics.js';
import {
  checkTableRecord,
  createTableRecordDecoder,
  decodeStoredTableRecord,
  decodeTableChange,
  decodeTableRecord,
} from './table-decoder.js';
import { DeserializationError } from '../../errors.js';
import { decodeValue, encodeValue, JsonText } from '../../state-store/value-codec.js';

const spec: TableSourceSpec = { topic: 'customers', store: 'customers', nodeId: 0, keySerde: Serdes.string(), valueSerde: Serdes.json() };
const bad: ConsumedRecord = {
  topic: 'customers',
  partition: 1,
  offset: 7,
  timestamp: 5,
  key: Buffer.from('c1'),
  value: Buffer.from('{oops'),
  headers: {},
};

function decodeError(record: ConsumedRecord): unknown {
  try {
    createTableRecordDecoder(spec, { applicationId: 'app' }).decode(record);
  } catch (error) {
    return error;
  }
  throw new Error('expected the record to fail decoding');
}

describe('createTableRecordDecoder during restoration', () => {
  it('skips a bad record that was processed before (its dead letter exists), and fails under the fail policy', () => {
    expect(createTableRecordDecoder(spec, { applicationId: 'app' }).onDecodeError(bad, decodeError(bad))).toBe('skip');
    const strict = createTableRecordDecoder(spec, { applicationId: 'app', errorPolicy: { deserialization: 'fail' } });
    expect(strict.onDecodeError(bad, decodeError(bad))).toBe('fail');
  });

  it('dead-letters a bad record nobody processed yet, and skips it only once the dead letter is acknowledged', async () => {
    const sent: ProducedRecord[] = [];
    let acknowledge: () => void = () => {};
    const metrics = new EngineMetrics();
    const decoder = createTableRecordDecoder(spec, {
      applicationId: 'app',
      metrics,
      deadLetters: (letters) => {
        sent.push(...letters);
        return new Promise<void>((resolve) => (acknowledge = resolve));
      },
    });
    let decided: string | undefined;
    const pending = Promise.resolve(decoder.onDecodeError(bad, decodeError(bad))).then((d) => (decided = d));
    await new Promise((r) => setImmediate(r));
    expect(decided).toBeUndefined(); // not before the ack
    acknowledge();
    await pending;
    expect(decided).toBe('skip');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'app-dlq', key: bad.key, value: bad.value });
    expect(sent[0].headers[DeadLetterHeaders.sourceOffset]?.toString()).toBe('7');
    // Counted as a dead letter by whoever acknowledges it (the runtime's sender); here: one record dead-lettered.
    expect(metrics.snapshot().errors.deserialization['dead-letter']).toBe(1);
  });

  it("without a writer, counts a bad record as another's to dead-letter; 'log-and-skip' counts the skip", () => {
    const metrics = new EngineMetrics();
    const owned = createTableRecordDecoder(spec, { applicationId: 'app', metrics, deadLetteredElsewhere: 'owner' });
    expect(owned.onDecodeError(bad, decodeError(bad))).toBe('skip');
    const restored = createTableRecordDecoder(spec, { applicationId: 'app', metrics });
    expect(restored.onDecodeError(bad, decodeError(bad))).toBe('skip');
    const warned: string[] = [];
    const logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (message: string) => void warned.push(message) };
    const skipping = createTableRecordDecoder(spec, {
      applicationId: 'app',
      metrics,
      logger,
      errorPolicy: { deserialization: 'log-and-skip' },
    });
    expect(skipping.onDecodeError(bad, decodeError(bad))).toBe('skip');
    expect(metrics.snapshot()).toMatchObject({ notDeadLettered: { owner: 1, restored: 1 }, skipped: 1, deadLettered: 0 });
    expect(warned).toEqual(['skipping an undecodable table record during restoration (deserialization error policy: log-and-skip)']);
  });
});

/** What `run` throws, or undefined. */
function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('decodeStoredTableRecord (restoration writes)', () => {
  const record = (value: string | null, key: string | null = 'c1'): ConsumedRecord => ({
    ...bad,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
  });

  it('keeps a JSON table value as its text, which reads back as the parsed value', () => {
    const write = decodeStoredTableRecord(spec, record('{"name":"Ada"}'));
    expect(write).toEqual({ type: 'put', key: Buffer.from('c1'), value: new JsonText(Buffer.from('{"name":"Ada"}')) });
    expect(decodeValue(encodeValue(write?.type === 'put' ? write.value : undefined))).toEqual({ name: 'Ada' });
    expect(decodeStoredTableRecord(spec, record(null))).toEqual({ type: 'delete', key: Buffer.from('c1') });
  });

  it('fails a bad record with the same error as decodeTableRecord (bad JSON, bad UTF-8, no key)', () => {
    for (const bytes of [Buffer.from('{oops'), Buffer.from([0x22, 0xff, 0x22]), Buffer.from('1 2')]) {
      const r = { ...bad, value: bytes };
      const stored = errorOf(() => decodeStoredTableRecord(spec, r));
      expect(stored).toBeInstanceOf(DeserializationError);
      expect(stored).toEqual(errorOf(() => decodeTableRecord(spec, r)));
    }
    expect(errorOf(() => decodeStoredTableRecord(spec, record('{}', null)))).toEqual(
      errorOf(() => decodeTableRecord(spec, record('{}', null))),
    );
  });

  it('checks a string key as UTF-8 without decoding it: same verdict and error as the string serde', () => {
    const keys = [
      Buffer.from('c1'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xef, 0xbb, 0xbf, 0x41]),
      Buffer.alloc(0),
    ];
    for (const key of keys) {
      let serdeError: unknown;
      try {
        Serdes.string().deserialize(key);
      } catch (error) {
        serdeError = error;
      }
      for (const value of ['{"a":1}', null]) {
        const r = { ...bad, key, value: value === null ? null : Buffer.from(value) };
        const error = errorOf(() => decodeStoredTableRecord(spec, r));
        if (serdeError === undefined) expect(error).toBeUndefined();
        else {
          expect(error).toBeInstanceOf(DeserializationError);
          expect((error as DeserializationError).part).toBe('key');
          expect(error).toEqual(errorOf(() => decodeTableChange(spec, r)));
        }
      }
    }
  });

  it('stores the decoded value for any other value serde, even one named json', () => {
    const named: TableSourceSpec = {
      ...spec,
      valueSerde: {
        name: 'json',
        serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
        deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
        fromString: (text: string) => text,
        toJSON: (v: unknown) => v,
      },
    };
    expect(decodeStoredTableRecord(named, record('{"a":1}'))).toEqual({ type: 'put', key: Buffer.from('c1'), value: { a: 1 } });
    const msgpack: TableSourceSpec = { ...spec, valueSerde: Serdes.msgpack() };
    expect(decodeStoredTableRecord(msgpack, record('\u0001'))).toEqual({ type: 'put', key: Buffer.from('c1'), value: 1 });
  });
});

describe('checkTableRecord (the verdict only)', () => {
  // Bytes near JSON: mostly JSON text, some of it broken by a flipped byte, some random, some bad UTF-8.
  const nearJson = fc.oneof(
    fc.json().map((text) => Buffer.from(text, 'utf8')),
    fc.tuple(fc.json(), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([text, at, byte]) => {
      const bytes = Buffer.from(text, 'utf8');
      bytes[at % bytes.length] = byte;
      return bytes;
    }),
    fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  );
  const keys = fc.oneof(
    fc.constant(null),
    fc.string().map((text) => Buffer.from(text, 'utf8')),
    fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes)),
  );

  it('throws exactly what decodeTableRecord throws, for JSON, msgpack and string serdes', () => {
    const specs: TableSourceSpec[] = [spec, { ...spec, valueSerde: Serdes.msgpack() }, { ...spec, valueSerde: Serdes.string() }];
    fc.assert(
      fc.property(keys, fc.option(nearJson, { freq: 8 }), fc.nat(specs.length - 1), (key, value, which) => {
        const source = specs[which] as TableSourceSpec;
        const r: ConsumedRecord = { ...bad, key, value };
        expect(errorOf(() => checkTableRecord(source, r))).toEqual(errorOf(() => decodeTableRecord(source, r)));
      }),
      { numRuns: 2000 },
    );
  });
});
