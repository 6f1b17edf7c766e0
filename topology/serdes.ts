/**
 * Serdes: how keys and values become bytes and back. Every serde can also parse a key typed by a human
 * (`fromString`, used by the HTTP query layer) and render a value as JSON-compatible data (`toJSON`).
 *
 * Failures are typed: `SerdeError` when decoding, `SerializationError` when encoding. The engine wraps decode
 * failures into `DeserializationError` with the topic, partition and offset of the record.
 */
import { PlainMsgpack } from '../common/plain-msgpack.js';
import { SerdeError, SerializationError } from '../errors.js';
import type { Windowed } from './windows.js';

export interface Serde<T> {
  /** Short name shown by `describe()`; serdes with the same built-in name produce the same bytes. */
  readonly name: string;
  serialize(value: T): Buffer;
  /** Throws `SerdeError` on bytes it cannot decode. */
  deserialize(bytes: Buffer): T;
  /** Parses a key as typed in a URL or CLI. Throws `SerdeError` when the text is not a valid `T`. */
  fromString(text: string): T;
  /** A JSON-compatible rendering of a value (Buffers become base64 strings). */
  toJSON(value: T): unknown;
}

export interface CustomSerdeOptions<T> {
  readonly name?: string;
  serialize(value: T): Buffer | Uint8Array;
  deserialize(bytes: Buffer): T;
  /** Defaults to `deserialize(Buffer.from(text))`. */
  fromString?(text: string): T;
  /** Defaults to the value itself. */
  toJSON?(value: T): unknown;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(serde: string, bytes: Buffer): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    throw new SerdeError(serde, 'bytes are not valid UTF-8', { cause: error });
  }
}

function toBuffer(bytes: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Renders values for JSON output: Buffers as base64, BigInts as strings, Maps as objects. Values that need none of
 * that (the usual decoded JSON or msgpack object) are returned as they are: copying every answer of the query server
 * cost more than serializing it.
 */
function jsonCompatible(value: unknown): unknown {
  return isJsonReady(value) ? value : convertForJson(value);
}

/** True when JSON.stringify renders `value` exactly as it would render `convertForJson(value)`. No allocation. */
function isJsonReady(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'bigint';
  if (depth > 64) return false; // deep trees take the copying path (it also handles cycles the same way: a throw)
  if (Array.isArray(value)) {
    for (const item of value) if (!isJsonReady(item, depth + 1)) return false;
    return true;
  }
  if (value instanceof Date) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  // A class instance may render through a prototype toJSON the copy would not have.
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (!isJsonReady((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

function convertForJson(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), convertForJson(v)]));
  if (Array.isArray(value)) return value.map(convertForJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertForJson(v)]));
  }
  return value;
}

const stringSerde: Serde<string> = Object.freeze({
  name: 'string',
  serialize: (value: string) => Buffer.from(value, 'utf8'),
  deserialize: (bytes: Buffer) => decodeUtf8('string', bytes),
  fromString: (text: string) => text,
  toJSON: (value: string) => value,
});

const bufferSerde: Serde<Buffer> = Object.freeze({
  name: 'buffer',
  serialize: (value: Buffer) => value,
  deserialize: (bytes: Buffer) => bytes,
  fromString: (text: string) => Buffer.from(text, 'utf8'),
  toJSON: (value: Buffer) => value.toString('base64'),
});

/** True for the serde of `Serdes.string()`: its `deserialize` accepts exactly the bytes that are valid UTF-8. */
export function isStringSerde(serde: Serde<unknown>): boolean {
  return serde === stringSerde;
}

/** Serdes made by `Serdes.json()`: their bytes are exactly JSON text, which stores may keep as it is (value-codec.ts). */
const jsonSerdes = new WeakSet<object>();

/** True for a serde made by `Serdes.json()` (not one merely named 'json'). */
export function isJsonSerde(serde: Serde<unknown>): boolean {
  return jsonSerdes.has(serde);
}

function jsonSerde<T>(): Serde<T> {
  const parse = (text: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new SerdeError('json', `not valid JSON (${errorMessage(error)})`, { cause: error });
    }
  };
  const serde = Object.freeze({
    name: 'json',
    serialize(value: T): Buffer {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw new SerializationError('json', errorMessage(error), { cause: error });
      }
      if (text === undefined) throw new SerializationError('json', `${typeof value} has no JSON form`);
      return Buffer.from(text, 'utf8');
    },
    deserialize: (bytes: Buffer) => parse(decodeUtf8('json', bytes)),
    fromString: (text: string) => parseKeyText<T>(text),
    toJSON: (value: T) => jsonCompatible(value),
  });
  jsonSerdes.add(serde);
  return serde;
}

