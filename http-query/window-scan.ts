/**
 * Reading window stores for the window routes: one key's windows from the partition owning it, and all keys' windows
 * merged across partitions and instances in storage order (segment, key bytes, window start), paged with a cursor
 * holding the last entry's storage key. Like key scans, an all-keys read is all-or-nothing: any partition
 * unavailable answers 503, never a partial page.
 */
import { InvalidQueryParameterError, QueryUnavailableError } from '../errors.js';
import type { ReadOnlyKeyValueStore } from '../state-store/types.js';
import { WindowStoreReader } from '../state-store/window-store.js';
import type { WindowLayout } from '../state-store/window-layout.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { ForwardingClient } from './forwarding-client.js';
import { MAX_KEY_BYTES } from './keys.js';
import { fromArray, mergeSorted, type MergeSource } from './merge.js';
import type { JsonValue, ScanTarget, StoreInfo } from './query-source.js';
import { DEFAULT_SCAN_LIMIT, remoteErrorCode, remoteFailed, storeReadFailed, unavailable } from './scan.js';

/** Longest storage key a cursor may hold: segment (8) + escaped key (2 × key) + terminator (2) + start (8). */
export const MAX_WINDOW_POSITION_BYTES = 8 + 2 * MAX_KEY_BYTES + 2 + 8;

export interface WindowRangeQuery {
  /** Window starts in [from, to], inclusive both (epoch ms). */
  readonly from?: number;
  readonly to?: number;
  readonly limit?: number;
}

export interface WindowScanQuery extends WindowRangeQuery {
  readonly cursor?: string;
}

export interface KeyWindow {
  readonly start: number;
  readonly end: number;
  readonly value: JsonValue;
}

export interface WindowPageEntry extends KeyWindow {
  readonly key: JsonValue;
}

/** Instance-to-instance entries carry the storage key (base64url), which the caller merges by. */
export interface LocalWindowEntry extends WindowPageEntry {
  readonly k: string;
}

export interface LocalWindowResponse {
  readonly entries: readonly LocalWindowEntry[];
  readonly more: boolean;
}

interface Bounds {
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  readonly after?: Buffer;
}

function bounds(query: WindowScanQuery): Bounds {
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  if (from > to) throw new InvalidQueryParameterError('"from" must not be after "to"');
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, false, MAX_WINDOW_POSITION_BYTES).lastKey;
  return { from, to, limit: query.limit ?? DEFAULT_SCAN_LIMIT, after };
}

/** The layout of a windowed store (the route checked the kind). */
export function layoutOf(store: StoreInfo): WindowLayout {
  if (store.window === undefined) throw new Error(`store ${store.name} has no window layout. This is a bug in the query source.`);
  return store.window;
}

/**
 * Windows of one key starting in [from, to] from a local partition: at most `limit`, and the start to continue
 * from when there are more (`nextFrom`, null on the last page).
 */
export async function readKeyWindows(
  store: StoreInfo,
  partition: ReadOnlyKeyValueStore,
  key: Buffer,
  query: WindowRangeQuery,
): Promise<{ key: JsonValue; windows: KeyWindow[]; nextFrom: number | null }> {
  const { from, to, limit } = bounds(query);
  const windows: KeyWindow[] = [];
  let nextFrom: number | null = null;
  try {
    for await (const entry of new WindowStoreReader(partition, layoutOf(store)).fetch(key, from, to)) {
      if (windows.length === limit) {
        nextFrom = entry.start;
        break;
      }
      windows.push({ start: entry.start, end: entry.end, value: store.codec.valueToJson(entry.value) });
    }
  } catch (error) {
    throw storeReadFailed(store.name, error);
  }
  return { key: store.codec.keyToJson(key), windows, nextFrom };
}

/** An entry before rendering: local ones still hold the stored value, remote ones arrive rendered. */
type MergeEntry =
  | {
      readonly key: Buffer;
      readonly rendered: false;
      readonly keyBytes: Buffer;
      readonly start: number;
      readonly end: number;
      readonly value: unknown;
    }
  | { readonly key: Buffer; readonly rendered: true; readonly entry: WindowPageEntry };

function localSource(store: StoreInfo, partition: ReadOnlyKeyValueStore, range: Bounds): MergeSource<MergeEntry> {
  const reader = new WindowStoreReader(partition, layoutOf(store));
  async function* entries(): AsyncGenerator<MergeEntry> {
    try {
      for await (const entry of reader.fetchAll({ fromStart: range.from, toStart: range.to, after: range.after })) {
        yield { key: entry.position, rendered: false, keyBytes: entry.key, start: entry.start, end: entry.end, value: entry.value };
      }
    } catch (error) {
      throw storeReadFailed(store.name, error);
    }
  }
  return { entries: entries() };
}

