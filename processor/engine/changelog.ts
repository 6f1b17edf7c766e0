/**
 * Changelog records of derived-table stores, both ways:
 * - writing: every store write of an aggregation or a table–table join is also a record of the store's changelog
 *   topic `<applicationId>-<store>-changelog`, on the task's partition, produced with the task's other outputs (so
 *   it is acknowledged before the input offsets are committed and before the store batch is written);
 * - reading: `createChangelogDecoder` turns changelog records back into store writes, for restoring a store from its
 *   changelog (`restoreStore` with `decodeTombstones: true`).
 *
 * Record format: the key is the store key's bytes (a window store: the key's bytes followed by the window start,
 * 8 bytes big-endian, Kafka Streams' windowed key); the value is the value serde's bytes, null for a deletion.
 */
import type { ConsumedRecord } from '../../common/records.js';
import type { StoreSpec } from '../../topology/specs.js';
import type { KeyValueStore, StoreWrite } from '../../state-store/types.js';
import { STREAM_TIME_KEY } from '../../state-store/window-layout.js';
import { expireWindows, streamTimeWrite, windowWrite } from '../../state-store/window-store.js';
import { deserializePart } from './table-decoder.js';

const START_BYTES = 8;

/** Changelog key of the window of `key` starting at `start`. */
export function windowedChangelogKey(key: Buffer, start: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + START_BYTES);
  key.copy(out, 0);
  out.writeBigUInt64BE(BigInt(start), key.length);
  return out;
}

export function parseWindowedChangelogKey(bytes: Buffer): { key: Buffer; start: number } {
  if (bytes.length < START_BYTES) throw new RangeError(`a windowed changelog key has at least ${START_BYTES} bytes, got ${bytes.length}`);
  return { key: bytes.subarray(0, bytes.length - START_BYTES), start: Number(bytes.readBigUInt64BE(bytes.length - START_BYTES)) };
}

/** Decodes a derived-table store's changelog back into store writes; tracks the newest record time seen. */
export interface ChangelogDecoder {
  /** Throws for a record this store could not have written (wrong key shape or value bytes). */
  decode(record: ConsumedRecord): StoreWrite<unknown>;
  /** Changelog records are our own output: one that does not decode means a wrong topic or corruption. */
  onDecodeError(record: ConsumedRecord, error: unknown): 'fail';
  /** Largest record timestamp decoded: a window store's stream time after restoration. */
  readonly maxTimestamp: number | undefined;
}

export function createChangelogDecoder(spec: StoreSpec): ChangelogDecoder {
  if ((spec.kind !== 'derived' && spec.kind !== 'window') || spec.valueSerde === undefined) {
    throw new RangeError(`store '${spec.name}' (${spec.kind}) has no changelog topic`);
  }
  const valueSerde = spec.valueSerde;
  const window = spec.window;
  let maxTimestamp: number | undefined;
  return {
    decode(record) {
      if (record.key === null) throw new RangeError('changelog records have keys');
      maxTimestamp = Math.max(maxTimestamp ?? record.timestamp, record.timestamp);
      const value = record.value === null ? undefined : deserializePart(valueSerde, record, 'value');
      if (window === undefined) {
        return value === undefined ? { type: 'delete', key: record.key } : { type: 'put', key: record.key, value };
      }
      const { key, start } = parseWindowedChangelogKey(record.key);
      return windowWrite(key, start, value, window);
    },
    onDecodeError: () => 'fail',
    get maxTimestamp() {
      return maxTimestamp;
    },
  };
}

/**
 * After restoring a window store from its changelog: records the stream time the changelog implies (the newest
 * record time) with the data and drops the segments past retention, as processing would have.
 */
export async function finishWindowRestore(store: KeyValueStore<unknown>, spec: StoreSpec, decoder: ChangelogDecoder): Promise<void> {
  if (spec.window === undefined || decoder.maxTimestamp === undefined) return;
  const previous: unknown = await store.get(STREAM_TIME_KEY);
  const streamTime = Math.max(decoder.maxTimestamp, typeof previous === 'number' ? previous : 0);
  await store.write([streamTimeWrite(streamTime)]);
  await expireWindows(store, spec.window, streamTime);
}