/** A key typed in a URL: JSON when it parses, else the bare string (keys are usually plain strings). */
function parseKeyText<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

// One packer for all msgpack serdes; records extension off so bytes are plain msgpack readable by any client.
const packr = new PlainMsgpack({ useRecords: false });

function msgpackSerde<T>(): Serde<T> {
  return Object.freeze({
    name: 'msgpack',
    serialize(value: T): Buffer {
      try {
        return packr.pack(value);
      } catch (error) {
        throw new SerializationError('msgpack', errorMessage(error), { cause: error });
      }
    },
    deserialize(bytes: Buffer): T {
      try {
        return packr.unpack(bytes) as T;
      } catch (error) {
        throw new SerdeError('msgpack', `not valid msgpack (${errorMessage(error)})`, { cause: error });
      }
    },
    fromString: (text: string) => parseKeyText<T>(text),
    toJSON: (value: T) => jsonCompatible(value),
  });
}

function customSerde<T>(options: CustomSerdeOptions<T>): Serde<T> {
  const name = options.name ?? 'custom';
  const deserialize = (bytes: Buffer): T => {
    try {
      return options.deserialize(bytes);
    } catch (error) {
      if (error instanceof SerdeError) throw error;
      throw new SerdeError(name, errorMessage(error), { cause: error });
    }
  };
  return Object.freeze({
    name,
    serialize(value: T): Buffer {
      try {
        return toBuffer(options.serialize(value));
      } catch (error) {
        if (error instanceof SerializationError) throw error;
        throw new SerializationError(name, errorMessage(error), { cause: error });
      }
    },
    deserialize,
    fromString(text: string): T {
      if (!options.fromString) return deserialize(Buffer.from(text, 'utf8'));
      try {
        return options.fromString(text);
      } catch (error) {
        throw new SerdeError(name, `cannot parse '${text}' (${errorMessage(error)})`, { cause: error });
      }
    },
    toJSON: (value: T) => (options.toJSON ? options.toJSON(value) : jsonCompatible(value)),
  });
}

/**
 * Keys of a windowed table: the inner key's bytes followed by the window start (8 bytes, big-endian), as Kafka
 * Streams' time-windowed serde writes them; the end is start + `windowSizeMs`.
 */
function windowedSerde<K>(inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
  const name = `windowed(${inner.name})`;
  return Object.freeze({
    name,
    serialize(windowed: Windowed<K>): Buffer {
      const key = inner.serialize(windowed.key);
      const out = Buffer.allocUnsafe(key.length + 8);
      key.copy(out, 0);
      out.writeBigUInt64BE(BigInt(windowed.window.start), key.length);
      return out;
    },
    deserialize(bytes: Buffer): Windowed<K> {
      if (bytes.length < 8) throw new SerdeError(name, `a windowed key has at least 8 bytes (the window start), got ${bytes.length}`);
      const start = Number(bytes.readBigUInt64BE(bytes.length - 8));
      return { key: inner.deserialize(bytes.subarray(0, bytes.length - 8)), window: { start, end: start + windowSizeMs } };
    },
    fromString(text: string): Windowed<K> {
      throw new SerdeError(name, `cannot parse '${text}': query a window store by its plain key (GET /stores/:store/keys/:key/windows)`);
    },
    toJSON: (windowed: Windowed<K>) => ({ key: inner.toJSON(windowed.key), window: { ...windowed.window } }),
  });
}

export const Serdes = Object.freeze({
  /** UTF-8 strings; invalid UTF-8 is a `SerdeError`, never replacement characters. */
  string: (): Serde<string> => stringSerde,
  /** UTF-8 JSON. */
  json: <T = unknown>(): Serde<T> => jsonSerde<T>(),
  /** msgpack via msgpackr (compact, fast, keeps Buffers and Dates). */
  msgpack: <T = unknown>(): Serde<T> => msgpackSerde<T>(),
  /** Raw bytes, untouched. */
  buffer: (): Serde<Buffer> => bufferSerde,
  custom: <T>(options: CustomSerdeOptions<T>): Serde<T> => customSerde(options),
  /** Keys of a windowed table (`Windowed<K>`): what `windowedBy(...).count()` tables and their `toStream()` use. */
  windowed: <K>(inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> => windowedSerde(inner, windowSizeMs),
});

/** True when two serdes are known to write the same bytes for the same value (partitioning depends on it). */
export function sameSerde(a: Serde<unknown>, b: Serde<unknown>): boolean {
  return a === b || (a.name === b.name && ['string', 'json', 'msgpack', 'buffer'].includes(a.name));
}
