/**
 * Debezium change events (the JsonConverter's output, with or without its `{schema, payload}` wrapper) and the
 * rows of the ExtractNewRecordState transform, read into what a table does with them. Pure functions over parsed
 * JSON; table-format.ts applies them to records.
 *
 *   op c (create), r (snapshot read), u (update)  → upsert `after`
 *   op d (delete)                                 → delete (the tombstone that follows deletes again: idempotent)
 *   op t (truncate)                               → truncate (the table decides: fail or clear)
 *   op m (logical decoding message)               → skip (not a row)
 *   anything else                                 → not an envelope: a deserialization error
 */

/** What one change event means for a table row. */
export type RowChange =
  | { readonly type: 'upsert'; readonly row: Readonly<Record<string, unknown>> }
  | { readonly type: 'delete' }
  | { readonly type: 'truncate' }
  | { readonly type: 'skip'; readonly reason: string };

/** Thrown for a value that is not what the format describes; the caller maps it to a `DeserializationError`. */
export class FormatMismatch extends Error {}

/** The payload of a JsonConverter value: the wrapper's `payload` when `schemas.enable` is on, else the value. */
export function connectPayload(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'payload' in value && 'schema' in value) {
    const keys = Object.keys(value);
    if (keys.length === 2) return (value as { payload: unknown }).payload;
  }
  return value;
}

function isRow(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A parsed Debezium envelope (`{before, after, source, op, ts_ms, ...}`, wrapped or not) → its row change. */
export function debeziumChange(value: unknown): RowChange {
  const payload = connectPayload(value);
  if (!isRow(payload) || typeof payload.op !== 'string') {
    throw new FormatMismatch(
      'not a Debezium change event (no "op" field; is the ExtractNewRecordState transform on? use debezium-unwrapped)',
    );
  }
  switch (payload.op) {
    case 'c':
    case 'r':
    case 'u': {
      const after = payload.after;
      if (!isRow(after)) throw new FormatMismatch(`Debezium op '${payload.op}' without an "after" row`);
      return { type: 'upsert', row: after };
    }
    case 'd':
      return { type: 'delete' };
    case 't':
      return { type: 'truncate' };
    case 'm':
      return { type: 'skip', reason: 'logical decoding message' };
    default:
      throw new FormatMismatch(`unknown Debezium op '${payload.op}'`);
  }
}

/** Field ExtractNewRecordState adds in `delete.handling.mode=rewrite` (`"true"` on deletes). */
export const DELETED_FIELD = '__deleted';

/** A parsed ExtractNewRecordState row (wrapped or not) → its row change; `__deleted` is dropped from rows. */
export function unwrappedChange(value: unknown): RowChange {
  const row = connectPayload(value);
  if (row === null) return { type: 'delete' };
  if (!isRow(row)) throw new FormatMismatch('not a row (expected a JSON object: the output of ExtractNewRecordState)');
  if (typeof row.op === 'string' && 'source' in row && ('after' in row || 'before' in row)) {
    throw new FormatMismatch('this is a full Debezium envelope, not an unwrapped row: use the debezium format');
  }
  if (!(DELETED_FIELD in row)) return { type: 'upsert', row };
  const deleted = row[DELETED_FIELD];
  if (deleted === 'true' || deleted === true) return { type: 'delete' };
  const { [DELETED_FIELD]: _dropped, ...rest } = row;
  return { type: 'upsert', row: rest };
}
