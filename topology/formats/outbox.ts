/**
 * The outbox pattern through Debezium's outbox event router (io.debezium.transforms.outbox.EventRouter): the record
 * key is the aggregate id, the value is the event payload, the event id travels in the `id` header. As a table, the
 * latest event per aggregate is the row.
 *
 * The payload arrives as expanded JSON (`table.expand.json.payload`), as a JSON string holding JSON (a text column
 * through the JsonConverter), or as the JSON text itself (StringConverter); with or without the schema wrapper.
 */
import type { RecordHeaders } from '../../common/records.js';
import { connectPayload } from './debezium.js';

/** What a table's value mapper sees of an outbox event besides its payload. */
export interface OutboxEvent {
  /** The event id (the router's `id` header), when present. */
  readonly id: string | undefined;
  /** Every header as text (the router can place more fields there, e.g. the event type). */
  readonly headers: Readonly<Record<string, string>>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

/** The event payload of a parsed outbox record value. */
export function outboxPayload(value: unknown): unknown {
  const payload = connectPayload(value);
  if (typeof payload !== 'string') return payload;
  // A text payload column: the JSON it holds, or the text when it is not JSON.
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

/** Header values as text; a JSON-string header (`"abc"`, the JsonConverter's header form) loses its quotes. */
export function headerTexts(headers: RecordHeaders | undefined): Record<string, string> {
  const texts: Record<string, string> = {};
  if (headers === undefined) return texts;
  for (const [name, bytes] of Object.entries(headers)) {
    const text = bytes.toString('utf8');
    texts[name] = text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? unquote(text) : text;
  }
  return texts;
}

function unquote(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'string' ? parsed : text;
  } catch {
    return text;
  }
}
