/**
 * The production KeyValueStore: one LevelDB (classic-level) per (store, partition), or per global store.
 * Key layout (namespace byte, checkpoint keys) is in key-layout.ts; value encoding in value-codec.ts.
 */
import { ClassicLevel, type ChainedBatch as LevelChainedBatch } from 'classic-level';
import { StateDirectoryLockedError, StoreClosedError, StoreCorruptedError } from '../errors.js';
import type { TopicPartitionId } from '../common/records.js';
import {
  CHECKPOINT_KEY_END,
  CHECKPOINT_KEY_PREFIX,
  DATA_END,
  DATA_NAMESPACE,
  DATA_START,
  FORMAT_KEY,
  FORMAT_MARKER,
  META_KEY_END,
  META_KEY_PREFIX,
  READABLE_OLD_FORMAT_MARKERS,
  VERSION_END,
  VERSION_START,
  checkpointKey,
  dataKey,
  isEmptyRange,
  metaKey,
  storedRange,
  topicPartitionOfCheckpointKey,
  userKey,
  versionKey,
} from './key-layout.js';
import { directOperations, NativeBatches } from './native-batches.js';
import { decodeVersion, encodeVersion, type StoredVersion } from './record-version.js';
import type {
  Checkpoints,
  StoreMeta,
  KeyInterval,
  PreparedWrite,
  KeyValueStore,
  RangeOptions,
  ReadOnlyKeyValueStore,
  StoreEntry,
  StoreWrite,
} from './types.js';
import {
  JsonText,
  decodeStoredValue,
  decodeValue,
  encodeStoreValue,
  jsonTextLength,
  writeJsonText,
  writeJsonTextHeader,
  type StoredJsonText,
} from './value-codec.js';

/** LevelDB tuning knobs passed through to classic-level (see README for the restore measurements behind the defaults). */
export interface LevelTuning {
  /** Memtable size before a flush to an SST file; memory per open store. Default 4 MiB (LevelDB's default). */
  readonly writeBufferSize?: number;
  /** Block cache size. Default 8 MiB. */
  readonly cacheSize?: number;
  /** Uncompressed data per block. Default 4 KiB. */
  readonly blockSize?: number;
  /** Snappy compression. Default true. */
  readonly compression?: boolean;
  /** Open files LevelDB may keep. Default 500 (lower it when a process hosts many partitions). */
  readonly maxOpenFiles?: number;
  /** Bytes LevelDB writes into one table file before starting the next (compaction output). Default 2 MiB (LevelDB's). */
  readonly maxFileSize?: number;
}

export interface LevelStoreOptions {
  /** Directory of this one LevelDB. */
  readonly location: string;
  readonly name: string;
  readonly partition: number | 'global';
  readonly tuning?: LevelTuning;
}

/** Entries fetched per native `nextv` call when scanning. */
const SCAN_BATCH = 1000;
/** approximateCount() counts exactly up to this many keys, then extrapolates from on-disk sizes. */
const COUNT_SAMPLE = 10_000;

type LevelDb = ClassicLevel<Buffer, Buffer>;

/**
 * Exact-size buffers reused for the data keys and JSON-text values put into a batch. classic-level copies a put's
 * key and value into its native WriteBatch during the call, and nothing here keeps the op (no 'write' listener, no
 * prewrite hook on these databases), so the bytes need not outlive `batch.put`: a restore then allocates no key and
 * value buffer per record. Sizes above SCRATCH_MAX_BYTES get a buffer of their own.
 */
const SCRATCH_MAX_BYTES = 1024;
const scratchKeys: (Buffer | undefined)[] = [];
const scratchValues: (Buffer | undefined)[] = [];

function scratch(buffers: (Buffer | undefined)[], length: number): Buffer {
  if (length > SCRATCH_MAX_BYTES) return Buffer.allocUnsafe(length);
  let buffer = buffers[length];
  if (buffer === undefined) {
    buffer = Buffer.allocUnsafeSlow(length);
    buffers[length] = buffer;
  }
  return buffer;
}

/** `dataKey(key)` in a reused buffer, valid until the next call. */
function scratchDataKey(key: Uint8Array): Buffer {
  const out = scratch(scratchKeys, key.length + 1);
  out[0] = DATA_NAMESPACE;
  out.set(key, 1);
  return out;
}

/** `scratchDataKey(key.subarray(start, end))` without the subarray. */
function scratchDataKeyAt(key: Buffer, start: number, end: number): Buffer {
  const out = scratch(scratchKeys, end - start + 1);
  out[0] = DATA_NAMESPACE;
  key.copy(out, 1, start, end);
  return out;
}

