/**
 * In-memory `KeyValueStore`: the test driver's default store. Faithful to the LevelDB store's contract:
 * keys in byte order, values stored msgpack-encoded (reads return decoded copies), checkpoints written
 * atomically with data. Not for production: it holds everything in memory and nothing survives a restart.
 */
import { InvalidStoreValueError, StoreClosedError } from '../errors.js';
import type { TopicPartitionId } from '../processor/records.js';
import type {
  Checkpoints,
  KeyValueStore,
  RangeOptions,
  ReadOnlyKeyValueStore,
  StoreEntry,
  StoreWrite,
} from './types.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** Same checks and encoding as the LevelDB store, so tests on this store catch what production would reject. */
function encodeChecked(storeName: string, value: unknown): Buffer {
  if (value === undefined) throw new InvalidStoreValueError(storeName, 'value is undefined');
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new InvalidStoreValueError(storeName, `value is a ${typeof value}`);
  }
  return encodeValue(value);
}

function startsWith(key: Buffer, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && Buffer.compare(key.subarray(0, prefix.length), prefix) === 0;
}

function withinBounds(key: Buffer, options: RangeOptions): boolean {
  if (options.gte && Buffer.compare(key, options.gte) < 0) return false;
  if (options.gt && Buffer.compare(key, options.gt) <= 0) return false;
  if (options.lte && Buffer.compare(key, options.lte) > 0) return false;
  if (options.lt && Buffer.compare(key, options.lt) >= 0) return false;
  if (options.prefix && !startsWith(key, options.prefix)) return false;
  return true;
}

export class MemoryKeyValueStore<V = unknown> implements KeyValueStore<V> {
  readonly name: string;
  readonly partition: number | 'global';
  /** Sorted by key bytes; binary-searched on every write. */
  private readonly keys: Buffer[] = [];
  private readonly encoded = new Map<string, Buffer>();
  private savedCheckpoints: Checkpoints = new Map();
  private closed = false;

  constructor(name: string, partition: number | 'global') {
    this.name = name;
    this.partition = partition;
  }

  async get(key: Uint8Array): Promise<V | undefined> {
    this.assertOpen();
    return this.read(key);
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(V | undefined)[]> {
    this.assertOpen();
    return keys.map((key) => this.read(key));
  }

  async *range(options: RangeOptions = {}): AsyncIterable<StoreEntry<V>> {
    this.assertOpen();
    // Snapshot the matching keys first, so writes during iteration do not disturb it (like a LevelDB iterator).
    const matching = this.keys.filter((key) => withinBounds(key, options));
    if (options.reverse) matching.reverse();
    const limited = options.limit !== undefined && options.limit >= 0 ? matching.slice(0, options.limit) : matching;
    const entries = limited.map((key) => ({ key: Buffer.from(key), bytes: this.encoded.get(key.toString('hex')) }));
    for (const { key, bytes } of entries) {
      if (bytes !== undefined) yield { key, value: decodeValue<V>(bytes) };
    }
  }

  async approximateCount(): Promise<number> {
    return this.keys.length;
  }

  async write(writes: readonly StoreWrite<V>[], checkpoints?: Checkpoints): Promise<void> {
    this.assertOpen();
    // Encode everything before mutating, so an unencodable value leaves the store untouched (atomicity).
    const prepared = writes.map((w) => (w.type === 'put' ? { key: Buffer.from(w.key), bytes: encodeChecked(this.name, w.value) } : { key: Buffer.from(w.key), bytes: undefined }));
    for (const { key, bytes } of prepared) {
      if (bytes === undefined) this.remove(key);
      else this.insert(key, bytes);
    }
    if (checkpoints) {
      const merged = new Map<TopicPartitionId, number>(this.savedCheckpoints);
      for (const [tp, offset] of checkpoints) merged.set(tp, offset);
      this.savedCheckpoints = merged;
    }
  }

  put(key: Uint8Array, value: V): Promise<void> {
    return this.write([{ type: 'put', key, value }]);
  }

  delete(key: Uint8Array): Promise<void> {
    return this.write([{ type: 'delete', key }]);
  }

  checkpoints(): Checkpoints {
    return new Map(this.savedCheckpoints);
  }

  readOnly(): ReadOnlyKeyValueStore<V> {
    return {
      name: this.name,
      partition: this.partition,
      get: (key) => this.get(key),
      getMany: (keys) => this.getMany(keys),
      range: (options) => this.range(options),
      approximateCount: () => this.approximateCount(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private read(key: Uint8Array): V | undefined {
    const bytes = this.encoded.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex'));
    return bytes === undefined ? undefined : (decodeValue<V>(bytes));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name, this.partition);
  }

  /** Index of the first key >= `key`. */
  private lowerBound(key: Buffer): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(key: Buffer, bytes: Buffer): void {
    const hex = key.toString('hex');
    if (!this.encoded.has(hex)) this.keys.splice(this.lowerBound(key), 0, key);
    this.encoded.set(hex, bytes);
  }

  private remove(key: Buffer): void {
    const hex = key.toString('hex');
    if (!this.encoded.delete(hex)) return;
    this.keys.splice(this.lowerBound(key), 1);
  }
}
