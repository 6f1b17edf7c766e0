/**
 * Which record of a key a table holds when the key's records sit in several partitions (partitions were added to
 * the topic: a key's new records go to its new partition while its older ones stay in the old one, and no reading
 * order between partitions is guaranteed). The rule: the record with the greatest (timestamp, partition, offset)
 * wins, deletions included. Within one partition with non-decreasing timestamps this is the log order; across
 * partitions the latest timestamp wins, a tie going to the higher partition (added later: the key's newer home).
 * Deletions are kept as versions without a value (a tombstone marker) so an older record read later cannot bring
 * the key back.
 */

/**
 * Not an error: restoration without versions met a record that needs them (restore.ts `needsVersions`); the caller
 * starts over with versions.
 */
export class VersionsNeeded extends Error {
  constructor(readonly record: { readonly topic: string; readonly partition: number; readonly offset: number }) {
    super(`record ${record.topic}:${record.partition}@${record.offset} needs record versions`);
    this.name = 'VersionsNeeded';
  }
}

/** Where a table record came from: enough to order any two records of one topic. */
export interface RecordVersion {
  readonly timestamp: number;
  readonly partition: number;
  readonly offset: number;
}

/** A key's stored version; `deleted`: the winning record was a tombstone (the key is absent). */
export interface StoredVersion extends RecordVersion {
  readonly deleted: boolean;
}

/** > 0 when `a` is newer than `b`, 0 for the same record. */
export function compareVersions(a: RecordVersion, b: RecordVersion): number {
  return a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset;
}

/** True when a record at `incoming` must replace what the store holds (`stored`; undefined: nothing yet). */
export function replaces(incoming: RecordVersion, stored: RecordVersion | undefined): boolean {
  return stored === undefined || compareVersions(incoming, stored) >= 0;
}

const VERSION_BYTES = 21;

/** 8 bytes timestamp (float64 BE), 4 partition (uint32 BE), 8 offset (float64 BE), 1 deleted flag. */
export function encodeVersion(version: StoredVersion): Buffer {
  const out = Buffer.allocUnsafe(VERSION_BYTES);
  out.writeDoubleBE(version.timestamp, 0);
  out.writeUInt32BE(version.partition, 8);
  out.writeDoubleBE(version.offset, 12);
  out[20] = version.deleted ? 1 : 0;
  return out;
}

export function decodeVersion(bytes: Uint8Array): StoredVersion | undefined {
  if (bytes.length !== VERSION_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { timestamp: view.readDoubleBE(0), partition: view.readUInt32BE(8), offset: view.readDoubleBE(12), deleted: view[20] === 1 };
}
