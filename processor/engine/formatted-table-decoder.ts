/**
 * Store writes for tables fed by a database through Kafka Connect (`format: 'debezium' | 'debezium-unwrapped' |
 * 'outbox'`). table-decoder.ts hands such records here; the formats themselves are in topology/formats/.
 *
 * Rows are stored under the record's own key bytes, validated (and learned) by the table's Connect key serde, so a
 * delete event and the tombstone after it remove the same entry, and the store partition is the record's partition.
 * `null` means the record changes nothing (a logical decoding message). A value that is not what the format
 * describes is a `DeserializationError` (the table's error policy: a dead letter by default); a truncate under
 * `truncate: 'fail'` is a `TableTruncatedError`, which stops the task whatever the policy: dead-lettering it would
 * leave rows the database no longer has.
 */
import { DeserializationError, TableTruncatedError } from '../../errors.js';
import type { ConsumedRecord } from '../../common/records.js';
import type { StoreWrite } from '../../state-store/types.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import { decodeFormattedValue, type FormattedChange, type ResolvedTableFormat } from '../../topology/formats/table-format.js';

export function decodeFormattedTableRecord(
  source: TableSourceSpec,
  format: ResolvedTableFormat,
  record: ConsumedRecord,
): StoreWrite<unknown> | null {
  const key = record.key;
  if (key === null) {
    // Truncate events have no key (they concern the whole table); any other keyless record cannot be stored.
    if (record.value !== null && isTruncate(format, source, record)) return truncated(source, format, record);
    throw new DeserializationError(record, 'key', `table '${source.store}' records need a key (null keys cannot be stored)`);
  }
  try {
    source.keySerde.deserialize(key);
  } catch (error) {
    throw new DeserializationError(record, 'key', error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (record.value === null) return { type: 'delete', key };
  const change = decodeValue(source, format, record);
  switch (change.type) {
    case 'put':
      return { type: 'put', key, value: change.value };
    case 'delete':
      return { type: 'delete', key };
    case 'skip':
      return null;
    case 'truncate':
      return truncated(source, format, record);
  }
}

function decodeValue(source: TableSourceSpec, format: ResolvedTableFormat, record: ConsumedRecord): FormattedChange {
  try {
    return decodeFormattedValue(format, source.valueSerde, record);
  } catch (error) {
    throw new DeserializationError(record, 'value', error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function isTruncate(format: ResolvedTableFormat, source: TableSourceSpec, record: ConsumedRecord): boolean {
  if (format.type !== 'debezium') return false;
  try {
    return decodeFormattedValue(format, source.valueSerde, record).type === 'truncate';
  } catch {
    return false;
  }
}

function truncated(source: TableSourceSpec, format: ResolvedTableFormat, record: ConsumedRecord): StoreWrite<unknown> {
  if (format.truncate === 'clear') return { type: 'clear' };
  throw new TableTruncatedError(source.store, record);
}

/** Errors that stop the task under any error policy (never dead-lettered or skipped). */
export function bypassesErrorPolicy(error: unknown): boolean {
  return error instanceof TableTruncatedError;
}