/** `scratchJsonText(new JsonText(text.subarray(start, end)))` without the subarray and the JsonText. */
function scratchJsonTextAt(text: Buffer, start: number, end: number): Buffer {
  const out = scratch(scratchValues, end - start + 2);
  writeJsonTextHeader(out);
  text.copy(out, 2, start, end);
  return out;
}

/** The stored bytes of a JSON-text value in a reused buffer, valid until the next call. */
function scratchJsonText(value: JsonText): Buffer {
  const out = scratch(scratchValues, jsonTextLength(value));
  writeJsonText(value, out);
  return out;
}

type ChainedBatch = LevelChainedBatch<LevelDb, Buffer, Buffer>;

/**
 * The classic-level options every store opens with (`tuning` over the defaults). Exported for the bench's store
 * ceiling (scripts/bench/kafka-measure.ts), which writes raw batches into a LevelDB opened the same way.
 */
export function levelDatabaseOptions(tuning: LevelTuning = {}) {
  return {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    writeBufferSize: tuning.writeBufferSize ?? 4 * 1024 * 1024,
    cacheSize: tuning.cacheSize ?? 8 * 1024 * 1024,
    blockSize: tuning.blockSize ?? 4096,
    compression: tuning.compression ?? true,
    maxOpenFiles: tuning.maxOpenFiles ?? 500,
    maxFileSize: tuning.maxFileSize ?? 2 * 1024 * 1024,
  } as const;
}

function levelErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // classic-level wraps open failures as LEVEL_DATABASE_NOT_OPEN with the real reason in `cause`.
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'LEVEL_DATABASE_NOT_OPEN') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export class LevelKeyValueStore<V = unknown> implements KeyValueStore<V> {
  readonly name: string;
  readonly partition: number | 'global';
  readonly location: string;
  readonly #db: LevelDb;
  #checkpoints: Map<TopicPartitionId, number>;
  readonly #meta: Map<string, string>;
  #closed = false;
  /** Written native batches, reused by the next ones (native-batches.ts). */
  readonly #batches = new NativeBatches();
  /** The flush `flushWriteBuffer()` started, until it settles (close waits for it). */
  #flushing: Promise<void> | undefined;
  #readOnlyView: ReadOnlyKeyValueStore<V> | undefined;

  private constructor(options: LevelStoreOptions, db: LevelDb, checkpoints: Map<TopicPartitionId, number>, meta: Map<string, string>) {
    this.name = options.name;
    this.partition = options.partition;
    this.location = options.location;
    this.#db = db;
    this.#checkpoints = checkpoints;
    this.#meta = meta;
  }

  /**
   * Opens (creating if missing) the LevelDB at `options.location`.
   * @throws StateDirectoryLockedError when another process or instance has it open (LevelDB LOCK).
   * @throws StoreCorruptedError when LevelDB reports corruption or the Tributary format marker is missing/unknown.
   */
  static async open<V = unknown>(options: LevelStoreOptions): Promise<LevelKeyValueStore<V>> {
    const db: LevelDb = new ClassicLevel<Buffer, Buffer>(options.location, levelDatabaseOptions(options.tuning));
    try {
      await db.open({ createIfMissing: true });
    } catch (error) {
      const code = levelErrorCode(error);
      if (code === 'LEVEL_LOCKED') throw new StateDirectoryLockedError(options.location, undefined, { cause: error });
      throw new StoreCorruptedError(options.location, `LevelDB open failed (${code ?? 'unknown error'})`, {
        cause: error,
      });
    }
    try {
      await ensureFormatMarker(db, options.location);
      const checkpoints = await readCheckpoints(db, options.location);
      const meta = new Map<string, string>();
      for await (const [key, value] of db.iterator({ gte: META_KEY_PREFIX, lt: META_KEY_END })) {
        meta.set(key.subarray(META_KEY_PREFIX.length).toString('utf8'), value.toString('utf8'));
      }
      return new LevelKeyValueStore<V>(options, db, checkpoints, meta);
    } catch (error) {
      await db.close().catch(() => {});
      if (error instanceof StoreCorruptedError) throw error;
      throw new StoreCorruptedError(options.location, `reading metadata failed (${levelErrorCode(error) ?? 'unknown'})`, {
        cause: error,
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.name, this.partition);
  }

  async get(key: Uint8Array): Promise<V | undefined> {
    this.#assertOpen();
    const bytes = await this.#db.get(dataKey(key));
    return bytes === undefined ? undefined : decodeValue<V>(bytes);
  }

  readStored(key: Uint8Array): V | StoredJsonText | undefined {
    this.#assertOpen();
    // getSync reads the key during the call and keeps nothing (as batch.put, see `scratch`): no key buffer per read.
    const bytes = this.#db.getSync(scratchDataKey(key));
    return bytes === undefined ? undefined : decodeStoredValue<V>(bytes);
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(V | undefined)[]> {
    this.#assertOpen();
    if (keys.length === 0) return [];
    const values = await this.#db.getMany(keys.map(dataKey));
    return values.map((bytes) => (bytes === undefined ? undefined : decodeValue<V>(bytes)));
  }

  async *range(options: RangeOptions = {}): AsyncGenerator<StoreEntry<V>> {
    this.#assertOpen();
    const limit = options.limit ?? -1;
    if (limit === 0) return;
    const bounds = storedRange(options);
    if (isEmptyRange(bounds)) return;
    const iterator = this.#db.iterator({
      [bounds.lower.inclusive ? 'gte' : 'gt']: bounds.lower.key,
      [bounds.upper.inclusive ? 'lte' : 'lt']: bounds.upper.key,
      reverse: options.reverse === true,
      limit,
      highWaterMarkBytes: 256 * 1024,
    });
    try {
      for (;;) {
        const chunk = await iterator.nextv(SCAN_BATCH);
        if (chunk.length === 0) return;
        for (const [key, value] of chunk) {
          yield { key: userKey(key), value: decodeValue<V>(value) };
        }
      }
    } finally {
      await iterator.close();
    }
  }

  /**
   * Exact up to COUNT_SAMPLE keys (a key-only scan of at most that many keys). Above that: the on-disk size of the
   * whole data range times (sample count / on-disk size of the sample's key range), so compression and per-entry
   * overhead cancel out. Entries still in the memtable are not on disk yet, so large fresh stores may undercount
   * by up to one write buffer. Never less than COUNT_SAMPLE once the sample is full.
   */
  async approximateCount(): Promise<number> {
    this.#assertOpen();
    const keys = this.#db.keys({ gte: DATA_START, lt: DATA_END, limit: COUNT_SAMPLE, highWaterMarkBytes: 256 * 1024 });
    let counted = 0;
    let lastKey: Buffer | undefined;
    try {
      for (;;) {
        const chunk = await keys.nextv(SCAN_BATCH);
        if (chunk.length === 0) break;
        counted += chunk.length;
        lastKey = chunk[chunk.length - 1];
      }
    } finally {
      await keys.close();
    }
    if (counted < COUNT_SAMPLE || lastKey === undefined) return counted;
    const [total, sample] = await Promise.all([
      this.#db.approximateSize(DATA_START, DATA_END),
      this.#db.approximateSize(DATA_START, lastKey),
    ]);
    if (total <= 0 || sample <= 0) return counted;
    return Math.max(counted, Math.round((total / sample) * counted));
  }

  async write(writes: readonly StoreWrite<V>[], checkpoints?: Checkpoints, meta?: StoreMeta): Promise<void> {
    this.#assertOpen();
    let from = 0;
    for (let i = writes.length - 1; i >= 0; i--) {
      if (writes[i].type === 'clear') {
        from = i + 1;
        // LevelDB has no range delete inside a batch: clear first (the checkpoint stays behind until the batch below).
        await this.#clearData();
        break;
      }
    }
    await this.#commit(
      (batch) => {
        for (let i = from; i < writes.length; i++) this.#add(batch, writes[i]);
      },
      checkpoints,
      meta,
    );
  }

  /**
   * The native batch is filled as the writes come (each put is copied into it at once), so a restore fills the next
   * batch while LevelDB writes the previous one; `commit` then only adds the checkpoints and hands it to LevelDB.
   */
  prepareWrite(): PreparedWrite<V> {
    this.#assertOpen();
    const batch = this.#batches.reuse(this.#db.batch());
    // Records read in place go straight into the native batch (no hooks or listeners on a store's database).
    const direct = directOperations(batch) ?? batch;
    let clearFirst = false;
    let settled = false;
    const settle = (): void => {
      if (settled) throw new StoreClosedError(this.name, this.partition);
      settled = true;
    };
    return {
      add: (write) => {
        this.#assertOpen();
        if (write.type === 'clear') {
          // Everything added before a clear is cleared anyway; it applies first, as in write().
          batch.clear();
          clearFirst = true;
        } else this.#add(batch, write);
      },
      putJsonTextAt: (key, keyStart, keyEnd, value, valueStart, valueEnd) => {
        this.#assertOpen();
        // The direct path skips abstract-level's check that the batch is still open: a write after commit or discard
        // would otherwise land in the native batch the store reuses next.
        if (settled) throw new StoreClosedError(this.name, this.partition);
        direct.put(scratchDataKeyAt(key, keyStart, keyEnd), scratchJsonTextAt(value, valueStart, valueEnd));
      },
      deleteAt: (key, keyStart, keyEnd) => {
        this.#assertOpen();
        if (settled) throw new StoreClosedError(this.name, this.partition);
        direct.del(scratchDataKeyAt(key, keyStart, keyEnd));
      },
      commit: async (checkpoints, meta) => {
        settle();
        this.#assertOpen();
        if (clearFirst) await this.#clearData();
        await this.#commit(() => undefined, checkpoints, meta, batch);
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await batch.close();
      },
    };
  }

  /** One put or delete (and its version entry) into `batch`; a clear is the caller's (`#clearData`). */
  #add(batch: ChainedBatch, w: StoreWrite<V>): void {
    if (w.type === 'put') {
      const value = w.value instanceof JsonText ? scratchJsonText(w.value) : encodeStoreValue(this.name, w.value);
      batch.put(scratchDataKey(w.key), value);
    } else if (w.type === 'delete') batch.del(scratchDataKey(w.key));
    if (w.type !== 'clear' && w.version !== undefined)
      batch.put(versionKey(w.key), encodeVersion({ ...w.version, deleted: w.type === 'delete' }));
  }

  /** LevelDB has no range delete inside a batch: data and versions are cleared natively, before the batch. */
  async #clearData(): Promise<void> {
    await this.#db.clear({ gte: DATA_START, lt: DATA_END });
    await this.#db.clear({ gte: VERSION_START, lt: VERSION_END });
  }

  /**
   * Fills one chained batch (data via `fill`, then meta entries and the checkpoint keys) and writes it. A chained
   * batch appends each op straight into the native WriteBatch, skipping the op-object array of `db.batch(ops)`
   * (measured: less CPU and GC on the restore path). `prepared` is a batch already holding its data.
   */
  async #commit(
    fill: (batch: ChainedBatch) => void,
    checkpoints: Checkpoints | undefined,
    meta?: StoreMeta,
    prepared?: ChainedBatch,
  ): Promise<void> {
    const batch = prepared ?? this.#batches.reuse(this.#db.batch());
    try {
      fill(batch);
      if (meta !== undefined) for (const [name, value] of meta) batch.put(metaKey(name), Buffer.from(value, 'utf8'));
      if (checkpoints !== undefined) {
        for (const [tp, offset] of checkpoints) batch.put(checkpointKey(tp), Buffer.from(String(offset), 'latin1'));
      }
    } catch (error) {
      await batch.close();
      throw error;
    }
    if (batch.length === 0) {
      await batch.close();
      return;
    }
    // One native batch: LevelDB appends it to the WAL as one checksummed record, so data and checkpoints land
    // together or not at all, even if the process is killed mid-write.
    await batch.write();
    this.#batches.written(batch);
    if (checkpoints !== undefined) {
      for (const [tp, offset] of checkpoints) this.#checkpoints.set(tp, offset);
    }
    if (meta !== undefined) for (const [name, value] of meta) this.#meta.set(name, value);
  }

  /**
   * Data entries as stored (user key, msgpack value bytes), in chunks, without decoding: for snapshots.
   * Checkpoints are not included; read them with checkpoints().
   */
  async *scanEncoded(chunkSize = SCAN_BATCH): AsyncGenerator<Array<[Buffer, Buffer]>> {
    this.#assertOpen();
    const iterator = this.#db.iterator({ gte: DATA_START, lt: DATA_END, highWaterMarkBytes: 1024 * 1024 });
    try {
      for (;;) {
        const chunk = await iterator.nextv(chunkSize);
        if (chunk.length === 0) return;
        yield chunk.map(([key, value]) => [userKey(key), value]);
      }
    } finally {
      await iterator.close();
    }
  }

  /** Writes already-encoded values (from scanEncoded) and checkpoints in one atomic batch: for snapshots. */
  async writeEncoded(entries: readonly (readonly [Uint8Array, Uint8Array])[], checkpoints?: Checkpoints): Promise<void> {
    this.#assertOpen();
    await this.#commit((batch) => {
      for (const [key, value] of entries) {
        batch.put(dataKey(key), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    }, checkpoints);
  }

  put(key: Uint8Array, value: V): Promise<void> {
    return this.write([{ type: 'put', key, value }]);
  }

  delete(key: Uint8Array): Promise<void> {
    return this.write([{ type: 'delete', key }]);
  }

  async deleteRange(range: KeyInterval): Promise<void> {
    this.#assertOpen();
    if (Buffer.compare(Buffer.from(range.gte), Buffer.from(range.lt)) >= 0) return;
    // classic-level clears a range natively (an iterator and delete batches in C++), not one JS call per key.
    await this.#db.clear({ gte: dataKey(range.gte), lt: dataKey(range.lt) });
  }

  async getVersions(keys: readonly Uint8Array[]): Promise<(StoredVersion | undefined)[]> {
    this.#assertOpen();
    if (keys.length === 0) return [];
    const values = await this.#db.getMany(keys.map(versionKey));
    return values.map((bytes) => (bytes === undefined ? undefined : decodeVersion(bytes)));
  }

  checkpoints(): Checkpoints {
    return new Map(this.#checkpoints);
  }

  meta(name: string): string | undefined {
    return this.#meta.get(name);
  }

  /** A frozen object with only the read methods: a caller holding it has no write method to call. */
  readOnly(): ReadOnlyKeyValueStore<V> {
    if (this.#readOnlyView === undefined) {
      const view: ReadOnlyKeyValueStore<V> = {
        name: this.name,
        partition: this.partition,
        get: (key) => this.get(key),
        readStored: (key) => this.readStored(key),
        getMany: (keys) => this.getMany(keys),
        range: (options) => this.range(options),
        approximateCount: () => this.approximateCount(),
      };
      this.#readOnlyView = Object.freeze(view);
    }
    return this.#readOnlyView;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Writes the memtable out as a table file, which frees it: after a bulk load (a global table's bootstrap) the
   * last, partly filled write buffer would otherwise stay in memory until the store is closed (up to
   * `memory.globalStoreWriteBufferBytes`). A flush already running is joined rather than repeated.
   */
  flushWriteBuffer(): Promise<void> {
    this.#assertOpen();
    this.#flushing ??= this.#db.compactRange(FLUSH_RANGE, FLUSH_RANGE).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#batches.clear();
    await this.#flushing?.catch(() => {});
    // Write the memtable out as a table file first: LevelDB would otherwise replay its log on the next open, up to a
    // whole write buffer (32 MiB, a global store's before: ~130 ms against ~45 ms to write it out here). A failed flush
    // loses nothing (the log is still there and replayed on open), so the store closes anyway.
    await this.#db.compactRange(FLUSH_RANGE, FLUSH_RANGE).catch(() => {});
    await this.#db.close();
  }
}

/**
 * A key range no table file can hold (every key starts with a namespace byte below 0xFF): compacting it writes the
 * memtable out and compacts nothing else.
 */
const FLUSH_RANGE = Buffer.from([0xff]);

async function ensureFormatMarker(db: LevelDb, location: string): Promise<void> {
  const marker = await db.get(FORMAT_KEY);
  if (marker !== undefined) {
    const text = marker.toString('utf8');
    if (READABLE_OLD_FORMAT_MARKERS.includes(text)) await db.put(FORMAT_KEY, Buffer.from(FORMAT_MARKER, 'utf8'));
    else if (text !== FORMAT_MARKER) throw new StoreCorruptedError(location, `unknown format marker "${text}"`);
    return;
  }
  // No marker: only a brand-new, empty LevelDB is acceptable; anything else is not ours or was damaged.
  const probe = db.keys({ limit: 1 });
  const anyKey = await probe.nextv(1).finally(() => probe.close());
  if (anyKey.length > 0) throw new StoreCorruptedError(location, 'format marker missing from a non-empty store');
  await db.put(FORMAT_KEY, Buffer.from(FORMAT_MARKER, 'utf8'));
}

async function readCheckpoints(db: LevelDb, location: string): Promise<Map<TopicPartitionId, number>> {
  const checkpoints = new Map<TopicPartitionId, number>();
  for await (const [key, value] of db.iterator({ gte: CHECKPOINT_KEY_PREFIX, lt: CHECKPOINT_KEY_END })) {
    const tp = topicPartitionOfCheckpointKey(key);
    const offset = Number(value.toString('latin1'));
    if (!/^.+:\d+$/.test(tp) || !Number.isSafeInteger(offset) || offset < 0) {
      throw new StoreCorruptedError(location, `invalid checkpoint entry for "${tp}"`);
    }
    checkpoints.set(tp as TopicPartitionId, offset);
  }
  return checkpoints;
}
