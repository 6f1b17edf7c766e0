/**
 * Table formats: how a table reads records that a database wrote through Kafka Connect, instead of plain
 * key/value records. The table's key serde then describes the (unwrapped) key and its value serde the row.
 *
 *   b.table('dbserver1.inventory.customers', { format: 'debezium', keyField: 'id', key: Serdes.json<number>(),
 *     value: Serdes.json<Customer>(), store: 'customers' });
 *
 * Rows are stored under the record's own key bytes (see connect-key.ts), so a tombstone deletes what the change
 * event before it wrote, and routing follows the partition Connect chose.
 */
import type { ConsumedRecord } from '../../common/records.js';
import type { Serde } from '../serdes.js';
import { debeziumChange, FormatMismatch, unwrappedChange, type RowChange } from './debezium.js';
import { headerTexts, outboxPayload, type OutboxEvent } from './outbox.js';

export type TableFormatName = 'debezium' | 'debezium-unwrapped' | 'outbox';

/** What a truncate event (op `t`) does: stop the task (default) or clear the table (global tables only). */
export type TruncateHandling = 'fail' | 'clear';

export interface DebeziumFormat {
  readonly type: 'debezium';
  /** Default `fail`. `clear` needs a global table: truncate events have no key, so they land on one partition. */
  readonly truncate?: TruncateHandling;
}

export interface DebeziumUnwrappedFormat {
  readonly type: 'debezium-unwrapped';
}

export interface OutboxFormat<V> {
  readonly type: 'outbox';
  /** Builds the row from the event payload (default: the payload itself, read with the table's value serde). */
  readonly mapValue?: (payload: unknown, event: OutboxEvent) => V;
}

/** A table's `format` option: a name, or the format with its settings (`debezium({ truncate: 'clear' })`). */
export type TableFormat<V> = TableFormatName | DebeziumFormat | DebeziumUnwrappedFormat | OutboxFormat<V>;

/** Builders for formats with settings. */
export const TableFormats = Object.freeze({
  debezium: (options: Omit<DebeziumFormat, 'type'> = {}): DebeziumFormat => Object.freeze({ type: 'debezium', ...options }),
  debeziumUnwrapped: (): DebeziumUnwrappedFormat => Object.freeze({ type: 'debezium-unwrapped' }),
  outbox: <V>(options: Omit<OutboxFormat<V>, 'type'> = {}): OutboxFormat<V> => Object.freeze({ type: 'outbox', ...options }),
});

/** The format as the compiled topology carries it (defaults applied, values untyped). */
export interface ResolvedTableFormat {
  readonly type: TableFormatName;
  readonly truncate: TruncateHandling;
  /** Single key column unwrapped for lookups and joins. */
  readonly keyField?: string;
  readonly mapValue?: (payload: unknown, event: OutboxEvent) => unknown;
}

export function resolveTableFormat<V>(format: TableFormat<V>, keyField: string | undefined): ResolvedTableFormat {
  const spec = typeof format === 'string' ? { type: format } : format;
  return Object.freeze({
    type: spec.type,
    truncate: spec.type === 'debezium' && 'truncate' in spec && spec.truncate !== undefined ? spec.truncate : 'fail',
    ...(keyField === undefined ? {} : { keyField }),
    ...(spec.type === 'outbox' && 'mapValue' in spec && spec.mapValue !== undefined
      ? { mapValue: spec.mapValue as (payload: unknown, event: OutboxEvent) => unknown }
      : {}),
  });
}

/** What a formatted record does to its table (the key is always the record's key bytes). */
export type FormattedChange =
  | { readonly type: 'put'; readonly value: unknown }
  | { readonly type: 'delete' }
  | { readonly type: 'truncate' }
  | { readonly type: 'skip'; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a record with a non-null value. Throws `FormatMismatch` (or the value serde's error) for a value that is not
 * what the format describes; the caller turns it into a `DeserializationError` for the error policy.
 */
export function decodeFormattedValue(format: ResolvedTableFormat, valueSerde: Serde<unknown>, record: ConsumedRecord): FormattedChange {
  const bytes = record.value;
  if (bytes === null) return { type: 'delete' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new FormatMismatch('value bytes are not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    if (format.type !== 'outbox')
      throw new FormatMismatch(`value is not JSON (the ${format.type} format reads the JsonConverter's output)`);
    parsed = text;
  }
  if (format.type === 'outbox') {
    const payload = outboxPayload(parsed);
    if (format.mapValue !== undefined) {
      const headers = headerTexts(record.headers);
      const event: OutboxEvent = {
        id: headers.id,
        headers,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
      };
      return { type: 'put', value: format.mapValue(payload, event) };
    }
    return { type: 'put', value: rowValue(valueSerde, payload) };
  }
  const change: RowChange = format.type === 'debezium' ? debeziumChange(parsed) : unwrappedChange(parsed);
  return change.type === 'upsert' ? { type: 'put', value: rowValue(valueSerde, change.row) } : change;
}

/** A row (parsed JSON) read with the table's value serde: as is for JSON, else through the serde's bytes. */
function rowValue(serde: Serde<unknown>, row: unknown): unknown {
  if (serde.name === 'json' || serde.name === 'msgpack') return row;
  if (serde.name === 'string' && typeof row === 'string') return row;
  return serde.deserialize(Buffer.from(typeof row === 'string' ? row : JSON.stringify(row), 'utf8'));
}

export { FormatMismatch };
