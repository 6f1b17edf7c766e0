/**
 * The state-store contract the engine, the runtime and the HTTP layer program against.
 * Implementations: LevelDB (`level-store.ts`, production) and in-memory (`memory-store.ts`, test driver option).
 *
 * Keys are the *serialized key bytes* from the key serde, so iteration order is the byte order of the topic's keys.
 * Values are JS values; the store encodes them with msgpackr (implementations must not keep caller references
 * mutable: what you read back is a decoded copy).
 */
import type { TopicPartitionId } from '../common/records.js';
import type { RecordVersion, StoredVersion } from './record-version.js';
import type { StoredJsonText } from './value-codec.js';

/** Next offset to read per source topic-partition, stored atomically with the data it describes. */
export type Checkpoints = ReadonlyMap<TopicPartitionId, number>;

/**
 * Small named entries stored beside the checkpoints, in the same atomic batch as a write (a global table's versioning
 * mode, global-table-mode.ts). Kept across `clear`; gone with the store directory.
 */
export type StoreMeta = ReadonlyMap<string, string>;

/**
 * A write to one key. With `version` (tables whose topic may have grown, record-version.ts) the store also keeps the
 * key's version, a delete as a tombstone marker that reads never see; callers apply a write only when it is newer
 * than `getVersions` says.
 */
export type KeyedWrite<V> =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: V; readonly version?: RecordVersion }
  | { readonly type: 'delete'; readonly key: Uint8Array; readonly version?: RecordVersion };

/**
 * Removes every entry written before it (a database table was truncated; global table stores only). The writes after
 * it in the same batch apply on top. Not atomic on LevelDB: a crash mid-clear leaves some entries with the old
 * checkpoint, and replaying from that checkpoint reaches the clear again.
 */
export interface ClearWrite {
  readonly type: 'clear';
}

export type StoreWrite<V> = KeyedWrite<V> | ClearWrite;

export interface StoreEntry<V> {
  readonly key: Buffer;
  readonly value: V;
}

/** Bounds are on key bytes. `prefix` and `gte`/`gt`/`lte`/`lt` may be combined (the intersection is scanned). */
export interface RangeOptions {
  readonly gte?: Uint8Array;
  readonly gt?: Uint8Array;
  readonly lte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly prefix?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** A half-open interval of key bytes: `gte` inclusive, `lt` exclusive. */
export interface KeyInterval {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** Read-only view: what queries (HTTP) get, so they can never write. */
export interface ReadOnlyKeyValueStore<V = unknown> {
  readonly name: string;
  /** Partition number for a co-partitioned store; `'global'` for a global store holding every partition. */
  readonly partition: number | 'global';
  get(key: Uint8Array): Promise<V | undefined>;
  /**
   * `get` for one point lookup of the query server, answered at once (LevelDB: a synchronous read, which on cached
   * blocks costs a tenth of queueing an asynchronous one): a value stored as JSON text (a JSON table restored or
   * updated from its topic) as that text (`StoredJsonText`), unparsed; any other value decoded, as `get` returns it.
   * Throws when the store is closed. Optional: callers fall back to `get`.
   */
  readStored?(key: Uint8Array): V | StoredJsonText | undefined;
  /** One round trip for many keys; results align with `keys`. */
  getMany(keys: readonly Uint8Array[]): Promise<(V | undefined)[]>;
  /** Streams entries in key byte order (or reverse); never loads the whole store. */
  range(options?: RangeOptions): AsyncIterable<StoreEntry<V>>;
  /** Cheap estimate, not an exact count (LevelDB cannot count without a scan). */
  approximateCount(): Promise<number>;
}

export interface KeyValueStore<V = unknown> extends ReadOnlyKeyValueStore<V> {
  /**
   * Applies `writes` and `checkpoints` in ONE atomic batch: after a crash either both are on disk or neither.
   * This is the checkpoint invariant the runtime relies on. `meta` entries land in the same batch.
   */
  write(writes: readonly StoreWrite<V>[], checkpoints?: Checkpoints, meta?: StoreMeta): Promise<void>;
  put(key: Uint8Array, value: V): Promise<void>;
  delete(key: Uint8Array): Promise<void>;
  /**
   * Deletes every key in `[gte, lt)` in one call (window-store retention drops whole time segments this way). Not part
   * of any `write` batch, so not atomic with one: callers use it only for data that may reappear harmlessly after a
   * crash (expired windows, which reads clip anyway). LevelDB has no range tombstone: it clears the range natively.
   */
  deleteRange(range: KeyInterval): Promise<void>;
  /** The versions stored with versioned writes (undefined: none), aligned with `keys`. A `clear` removes them too. */
  getVersions(keys: readonly Uint8Array[]): Promise<(StoredVersion | undefined)[]>;
  /** Checkpoints as of the last successful `write` (read at open, then kept in memory). */
  checkpoints(): Checkpoints;
  /** A meta entry as of the last successful `write` (read at open, then kept in memory). */
  meta(name: string): string | undefined;
  readOnly(): ReadOnlyKeyValueStore<V>;
  /**
   * Writes what the store buffers in memory for its writes out to disk and frees that memory (LevelDB: the memtable
   * becomes a table file). Optional: stores without such a buffer leave it out. Nothing read or written changes;
   * a failure loses nothing (LevelDB's log still holds the writes). `close()` waits for a flush in progress.
   */
  flushWriteBuffer?(): Promise<void>;
  /**
   * A `write` filled one write at a time as the writes come, committed as ONE atomic batch like `write` (the same
   * invariant): restoration fills the next batch while the previous one is being written, instead of handing the
   * store a finished array to copy into its native batch after the previous write is done. Writes without versions
   * only (a versioned restore reads stored versions before it knows what to write). Optional: callers fall back to
   * `write`.
   */
  prepareWrite?(): PreparedWrite<V>;
  close(): Promise<void>;
}

/** A store write being filled (`KeyValueStore.prepareWrite`): `add` in order, then `commit` or `discard` once. */
export interface PreparedWrite<V = unknown> {
  /** Appends a put or delete; a `clear` drops what was added before it (it applies first, as in `write`). */
  add(write: StoreWrite<V>): void;
  /**
   * Optional: appends a put of the key `key[keyStart, keyEnd)` with the JSON text `value[valueStart, valueEnd)` as its
   * value (what `add` does for a put of a `JsonText` value), reading both ranges in place: a restore reading records
   * inside a fetch response builds no object per record (restore.ts). Both ranges are copied during the call: the
   * restore may free the response right after (`RecordRun.release`).
   */
  putJsonTextAt?(key: Buffer, keyStart: number, keyEnd: number, value: Buffer, valueStart: number, valueEnd: number): void;
  /** Optional: appends a delete of the key `key[keyStart, keyEnd)` (read in place and copied, as `putJsonTextAt`). */
  deleteAt?(key: Buffer, keyStart: number, keyEnd: number): void;
  /** Writes everything added, `checkpoints` and `meta` in one atomic batch. */
  commit(checkpoints?: Checkpoints, meta?: StoreMeta): Promise<void>;
  /** Drops what was added without writing it. */
  discard(): Promise<void>;
}
