/**
 * Ordered, paged scans over a store that may be spread across instances: read each local partition and ask each
 * remote instance for its local partitions, then k-way merge the runs in key byte order.
 * A scan is all-or-nothing: if any partition is unavailable the whole request answers 503, never a partial page.
 */
import { InvalidQueryParameterError, QueryUnavailableError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { ForwardingClient } from './forwarding-client.js';
import { encodeKey, MAX_KEY_BYTES } from './keys.js';
import { fromArray, mergeSorted, type MergeSource } from './merge.js';
import type { JsonValue, ScanTarget, StoreInfo } from './query-source.js';
import type { RangeOptions, ReadOnlyKeyValueStore } from '../state-store/types.js';

export const DEFAULT_SCAN_LIMIT = 100;
export const MAX_SCAN_LIMIT = 1000;

/** Scan parameters exactly as the client sent them (validated for type/size by the route schema). */
export interface ScanQuery {
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
  readonly cursor?: string;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export interface ScanPageEntry {
  readonly key: JsonValue;
  readonly value: JsonValue;
}

/** Internal (instance-to-instance) entries carry the key bytes, which the caller needs to merge. */
export interface LocalScanEntry extends ScanPageEntry {
  /** base64url key bytes */
  readonly k: string;
}

export interface LocalScanResponse {
  readonly entries: readonly LocalScanEntry[];
  readonly more: boolean;
}

interface Bounds {
  readonly range: RangeOptions;
  readonly reverse: boolean;
  readonly limit: number;
}

/** An entry before rendering: local ones still hold the store value, remote ones arrive rendered. */
type MergeEntry =
  | { readonly key: Buffer; readonly rendered: false; readonly value: unknown }
  | { readonly key: Buffer; readonly rendered: true; readonly keyJson: JsonValue; readonly value: JsonValue };

function scanBounds(store: StoreInfo, query: ScanQuery): Bounds {
  const reverse = query.reverse ?? false;
  const limit = query.limit ?? DEFAULT_SCAN_LIMIT;
  const prefix = query.prefix === undefined ? undefined : encodeKey(store, query.prefix);
  const from = query.from === undefined ? undefined : encodeKey(store, query.from);
  const to = query.to === undefined ? undefined : encodeKey(store, query.to);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, reverse, MAX_KEY_BYTES).lastKey;
  if (from !== undefined && to !== undefined && Buffer.compare(from, to) > 0) {
    throw new InvalidQueryParameterError('"from" must not sort after "to"');
  }
  // `from` is inclusive, `to` exclusive; the cursor excludes the last key already returned.
  let range: RangeOptions;
  if (!reverse) {
    range = { prefix, gte: from, gt: after, lt: to };
  } else {
    const upper = after === undefined ? to : to === undefined || Buffer.compare(after, to) < 0 ? after : to;
    range = { prefix, gte: from, lt: upper, reverse: true };
  }
  return { range, reverse, limit };
}

/** A local partition as a merge source; read lazily, capped at one entry past a page (enough to know `more`). */
function localSource(store: ReadOnlyKeyValueStore, bounds: Bounds, storeName: string): MergeSource<MergeEntry> {
  async function* entries(): AsyncGenerator<MergeEntry> {
    try {
      for await (const entry of store.range({ ...bounds.range, limit: bounds.limit + 1 })) {
        yield { key: entry.key, rendered: false, value: entry.value };
      }
    } catch (error) {
      throw storeReadFailed(storeName, error);
    }
  }
  return { entries: entries() };
}

export function storeReadFailed(storeName: string, error: unknown): QueryUnavailableError {
  // Most likely the partition's store was closed by a rebalance between locating it and reading it.
  return new QueryUnavailableError(
    'TRIBUTARY_QUERY_STORE_READ_FAILED',
    `Reading store "${storeName}" failed, most likely because its partition is moving. Retry shortly.`,
    1,
    { cause: error },
  );
}

export function unavailable(target: Extract<ScanTarget, { kind: 'unavailable' }>, storeName: string): QueryUnavailableError {
  return new QueryUnavailableError(
    'TRIBUTARY_QUERY_UNAVAILABLE',
    `Store "${storeName}" partitions ${target.partitions.join(',')} cannot be read right now: ${target.reason}. ` +
      `Retry after ${target.retryAfterSeconds}s.`,
    target.retryAfterSeconds,
  );
}

async function readRemote(
  client: ForwardingClient,
  url: string,
  partitions: readonly number[],
  storeName: string,
  query: ScanQuery,
  bounds: Bounds,
): Promise<MergeSource<MergeEntry>> {
  const params = new URLSearchParams();
  if (query.prefix !== undefined) params.set('prefix', query.prefix);
  if (query.from !== undefined) params.set('from', query.from);
  if (query.to !== undefined) params.set('to', query.to);
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  params.set('reverse', String(bounds.reverse));
  params.set('limit', String(bounds.limit));
  params.set('partitions', partitions.join(','));
  const response = await client.get(url, `/internal/stores/${encodeURIComponent(storeName)}/entries?${params}`);
  if (response.statusCode !== 200) {
    if (response.statusCode === 503) {
      const retryAfter = Number(response.retryAfter);
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_UNAVAILABLE',
        `The instance at ${url} cannot serve store "${storeName}" partitions ${partitions.join(',')} right now ` +
          `(${remoteErrorCode(response.body)}). Retry shortly.`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
      );
    }
    throw remoteFailed(url, response.statusCode, response.body);
  }
  const parsed = parseLocalScanResponse(response.body);
  if (parsed === undefined) throw remoteFailed(url, 200, 'malformed body');
  const entries: MergeEntry[] = parsed.entries.map((entry) => ({
    key: Buffer.from(entry.k, 'base64url'),
    rendered: true,
    keyJson: entry.key,
    value: entry.value,
  }));
  return { entries: fromArray(entries), moreAfterEnd: parsed.more };
}

