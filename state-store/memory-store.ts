/**
 * In-memory `KeyValueStore`: the test driver's default store. Faithful to the LevelDB store's contract:
 * keys in byte order, values stored msgpack-encoded (reads return decoded copies), checkpoints written
 * atomically with data. Not for production: it holds everything in memory and nothing survives a restart.
 */
import { StoreClosedError } from '../errors.js';
import type { TopicPartitionId } from '../common/records.js';
import type { StoredVersion } from './record-version.js';
import type {
  Checkpoints,
  StoreMeta,
  KeyInterval,
  KeyValueStore,
  RangeOptions,
  ReadOnlyKeyValueStore,
  StoreEntry,
  StoreWrite,
} from './types.js';
import { prefixUpperBound } from './key-layout.js';
import { decodeStoredValue, decodeValue, encodeStoreValue, type StoredJsonText } from './value-codec.js';

export class MemoryKeyValueStore<V = unknown> implements KeyValueStore<V> {
  readonly name: string;
  readonly partition: number | 'global';
  /** Sorted by key bytes; binary-searched on every write. */
  private readonly keys: Buffer[] = [];
  private readonly encoded = new Map<string, Buffer>();
  private savedCheckpoints: Checkpoints = new Map();
  private readonly savedMeta = new Map<string, string>();
  /** Versions of versioned writes, by key hex. */
  private readonly versions = new Map<string, StoredVersion>();
  private closed = false;

  constructor(name: string, partition: number | 'global') {
    this.name = name;
    this.partition = partition;
  }

  async get(key: Uint8Array): Promise<V | undefined> {
    this.assertOpen();
    return this.read(key);
  }

  readStored(key: Uint8Array): V | StoredJsonText | undefined {
    this.assertOpen();
    const bytes = this.encoded.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex'));
    return bytes === undefined ? undefined : decodeStoredValue<V>(bytes);
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(V | undefined)[]> {
    this.assertOpen();
    return keys.map((key) => this.read(key));
  }

  async *range(options: RangeOptions = {}): AsyncIterable<StoreEntry<V>> {
    this.assertOpen();
    // Binary-search the bounds (like a LevelDB seek) so a page costs O(log n + page), then snapshot just that
    // slice, so writes during iteration do not disturb it (like a LevelDB iterator).
    let start = 0;
    let end = this.keys.length; // exclusive
    if (options.gte) start = Math.max(start, this.lowerBound(Buffer.from(options.gte)));
    if (options.gt) start = Math.max(start, this.upperBound(Buffer.from(options.gt)));
    if (options.lt) end = Math.min(end, this.lowerBound(Buffer.from(options.lt)));
    if (options.lte) end = Math.min(end, this.upperBound(Buffer.from(options.lte)));
    if (options.prefix) {
      start = Math.max(start, this.lowerBound(Buffer.from(options.prefix)));
      const after = prefixUpperBound(options.prefix);
      if (after) end = Math.min(end, this.lowerBound(after));
    }
    if (start >= end) return;
    const limit = options.limit !== undefined && options.limit >= 0 ? options.limit : end - start;
    const slice = options.reverse
      ? this.keys.slice(Math.max(start, end - limit), end).reverse()
      : this.keys.slice(start, Math.min(end, start + limit));
    const entries = slice.map((key) => ({ key: Buffer.from(key), bytes: this.encoded.get(key.toString('hex')) }));
    for (const { key, bytes } of entries) {
      if (bytes !== undefined) yield { key, value: decodeValue<V>(bytes) };
    }
  }

  async approximateCount(): Promise<number> {
    return this.keys.length;
  }

  async write(writes: readonly StoreWrite<V>[], checkpoints?: Checkpoints, meta?: StoreMeta): Promise<void> {
    this.assertOpen();
    // Encode everything before mutating, so an unencodable value leaves the store untouched (atomicity).
    const lastClear = writes.findLastIndex((w) => w.type === 'clear');
    const prepared = writes
      .slice(lastClear + 1)
      .filter((w) => w.type !== 'clear')
      .map((w) =>
        w.type === 'put'
          ? { key: Buffer.from(w.key), bytes: encodeStoreValue(this.name, w.value) }
          : { key: Buffer.from(w.key), bytes: undefined },
      );
    if (lastClear >= 0) {
      this.keys.length = 0;
      this.encoded.clear();
      this.versions.clear();
    }
    for (const w of writes.slice(lastClear + 1)) {
      if (w.type !== 'clear' && w.version !== undefined)
        this.versions.set(Buffer.from(w.key).toString('hex'), { ...w.version, deleted: w.type === 'delete' });
    }
    for (const { key, bytes } of prepared) {
      if (bytes === undefined) this.remove(key);
      else this.insert(key, bytes);
    }
    if (checkpoints) {
      const merged = new Map<TopicPartitionId, number>(this.savedCheckpoints);
      for (const [tp, offset] of checkpoints) merged.set(tp, offset);
      this.savedCheckpoints = merged;
    }
    if (meta) for (const [name, value] of meta) this.savedMeta.set(name, value);
  }

  put(key: Uint8Array, value: V): Promise<void> {
    return this.write([{ type: 'put', key, value }]);
  }

  delete(key: Uint8Array): Promise<void> {
    return this.write([{ type: 'delete', key }]);
  }

  async deleteRange(range: KeyInterval): Promise<void> {
    this.assertOpen();
    const start = this.lowerBound(Buffer.from(range.gte));
    const end = this.lowerBound(Buffer.from(range.lt));
    if (start >= end) return;
    for (const key of this.keys.splice(start, end - start)) this.encoded.delete(key.toString('hex'));
  }

  async getVersions(keys: readonly Uint8Array[]): Promise<(StoredVersion | undefined)[]> {
    this.assertOpen();
    return keys.map((key) => this.versions.get(Buffer.from(key).toString('hex')));
  }

  checkpoints(): Checkpoints {
    return new Map(this.savedCheckpoints);
  }

  meta(name: string): string | undefined {
    return this.savedMeta.get(name);
  }

  readOnly(): ReadOnlyKeyValueStore<V> {
    return {
      name: this.name,
      partition: this.partition,
      get: (key) => this.get(key),
      readStored: (key) => this.readStored(key),
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
    return bytes === undefined ? undefined : decodeValue<V>(bytes);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name, this.partition);
  }

  /** Index of the first key >= `key`. */
  private lowerBound(key: Buffer): number {
    return this.search(key, false);
  }

  /** Index of the first key > `key`. */
  private upperBound(key: Buffer): number {
    return this.search(key, true);
  }

  private search(key: Buffer, strictlyGreater: boolean): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = Buffer.compare(this.keys[mid], key);
      if (c < 0 || (strictlyGreater && c === 0)) lo = mid + 1;
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
