/**
 * Whether a global table needs record versions (state-store/record-version.ts), decided per table.
 *
 * - **fast** (every table starts here): all records of a key live in one partition, the one the Java default
 *   partitioner (murmur2) gives it, so reading each partition in offset order is enough and writes are blind (no
 *   read before write, no version stored): the cost and the format of a table whose topic never grew.
 * - **versioned**: a key's records may sit in several partitions (the topic grew, or its producers do not partition
 *   by murmur2): each write carries its record's (timestamp, partition, offset), a record is applied only when newer
 *   than the key's stored version, and a deletion is kept as a marker reads never see.
 *
 * A fast table turns versioned when it meets a *misplaced* record (murmur2(key) mod the topic's current partition
 * count is not the record's partition) or when its topic grew (the partition watcher, or a restart that finds more
 * partitions than the table was built with). The mode is stored in the store's meta entries, in the same atomic
 * batch as the data and checkpoints it applies to, so a restart keeps it. A fast mode records its partition count.
 *
 * Where a switch happens matters (global-tables.ts): a bootstrap that meets a misplaced record starts over from an
 * empty store in versioned mode (deletions it applied as plain deletes left no marker, so an older record read later
 * would bring the key back); a running instance switches in place, its fast-mode values counting as older than any
 * record read after the switch (they were read, in offset order, from the partitions the topic had before).
 */
import type { ConsumedRecord, RecordCursor } from '../../common/records.js';
import type { Logger } from '../../common/logger.js';
import { murmur2, toPositive } from '../../common/partitioner.js';
import type { StoreMeta } from '../../state-store/types.js';

export type GlobalTableMode = { readonly kind: 'fast'; readonly partitions: number } | { readonly kind: 'versioned' };

/** The store meta entry holding the mode: `fast/<partition count>` or `versioned`. */
export const GLOBAL_TABLE_MODE_META = 'global-table-mode';

export function encodeGlobalTableMode(mode: GlobalTableMode): string {
  return mode.kind === 'fast' ? `fast/${mode.partitions}` : 'versioned';
}

/** undefined for a store that has none (new, or written before modes existed) or an unknown value. */
export function decodeGlobalTableMode(value: string | undefined): GlobalTableMode | undefined {
  if (value === 'versioned') return { kind: 'versioned' };
  const match = value === undefined ? null : /^fast\/(\d+)$/.exec(value);
  if (match === null) return undefined;
  return { kind: 'fast', partitions: Number(match[1]) };
}

export function modeMeta(mode: GlobalTableMode): StoreMeta {
  return new Map([[GLOBAL_TABLE_MODE_META, encodeGlobalTableMode(mode)]]);
}

/** True when the Java default partitioner would not have written this keyed record to its partition. */
export function isMisplaced(record: ConsumedRecord, partitions: number): boolean {
  if (record.key === null || partitions < 1) return false;
  return toPositive(murmur2(record.key)) % partitions !== record.partition;
}

/** `isMisplaced` of the record at `cursor` of `partition` (its key read in place). */
export function isMisplacedAt(cursor: RecordCursor, partition: number, partitions: number): boolean {
  if (cursor.keyBytes === null || partitions < 1) return false;
  return toPositive(murmur2(cursor.keyBytes, cursor.keyStart, cursor.keyEnd)) % partitions !== partition;
}

export function misplacedMessage(store: string, record: ConsumedRecord, partitions: number): string {
  return (
    `global table ${store} keeps record versions from now on: ${record.topic}:${record.partition}@${record.offset} ` +
    `is not in the partition the Java default partitioner (murmur2) gives its key with ${partitions} partitions ` +
    `(the topic grew, or its producers use another partitioner, e.g. librdkafka's CRC32): lookups stay right, at more CPU per record`
  );
}

interface TableState {
  readonly topic: string;
  mode: GlobalTableMode;
  /** The mode as stored (undefined: nothing stored yet). */
  persisted: string | undefined;
}

/**
 * The modes of one instance's global tables, shared by the bootstrap and the live updater. Partition counts come
 * from the app's one partition-count map (updated in place when the watcher sees a topic grow).
 */
export class GlobalTableModes {
  private readonly tables = new Map<string, TableState>();

  constructor(
    private readonly partitions: ReadonlyMap<string, number>,
    private readonly logger?: Logger,
  ) {}

  /** Registers a table with the mode its store holds (or will hold) after its bootstrap. */
  set(store: string, topic: string, mode: GlobalTableMode, persisted: string | undefined): void {
    this.tables.set(store, { topic, mode, persisted });
  }

  mode(store: string): GlobalTableMode | undefined {
    return this.tables.get(store)?.mode;
  }

  isVersioned(store: string): boolean {
    return this.tables.get(store)?.mode.kind === 'versioned';
  }

  partitionCount(topic: string): number {
    return this.partitions.get(topic) ?? 1;
  }

  /** The first misplaced record of `records` for a fast table (undefined: none, or the table is versioned). */
  firstMisplaced(store: string, records: readonly ConsumedRecord[]): ConsumedRecord | undefined {
    const table = this.tables.get(store);
    if (table === undefined || table.mode.kind !== 'fast') return undefined;
    const count = this.partitions.get(table.topic);
    if (count === undefined) return undefined;
    for (const record of records) if (record.topic === table.topic && isMisplaced(record, count)) return record;
    return undefined;
  }

  /** Switches a running table to versioned in place (its store is kept); logs once. */
  switchToVersioned(store: string, reason: string): void {
    const table = this.tables.get(store);
    if (table === undefined || table.mode.kind === 'versioned') return;
    table.mode = { kind: 'versioned' };
    this.logger?.warn(reason, { store, topic: table.topic });
  }

  /** Fast tables whose topic now has more partitions than they were built with. */
  grownFastTables(): string[] {
    const grown: string[] = [];
    for (const [store, table] of this.tables) {
      if (table.mode.kind === 'fast' && this.partitionCount(table.topic) > table.mode.partitions) grown.push(store);
    }
    return grown;
  }

  /** The meta entry to write with the store's next write, when the stored mode is not the current one. */
  pendingMeta(store: string): StoreMeta | undefined {
    const table = this.tables.get(store);
    if (table === undefined || table.persisted === encodeGlobalTableMode(table.mode)) return undefined;
    return modeMeta(table.mode);
  }

  /** The store wrote `meta` (from `pendingMeta`). */
  persisted(store: string, meta: StoreMeta): void {
    const table = this.tables.get(store);
    const value = meta.get(GLOBAL_TABLE_MODE_META);
    if (table !== undefined && value !== undefined) table.persisted = value;
  }
}