function parseLocalScanResponse(body: string): LocalScanResponse | undefined {
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
    if (typeof entry !== 'object' || entry === null || typeof (entry as { k?: unknown }).k !== 'string') {
      return undefined;
    }
  }
  return parsed as LocalScanResponse;
}

export function remoteErrorCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : 'no error code';
  } catch {
    return 'no error code';
  }
}

export function remoteFailed(url: string, statusCode: number, body: string): QueryUnavailableError {
  return new QueryUnavailableError(
    'TRIBUTARY_QUERY_REMOTE_FAILED',
    `The instance at ${url} answered ${statusCode} (${remoteErrorCode(body)}); its answer cannot be used. ` +
      'Check that all instances run the same version with the same auth token, then retry.',
    1,
  );
}

function render(store: StoreInfo, entry: MergeEntry): ScanPageEntry {
  return entry.rendered
    ? { key: entry.keyJson, value: entry.value }
    : { key: store.codec.keyToJson(entry.key), value: store.codec.valueToJson(entry.value) };
}

/** Public scan: every partition of the store, wherever it lives. */
export async function scanStore(
  store: StoreInfo,
  targets: readonly ScanTarget[],
  query: ScanQuery,
  client: ForwardingClient,
): Promise<{ entries: ScanPageEntry[]; nextCursor: string | null }> {
  const bounds = scanBounds(store, query);
  for (const target of targets) if (target.kind === 'unavailable') throw unavailable(target, store.name);
  // Remote pages are fetched in parallel first; local partitions are then read lazily during the merge.
  const sources = await Promise.all(
    targets.map((target) => {
      if (target.kind === 'local') return localSource(target.store, bounds, store.name);
      if (target.kind === 'remote') return readRemote(client, target.url, target.partitions, store.name, query, bounds);
      throw unavailable(target, store.name);
    }),
  );
  const page = await mergeSorted(sources, bounds.limit, bounds.reverse);
  const last = page.entries[page.entries.length - 1];
  const nextCursor = page.more && last !== undefined ? encodeCursor({ reverse: bounds.reverse, lastKey: last.key }) : null;
  return { entries: page.entries.map((entry) => render(store, entry)), nextCursor };
}

/**
 * Instance-to-instance scan of exactly `partitions`, all of which must be local here (otherwise ownership moved
 * since the caller looked: 503, so the caller never merges a page with a partition missing or doubled).
 */
export async function scanLocalPartitions(
  store: StoreInfo,
  targets: readonly ScanTarget[],
  partitions: readonly number[],
  query: ScanQuery,
): Promise<LocalScanResponse> {
  const bounds = scanBounds(store, query);
  const local = new Map<number, ReadOnlyKeyValueStore>();
  for (const target of targets) if (target.kind === 'local' && target.partition !== 'global') local.set(target.partition, target.store);
  const stores: ReadOnlyKeyValueStore[] = [];
  for (const partition of partitions) {
    const partitionStore = local.get(partition);
    if (partitionStore === undefined) {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_NOT_LOCAL',
        `Partition ${partition} of store "${store.name}" is not served by this instance any more (ownership is ` +
          'changing). Retry shortly.',
        1,
      );
    }
    stores.push(partitionStore);
  }
  const sources = stores.map((partitionStore) => localSource(partitionStore, bounds, store.name));
  const page = await mergeSorted(sources, bounds.limit, bounds.reverse);
  return {
    entries: page.entries.map((entry) => ({ k: entry.key.toString('base64url'), ...render(store, entry) })),
    more: page.more,
  };
}

/** Parses the internal route's `partitions=0,3,5` list. */
export function parsePartitionList(text: string, partitionCount: number): number[] {
  const partitions = text.split(',').map((part) => Number(part));
  const seen = new Set<number>();
  for (const partition of partitions) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount || seen.has(partition)) {
      throw new InvalidQueryParameterError(`"partitions" must list distinct partitions in [0, ${partitionCount})`);
    }
    seen.add(partition);
  }
  return partitions;
}