function render(store: StoreInfo, entry: MergeEntry): WindowPageEntry {
  if (entry.rendered) return entry.entry;
  return { key: store.codec.keyToJson(entry.keyBytes), start: entry.start, end: entry.end, value: store.codec.valueToJson(entry.value) };
}

async function readRemote(
  client: ForwardingClient,
  url: string,
  partitions: readonly number[],
  store: StoreInfo,
  query: WindowScanQuery,
  range: Bounds,
): Promise<MergeSource<MergeEntry>> {
  const params = new URLSearchParams();
  params.set('from', String(range.from));
  params.set('to', String(range.to));
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  params.set('limit', String(range.limit));
  params.set('partitions', partitions.join(','));
  const response = await client.get(url, `/internal/stores/${encodeURIComponent(store.name)}/windows?${params}`);
  if (response.statusCode !== 200) {
    if (response.statusCode === 503) {
      const retryAfter = Number(response.retryAfter);
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_UNAVAILABLE',
        `The instance at ${url} cannot serve store "${store.name}" partitions ${partitions.join(',')} right now ` +
          `(${remoteErrorCode(response.body)}). Retry shortly.`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
      );
    }
    throw remoteFailed(url, response.statusCode, response.body);
  }
  const parsed = parseLocalWindowResponse(response.body);
  if (parsed === undefined) throw remoteFailed(url, 200, 'malformed body');
  const entries: MergeEntry[] = parsed.entries.map(({ k, key, start, end, value }) => ({
    key: Buffer.from(k, 'base64url'),
    rendered: true,
    entry: { key, start, end, value },
  }));
  return { entries: fromArray(entries), moreAfterEnd: parsed.more };
}

function parseLocalWindowResponse(body: string): LocalWindowResponse | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { entries, more } = parsed as { entries?: unknown; more?: unknown };
  if (!Array.isArray(entries) || typeof more !== 'boolean') return undefined;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { k, start, end } = entry as { k?: unknown; start?: unknown; end?: unknown };
    if (typeof k !== 'string' || typeof start !== 'number' || typeof end !== 'number') return undefined;
  }
  return parsed as LocalWindowResponse;
}

/** All keys' windows starting in [from, to], every partition wherever it lives, one page. */
export async function scanWindows(
  store: StoreInfo,
  targets: readonly ScanTarget[],
  query: WindowScanQuery,
  client: ForwardingClient,
): Promise<{ entries: WindowPageEntry[]; nextCursor: string | null }> {
  const range = bounds(query);
  for (const target of targets) if (target.kind === 'unavailable') throw unavailable(target, store.name);
  const sources = await Promise.all(
    targets.map((target) => {
      if (target.kind === 'local') return localSource(store, target.store, range);
      if (target.kind === 'remote') return readRemote(client, target.url, target.partitions, store, query, range);
      throw unavailable(target, store.name);
    }),
  );
  const page = await mergeSorted(sources, range.limit, false);
  const last = page.entries[page.entries.length - 1];
  const nextCursor = page.more && last !== undefined ? encodeCursor({ reverse: false, lastKey: last.key }) : null;
  return { entries: page.entries.map((entry) => render(store, entry)), nextCursor };
}

/** Instance-to-instance read of exactly `partitions`, all of which must be local (else 503: ownership moved). */
export async function scanLocalWindowPartitions(
  store: StoreInfo,
  targets: readonly ScanTarget[],
  partitions: readonly number[],
  query: WindowScanQuery,
): Promise<LocalWindowResponse> {
  const range = bounds(query);
  const local = new Map<number, ReadOnlyKeyValueStore>();
  for (const target of targets) if (target.kind === 'local' && target.partition !== 'global') local.set(target.partition, target.store);
  const sources: MergeSource<MergeEntry>[] = [];
  for (const partition of partitions) {
    const partitionStore = local.get(partition);
    if (partitionStore === undefined) {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_NOT_LOCAL',
        `Partition ${partition} of store "${store.name}" is not served by this instance any more (ownership is changing). Retry shortly.`,
        1,
      );
    }
    sources.push(localSource(store, partitionStore, range));
  }
  const page = await mergeSorted(sources, range.limit, false);
  return { entries: page.entries.map((entry) => ({ k: entry.key.toString('base64url'), ...render(store, entry) })), more: page.more };
}
