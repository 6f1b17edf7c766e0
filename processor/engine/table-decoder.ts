/**
 * One decoding path for table-shaped sources: co-partitioned table sources inside tasks, global tables in the
 * global updater, and bulk restoration (`state-store/restore.ts` takes the decoder built here). A record becomes
 * a store write: a put of the deserialized value under the record's key bytes, or a delete for a tombstone.
 * A bad record throws `DeserializationError` and never reaches the store, which keeps the last good value.
 */
import { DeserializationError, SerdeError, TableTruncatedError } from '../../errors.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import { isUtf8 } from 'node:buffer';
import { isJsonSerde, isStringSerde, type Serde } from '../../topology/serdes.js';
import { JsonText } from '../../state-store/value-codec.js';
import { isJsonText, isJsonTextAt, isUtf8At } from '../../topology/json-text.js';
import type { Logger } from '../../common/logger.js';
import type { KeyedWrite, StoreWrite } from '../../state-store/types.js';
import { bypassesErrorPolicy, decodeFormattedTableRecord } from './formatted-table-decoder.js';
import type { ConsumedRecord, ProducedRecord, RecordCursor } from '../../common/records.js';
import { resolveErrorPolicy, type ErrorPolicy } from './error-policy.js';
import { deadLetterRecord, errorMessageOf } from '../../common/dead-letters.js';
import type { EngineMetrics } from './metrics.js';

/** Deserializes one part of a consumed record; serde failures become `DeserializationError` with the location. */
export function deserializePart(serde: Serde<unknown>, record: ConsumedRecord, part: 'key' | 'value'): unknown {
  const bytes = part === 'key' ? record.key : record.value;
  if (bytes === null) return null;
  try {
    return serde.deserialize(bytes);
  } catch (error) {
    const reason = error instanceof SerdeError || error instanceof Error ? error.message : String(error);
    throw new DeserializationError(record, part, reason, { cause: error });
  }
}

/**
 * `deserializePart` when only the verdict is needed (the bytes are stored as they are): a string key is checked as
 * UTF-8 without building the string. Throws what `deserializePart` throws.
 */
function checkPart(serde: Serde<unknown>, record: ConsumedRecord, part: 'key' | 'value'): void {
  const bytes = part === 'key' ? record.key : record.value;
  if (bytes !== null && isStringSerde(serde) && isUtf8(bytes)) return;
  deserializePart(serde, record, part);
}

/**
 * The store write for a table record. The key is validated with the key serde but stored as the record's own
 * bytes (so the store's byte order is the topic's key order and lookups serialize with the same serde).
 */
export function decodeTableRecord(source: TableSourceSpec, record: ConsumedRecord): StoreWrite<unknown> | null {
  // Tables fed by a database through Kafka Connect (Debezium, outbox): formatted-table-decoder.ts.
  if (source.format !== undefined) return decodeFormattedTableRecord(source, source.format, record);
  if (record.key === null) {
    throw new DeserializationError(record, 'key', `table '${source.store}' records need a key (null keys cannot be stored)`);
  }
  checkPart(source.keySerde, record, 'key');
  if (record.value === null) return { type: 'delete', key: record.key };
  return { type: 'put', key: record.key, value: deserializePart(source.valueSerde, record, 'value') };
}

/**
 * `decodeTableRecord` for writes that go straight into the store (restoration, global-table bootstrap): a plain table
 * with a `Serdes.json()` value keeps the record's JSON text as the stored value (`JsonText`) instead of the parsed
 * value, which the store would re-encode as msgpack; reads parse it. The text is still checked here (json-text.ts), so a
 * bad record fails here exactly as with `decodeTableRecord` (same error, same policy), never later at a lookup.
 */
export function decodeStoredTableRecord(source: TableSourceSpec, record: ConsumedRecord): StoreWrite<unknown> | null {
  if (source.format !== undefined || record.value === null || !isJsonSerde(source.valueSerde)) return decodeTableRecord(source, record);
  const key = checkJsonTableRecord(source, record, record.value);
  return { type: 'put', key, value: new JsonText(record.value) };
}

/**
 * Throws what `decodeTableRecord` throws for `record`, without building the value where a cheap check gives the same
 * verdict: a `Serdes.json()` value is checked as JSON text (json-text.ts; bytes it refuses get the serde's own verdict
 * and error), a string key as UTF-8. For dead-letter judges, which only need to know whether a table would accept the
 * record: parsing every record of a global topic there cost as much as a lookup's decode.
 */
export function checkTableRecord(source: TableSourceSpec, record: ConsumedRecord): void {
  if (source.format !== undefined || record.value === null || !isJsonSerde(source.valueSerde)) decodeTableRecord(source, record);
  else checkJsonTableRecord(source, record, record.value);
}

/**
 * The verdict of `decodeTableRecord` on a record of a plain table with a `Serdes.json()` value and a non-null value;
 * returns the record's key (never null when it returns).
 */
function checkJsonTableRecord(source: TableSourceSpec, record: ConsumedRecord, value: Buffer): Buffer {
  if (record.key === null) {
    throw new DeserializationError(record, 'key', `table '${source.store}' records need a key (null keys cannot be stored)`);
  }
  checkPart(source.keySerde, record, 'key');
  // The cheap check; bytes it refuses get the serde's own verdict (and error), as decodeTableRecord would give.
  if (!isJsonText(value)) deserializePart(source.valueSerde, record, 'value');
  return record.key;
}

/**
 * `TableRecordDecoder.storesAsJsonText` of a table: the verdict of `decodeStoredTableRecord` read in place, for a
 * plain table with a string key and a `Serdes.json()` value (the key checked as UTF-8, the value as JSON text); false
 * only sends a record through `decodeStoredTableRecord` itself, which gives the serdes' own verdicts and errors.
 */
