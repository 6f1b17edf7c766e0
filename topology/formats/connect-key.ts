/**
 * Keys written by Kafka Connect (Debezium, the outbox event router), as a serde.
 *
 * Connect partitions a record by murmur2 of the key bytes its converter wrote, not of the key a reader cares about:
 * with the JsonConverter that is compact JSON of the key struct, fields in schema order, inside a
 * `{"schema":...,"payload":...}` wrapper when `schemas.enable` is on; with the StringConverter the plain string. To
 * keep Tributary's rule "one partitioner over the key bytes" true, a table fed by Connect stores rows under the
 * record's own key bytes, and this serde turns a lookup key (`42`, or `{ id: 42 }`) back into exactly those bytes:
 *
 *   deserialize(bytes)  the unwrapped key (`keyField` of the struct, or the struct), learning the key's form from
 *                       the bytes (wrapper and schema text, field order, field types);
 *   serialize(key)      the bytes Connect would write for that key, from what was learned.
 *
 * So HTTP routing (murmur2 of the serialized key), repartition topics keyed for a join with the table, and store
 * lookups all land where Connect put the row. The runtime checks on sampled records that the reproduction is byte
 * for byte and that Connect used the default partitioner (connect-key-check.ts), and refuses to start otherwise.
 */
import { ConnectKeyUnknownError, SerdeError, SerializationError } from '../../errors.js';
import type { Serde } from '../serdes.js';

/** How the converter wrote a key: the learned template that `serialize` fills in. */
export type ConnectKeyForm =
  /** StringConverter: the key string's UTF-8 bytes. */
  | { readonly kind: 'string' }
  /** JsonConverter, `schemas.enable=false`: compact JSON of the payload. */
  | { readonly kind: 'json' }
  /** JsonConverter, `schemas.enable=true`: `{"schema":<schema>,"payload":<payload>}`, schema text kept verbatim. */
  | { readonly kind: 'wrapped'; readonly prefix: string };

type JsonPrimitiveType = 'number' | 'string' | 'boolean';

/** What the payload of the latest key looked like: field order and JSON types, for reproducing it. */
interface PayloadShape {
  /** Struct fields in the order the converter wrote them (schema order); undefined for a primitive key. */
  readonly fields: readonly string[] | undefined;
  /** JSON type per field (or of the primitive key), to turn `"42"` typed in a URL back into `42`. */
  readonly types: ReadonlyMap<string, JsonPrimitiveType>;
}

export interface ConnectKeyOptions<K> {
  /** The topic (for messages). */
  readonly topic: string;
  /** What the key is: the user's serde after unwrapping (typed, parses URL text). */
  readonly inner: Serde<K>;
  /** Unwrap this single column of the key struct. */
  readonly keyField?: string;
  /** `struct`: Debezium keys (a struct of the primary-key columns); `any`: outbox aggregate ids (usually strings). */
  readonly expect: 'struct' | 'any';
}

