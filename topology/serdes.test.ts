import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SerdeError, SerializationError } from '../errors.js';
import { Serdes, type Serde } from './serdes.js';

describe('Serdes', () => {
  it('round-trips values through each built-in serde', () => {
    expect(Serdes.string().deserialize(Serdes.string().serialize('héllo ✓'))).toBe('héllo ✓');
    const order = { id: 'o1', items: [1, 2], nested: { ok: true, none: null } };
    expect(Serdes.json<typeof order>().deserialize(Serdes.json<typeof order>().serialize(order))).toEqual(order);
    expect(Serdes.msgpack<typeof order>().deserialize(Serdes.msgpack<typeof order>().serialize(order))).toEqual(order);
    const bytes = Buffer.from([0, 255, 7]);
    expect(Serdes.buffer().deserialize(Serdes.buffer().serialize(bytes))).toEqual(bytes);
  });

  it('keeps a "__proto__" key through the msgpack serde, as the json serde does', () => {
    const value: unknown = JSON.parse('{"__proto__":{"role":"admin"},"id":"o1"}');
    for (const serde of [Serdes.json<unknown>(), Serdes.msgpack<unknown>()]) {
      const decoded = serde.deserialize(serde.serialize(value)) as object;
      expect(Object.keys(decoded)).toEqual(['__proto__', 'id']);
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    }
  });

  it('parses keys typed as strings (for HTTP queries) and renders values as JSON', () => {
    expect(Serdes.string().fromString('c1')).toBe('c1');
    expect(Serdes.json<number>().fromString('42')).toBe(42);
    expect(Serdes.json<string>().fromString('c1')).toBe('c1'); // a bare string that is not JSON stays a string
    expect(Serdes.buffer().toJSON(Buffer.from('hi'))).toBe(Buffer.from('hi').toString('base64'));
    expect(Serdes.msgpack().toJSON({ big: 10n, bin: Buffer.from([1]) })).toEqual({ big: '10', bin: 'AQ==' });
  });

  it('custom serdes wrap user failures in typed errors', () => {
    const intSerde = Serdes.custom<number>({
      name: 'int32',
      serialize: (n) => {
        if (!Number.isInteger(n)) throw new Error('not an integer');
        const b = Buffer.alloc(4);
        b.writeInt32BE(n);
        return b;
      },
      deserialize: (b) => {
        if (b.length !== 4) throw new Error(`expected 4 bytes, got ${b.length}`);
        return b.readInt32BE(0);
      },
      fromString: (s) => Number.parseInt(s, 10),
    });
    expect(intSerde.deserialize(intSerde.serialize(-5))).toBe(-5);
    expect(intSerde.fromString('12')).toBe(12);
    expect(() => intSerde.deserialize(Buffer.from([1]))).toThrow(SerdeError);
    expect(() => intSerde.serialize(1.5)).toThrow(SerializationError);
  });

  it('rejects invalid UTF-8 instead of inventing replacement characters', () => {
    expect(() => Serdes.string().deserialize(Buffer.from([0xc3, 0x28]))).toThrow(SerdeError);
  });

  it('reports unserializable values as SerializationError', () => {
    expect(() => Serdes.json().serialize(10n)).toThrow(SerializationError);
    expect(() => Serdes.json().serialize(undefined)).toThrow(SerializationError);
  });

  it('never crashes on random bytes: every serde returns a value or throws a typed SerdeError', () => {
    const serdes: Serde<unknown>[] = [
      Serdes.string(),
      Serdes.json(),
      Serdes.msgpack(),
      Serdes.buffer(),
      Serdes.custom({ serialize: () => Buffer.alloc(0), deserialize: (b) => JSON.parse(b.toString()) as unknown }),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        for (const serde of serdes) {
          try {
            serde.deserialize(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(SerdeError);
            expect((error as SerdeError).code).toBe('TRIBUTARY_SERDE');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/** The rendering the query server promised before values were passed through uncopied: always a fresh copy. */
function copyingJsonCompatible(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), copyingJsonCompatible(v)]));
  if (Array.isArray(value)) return value.map(copyingJsonCompatible);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyingJsonCompatible(v)]));
  }
  return value;
}

class Money {
  constructor(readonly cents: number) {}
  toJSON(): string {
    return `${this.cents / 100} EUR`;
  }
}

describe('toJSON of the json and msgpack serdes', () => {
  const leaf = fc.oneof(
    fc.jsonValue(),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 8 }),
    fc.integer().map((n) => Buffer.from(String(n))),
    fc.date({ noInvalidDate: true }),
    fc.integer().map((cents) => new Money(cents)),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4 }),
      fc
        .array(fc.tuple(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), tie('node')), { maxLength: 3 })
        .map((entries) => new Map(entries)),
    ),
  })).node;

  it('renders every value as the copying rendering did (property)', () => {
    for (const serde of [Serdes.json<unknown>(), Serdes.msgpack<unknown>()]) {
      fc.assert(
        fc.property(tree, (value) => {
          expect(JSON.stringify(serde.toJSON(value))).toBe(JSON.stringify(copyingJsonCompatible(value)));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('passes plain decoded values through without copying them and copies only what needs rendering', () => {
    const order = { id: 'o1', items: [{ sku: 'a', qty: 2 }], at: new Date(0), note: null };
    expect(Serdes.json<typeof order>().toJSON(order)).toBe(order);
    const withBytes = { id: 'o2', raw: Buffer.from('hi') };
    expect(Serdes.msgpack<typeof withBytes>().toJSON(withBytes)).toEqual({ id: 'o2', raw: 'aGk=' });
    const priced = { total: new Money(250) };
    // A class instance renders its own fields, as it always did (its prototype's toJSON is not consulted).
    expect(JSON.stringify(Serdes.json<typeof priced>().toJSON(priced))).toBe('{"total":{"cents":250}}');
  });
});