function storesAsJsonTextCheck(source: TableSourceSpec): ((cursor: RecordCursor) => boolean) | undefined {
  if (source.format !== undefined || !isJsonSerde(source.valueSerde) || !isStringSerde(source.keySerde)) return undefined;
  return (cursor) =>
    cursor.keyBytes !== null &&
    cursor.valueBytes !== null &&
    isUtf8At(cursor.keyBytes, cursor.keyStart, cursor.keyEnd) &&
    isJsonTextAt(cursor.valueBytes, cursor.valueStart, cursor.valueEnd);
}

/** The write for a record of a task's (co-partitioned) table: never a clear (build() allows those on global tables only). */
export function decodeKeyedTableRecord(source: TableSourceSpec, record: ConsumedRecord): KeyedWrite<unknown> | null {
  const write = decodeTableRecord(source, record);
  if (write?.type === 'clear') throw new TableTruncatedError(source.store, record);
  return write;
}

/**
 * `decodeKeyedTableRecord` plus the deserialized key, for table sources that forward their changes to other nodes;
 * null for a record that changes nothing (a Debezium message event).
 */
export function decodeTableChange(source: TableSourceSpec, record: ConsumedRecord): { write: KeyedWrite<unknown>; key: unknown } | null {
  if (source.format !== undefined) {
    const write = decodeKeyedTableRecord(source, record);
    return write === null ? null : { write, key: deserializePart(source.keySerde, record, 'key') };
  }
  if (record.key === null) {
    throw new DeserializationError(record, 'key', `table '${source.store}' records need a key (null keys cannot be stored)`);
  }
  const key = deserializePart(source.keySerde, record, 'key');
  if (record.value === null) return { write: { type: 'delete', key: record.key }, key };
  return { write: { type: 'put', key: record.key, value: deserializePart(source.valueSerde, record, 'value') }, key };
}

export interface TableRecordDecoder {
  /** Throws `DeserializationError` for a bad record. */
  decode(record: ConsumedRecord): StoreWrite<unknown> | null;
  /**
   * What restoration does with a bad record: 'fail' under the fail policy, else 'skip' — after sending its dead
   * letter (and waiting for the ack) when the records being restored were never processed (see `deadLetters`).
   */
  onDecodeError(record: ConsumedRecord, error: unknown): 'skip' | 'fail' | Promise<'skip' | 'fail'>;
  /**
   * For a restore reading records in place (restore.ts `storesAsJsonText`): true when `decode` would store the record
   * at `cursor` (non-null key and value) as its key bytes with its value as JSON text; absent where `decode` never
   * does (other serdes, Debezium and outbox tables).
   */
  readonly storesAsJsonText?: (cursor: RecordCursor) => boolean;
}

export interface TableRecordDecoderOptions {
  readonly applicationId: string;
  readonly errorPolicy?: ErrorPolicy;
  readonly logger?: Logger;
  readonly metrics?: EngineMetrics;
  /**
   * Set when this reader owns the dead letters of the records being restored and nobody processed them before (a
   * table partition without a committed offset: an application's first start): a bad record's dead letter is
   * produced here, acknowledged before restoration moves past it.
   */
  readonly deadLetters?: (records: readonly ProducedRecord[]) => Promise<void>;
  /**
   * Without `deadLetters`, why a bad record under 'dead-letter' gets none here (counted in
   * `notDeadLettered`): `restored` (default) when it was processed before, below the group's committed offset (its
   * dead letter was written then); `owner` when another reader writes it (a global table's bootstrap).
   */
  readonly deadLetteredElsewhere?: 'restored' | 'owner';
}

/** The decoder `restoreStore` needs, built from the same table definition and policy as live processing. */
export function createTableRecordDecoder(source: TableSourceSpec, options: TableRecordDecoderOptions): TableRecordDecoder {
  const policy = resolveErrorPolicy(options.applicationId, options.errorPolicy, source.errorPolicy);
  const { metrics, logger } = options;
  const location = (record: ConsumedRecord, error: unknown) => ({
    store: source.store,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    error: error instanceof DeserializationError ? error.reason : errorMessageOf(error),
  });
  return {
    decode: (record) => decodeStoredTableRecord(source, record),
    storesAsJsonText: storesAsJsonTextCheck(source),
    onDecodeError(record, error) {
      const action = bypassesErrorPolicy(error) ? 'fail' : policy.deserialization;
      if (action === 'fail') {
        metrics?.recordError('deserialization', 'fail');
        return 'fail';
      }
      if (action === 'dead-letter') {
        if (options.deadLetters) {
          metrics?.recordError('deserialization', 'dead-letter');
          const letter = deadLetterRecord(policy.deadLetterTopic, options.applicationId, 'deserialization', record, error);
          return options.deadLetters([letter]).then(() => 'skip' as const);
        }
        const reason = options.deadLetteredElsewhere ?? 'restored';
        metrics?.recordNotDeadLettered(reason);
        logger?.debug(
          reason === 'restored'
            ? 'bad table record skipped during restoration; its dead letter was written when it was first processed'
            : 'bad table record skipped during restoration; its dead letter is written by the reader that owns its partition',
          location(record, error),
        );
        return 'skip';
      }
      metrics?.recordError('deserialization', 'log-and-skip');
      metrics?.recordSkipped('deserialization');
      logger?.warn(
        'skipping an undecodable table record during restoration (deserialization error policy: log-and-skip)',
        location(record, error),
      );
      return 'skip';
    },
  };
}
