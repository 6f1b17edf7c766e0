/**
 * Rendering of dead-letter records for GET /dead-letters: bytes as bounded previews (UTF-8 text when they are valid
 * UTF-8, else base64), the `tributary.*` headers read into fields, and the page cursor (`<partition>:<offset>,…`, per
 * partition the offset the next page stops below).
 */
import { DeadLetterHeaders } from '../common/dead-letters.js';
import { InvalidQueryParameterError } from '../errors.js';
import type { DeadLetterEntry } from './query-source.js';

/** Longest key, value or header preview, in bytes; longer ones are cut and marked `truncated`. */
export const MAX_PREVIEW_BYTES = 4096;

export interface BytesPreview {
  readonly encoding: 'utf8' | 'base64';
  readonly data: string;
  /** Size of the whole byte string. */
  readonly size: number;
  readonly truncated: boolean;
}

export interface DeadLetterJson {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly stage: string | null;
  readonly errorClass: string | null;
  readonly errorMessage: string | null;
  readonly sourceTopic: string | null;
  readonly sourcePartition: number | null;
  readonly sourceOffset: number | null;
  /** Production-stage dead letters: the topic the output was meant for. */
  readonly targetTopic: string | null;
  readonly key: BytesPreview | null;
  readonly value: BytesPreview | null;
  readonly headers: readonly { readonly name: string; readonly value: BytesPreview }[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function previewBytes(bytes: Uint8Array): BytesPreview {
  const truncated = bytes.length > MAX_PREVIEW_BYTES;
  const head = truncated ? bytes.subarray(0, MAX_PREVIEW_BYTES) : bytes;
  // A cut can split a multi-byte character: drop up to 3 trailing bytes before deciding the bytes are not text.
  let text = decodeUtf8(head);
  for (let drop = 1; text === undefined && truncated && drop <= 3; drop++) text = decodeUtf8(head.subarray(0, head.length - drop));
  if (text !== undefined) return { encoding: 'utf8', data: text, size: bytes.length, truncated };
  return { encoding: 'base64', data: Buffer.from(head).toString('base64'), size: bytes.length, truncated };
}

function headerText(entry: DeadLetterEntry, name: string): string | null {
  const value = entry.headers[name];
  return value === undefined ? null : (decodeUtf8(value) ?? null);
}

function headerInteger(entry: DeadLetterEntry, name: string): number | null {
  const text = headerText(entry, name);
  return text !== null && /^\d{1,15}$/.test(text) ? Number(text) : null;
}

export function deadLetterJson(entry: DeadLetterEntry): DeadLetterJson {
  const h = DeadLetterHeaders;
  return {
    partition: entry.partition,
    offset: entry.offset,
    timestamp: entry.timestamp,
    stage: headerText(entry, h.stage),
    errorClass: headerText(entry, h.errorClass),
    errorMessage: headerText(entry, h.errorMessage),
    sourceTopic: headerText(entry, h.sourceTopic),
    sourcePartition: headerInteger(entry, h.sourcePartition),
    sourceOffset: headerInteger(entry, h.sourceOffset),
    targetTopic: headerText(entry, h.targetTopic),
    key: entry.key === null ? null : previewBytes(entry.key),
    value: entry.value === null ? null : previewBytes(entry.value),
    headers: Object.keys(entry.headers)
      .sort()
      .map((name) => ({ name, value: previewBytes(entry.headers[name]) })),
  };
}

/** `0:120,1:88` → partition → offset. Throws InvalidQueryParameterError (400) on anything else. */
export function parseDeadLetterCursor(text: string): Map<number, number> {
  const cursor = new Map<number, number>();
  for (const part of text.split(',')) {
    const match = /^(\d{1,6}):(\d{1,16})$/.exec(part);
    const offset = match === null ? Number.NaN : Number(match[2]);
    if (match === null || !Number.isSafeInteger(offset)) {
      throw new InvalidQueryParameterError(`"before" must be the "next" of the previous page (<partition>:<offset>,…), got "${text}"`);
    }
    const partition = Number(match[1]);
    if (cursor.has(partition)) throw new InvalidQueryParameterError(`"before" names partition ${partition} twice`);
    cursor.set(partition, offset);
  }
  return cursor;
}

export function formatDeadLetterCursor(cursor: ReadonlyMap<number, number>): string {
  return [...cursor]
    .sort(([a], [b]) => a - b)
    .map(([partition, offset]) => `${partition}:${offset}`)
    .join(',');
}