const PRIMITIVE_KEY = '';
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ConnectKeySerde<K> implements Serde<K> {
  readonly name: string;
  readonly topic: string;
  readonly keyField: string | undefined;
  private readonly inner: Serde<K>;
  private readonly expect: 'struct' | 'any';
  private learnedForm: ConnectKeyForm | undefined;
  private shape: PayloadShape | undefined;

  constructor(options: ConnectKeyOptions<K>) {
    this.topic = options.topic;
    this.inner = options.inner;
    this.keyField = options.keyField;
    this.expect = options.expect;
    this.name = `connect-key(${options.inner.name}${options.keyField === undefined ? '' : `:${options.keyField}`})`;
  }

  /** The form learned from the latest key read, if any. */
  get form(): ConnectKeyForm | undefined {
    return this.learnedForm;
  }

  deserialize(bytes: Buffer): K {
    const { payload } = this.read(bytes);
    return this.toUserKey(this.unwrap(payload));
  }

  serialize(key: K): Buffer {
    const form = this.learnedForm;
    const shape = this.shape;
    if (form === undefined || shape === undefined) throw new ConnectKeyUnknownError(this.topic);
    const value = this.fromUserKey(key);
    if (form.kind === 'string') {
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new SerializationError(this.name, `the topic's keys are plain strings, got ${typeof value}`);
      }
      return Buffer.from(String(value), 'utf8');
    }
    const payload = this.payloadOf(value, shape);
    let body: string;
    try {
      body = JSON.stringify(payload);
    } catch (error) {
      throw new SerializationError(this.name, error instanceof Error ? error.message : String(error), { cause: error });
    }
    return Buffer.from(form.kind === 'wrapped' ? `${form.prefix}${body}}` : body, 'utf8');
  }

  fromString(text: string): K {
    return this.inner.fromString(text);
  }

  toJSON(value: K): unknown {
    return this.inner.toJSON(value);
  }

  /** True when `serialize(deserialize(bytes))` gives `bytes` back (what routing relies on). Learns from `bytes`. */
  reproduces(bytes: Buffer): boolean {
    return this.serialize(this.deserialize(bytes)).equals(bytes);
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Parses the converter's bytes, learning their form and the payload's shape. */
  private read(bytes: Buffer): { payload: unknown } {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (error) {
      throw new SerdeError(this.name, 'key bytes are not valid UTF-8', { cause: error });
    }
    const form = this.learnedForm;
    // Fast path: same wrapper as the last key (the schema text rarely changes), parse only the payload.
    if (form?.kind === 'wrapped' && text.startsWith(form.prefix) && text.endsWith('}')) {
      const payload = this.parse(text.slice(form.prefix.length, -1));
      this.learnShape(payload);
      return { payload };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      if (this.expect === 'struct') throw new SerdeError(this.name, 'key is not JSON (a Debezium key is a JSON struct)', { cause: error });
      this.learnedForm = { kind: 'string' };
      this.learnShape(text);
      return { payload: text };
    }
    if (isEnvelope(parsed)) {
      this.learnedForm = { kind: 'wrapped', prefix: `{"schema":${JSON.stringify(parsed.schema)},"payload":` };
      this.learnShape(parsed.payload);
      return { payload: parsed.payload };
    }
    if (this.expect === 'any' && typeof parsed !== 'string' && typeof parsed !== 'object') {
      // A StringConverter key that happens to look like a JSON number or boolean ("42", "true").
      this.learnedForm = { kind: 'string' };
      this.learnShape(text);
      return { payload: text };
    }
    this.learnedForm = { kind: 'json' };
    this.learnShape(parsed);
    return { payload: parsed };
  }

  private parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SerdeError(this.name, 'key payload is not JSON', { cause: error });
    }
  }

  private learnShape(payload: unknown): void {
    if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
      const fields = Object.keys(payload);
      const previous = this.shape;
      if (previous?.fields !== undefined && sameFields(previous.fields, fields)) return;
      const types = new Map<string, JsonPrimitiveType>();
      for (const [field, value] of Object.entries(payload)) {
        const type = primitiveType(value);
        if (type !== undefined) types.set(field, type);
      }
      this.shape = { fields, types };
      return;
    }
    const type = primitiveType(payload);
    this.shape = { fields: undefined, types: new Map(type === undefined ? [] : [[PRIMITIVE_KEY, type]]) };
  }

  private unwrap(payload: unknown): unknown {
    const isStruct = payload !== null && typeof payload === 'object' && !Array.isArray(payload);
    if (this.expect === 'struct' && !isStruct) throw new SerdeError(this.name, 'key payload is not a struct of key columns');
    if (this.keyField === undefined) return payload;
    if (!isStruct) throw new SerdeError(this.name, `keyField '${this.keyField}' needs a struct key, got ${typeof payload}`);
    const columns = Object.keys(payload);
    if (columns.length !== 1 || columns[0] !== this.keyField) {
      throw new SerdeError(
        this.name,
        `keyField '${this.keyField}' unwraps a single-column key, but the key has column(s) ${columns.join(', ') || '(none)'}; ` +
          'look composite keys up as objects (drop keyField)',
      );
    }
    return (payload as Record<string, unknown>)[this.keyField];
  }

  /** The converter's value (a JSON value) → the user's key type, through the user's serde. */
  private toUserKey(value: unknown): K {
    if (this.inner.name === 'json') return value as K;
    if (this.inner.name === 'string') {
      if (typeof value === 'string') return value as K;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value) as K;
    }
    return this.inner.deserialize(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8'));
  }

  /** The user's key → a JSON value as the converter would hold it. */
  private fromUserKey(key: K): unknown {
    if (this.inner.name === 'json' || this.inner.name === 'string') return key;
    const bytes = this.inner.serialize(key);
    const text = bytes.toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** The payload to write: the struct in learned field order, values coerced to the learned JSON types. */
  private payloadOf(value: unknown, shape: PayloadShape): unknown {
    if (this.keyField !== undefined) return { [this.keyField]: coerce(value, shape.types.get(this.keyField)) };
    if (shape.fields === undefined) return coerce(value, shape.types.get(PRIMITIVE_KEY));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new SerializationError(this.name, `the topic's keys are structs with column(s) ${shape.fields.join(', ')}; pass an object`);
    }
    const source = value as Record<string, unknown>;
    const ordered: Record<string, unknown> = {};
    for (const field of shape.fields) {
      if (!(field in source)) throw new SerializationError(this.name, `the key lacks column '${field}'`);
      ordered[field] = coerce(source[field], shape.types.get(field));
    }
    for (const field of Object.keys(source)) {
      if (!shape.fields.includes(field)) throw new SerializationError(this.name, `the topic's keys have no column '${field}'`);
    }
    return ordered;
  }
}

function isEnvelope(value: unknown): value is { schema: { type: string }; payload: unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 2 || keys[0] !== 'schema' || keys[1] !== 'payload') return false;
  const schema = (value as { schema: unknown }).schema;
  return schema !== null && typeof schema === 'object' && typeof (schema as { type?: unknown }).type === 'string';
}

function primitiveType(value: unknown): JsonPrimitiveType | undefined {
  const type = typeof value;
  return type === 'number' || type === 'string' || type === 'boolean' ? type : undefined;
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((field, i) => field === b[i]);
}

/** `"42"` typed in a URL for a numeric column becomes 42; 42 for a string column becomes "42". */
function coerce(value: unknown, type: JsonPrimitiveType | undefined): unknown {
  if (type === 'number' && typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
  if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

export function isConnectKeySerde(serde: Serde<unknown>): serde is ConnectKeySerde<unknown> {
  return serde instanceof ConnectKeySerde;
}
