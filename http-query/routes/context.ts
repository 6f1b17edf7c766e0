import type { ForwardingClient } from '../forwarding-client.js';
import type { QueryServerMetrics } from '../metrics.js';
import type { QuerySource, StoreInfo } from '../query-source.js';
import { QueryWrongRouteError, UnknownStoreError } from '../../errors.js';

/** What every route plugin gets from the server. */
export interface RouteContext {
  readonly source: QuerySource;
  readonly forwarder: ForwardingClient;
  readonly metrics: QueryServerMetrics;
}

export function requireStore(source: QuerySource, name: string): StoreInfo {
  const store = source.store(name);
  if (store === undefined) throw new UnknownStoreError(name);
  return store;
}

/** Key lookups and key scans answer key-value stores; a window store is read through the window routes. */
export function requireKeyValueStore(source: QuerySource, name: string): StoreInfo {
  const store = requireStore(source, name);
  if (store.kind === 'windowed') {
    const path = `/stores/${encodeURIComponent(store.name)}`;
    throw new QueryWrongRouteError(
      'TRIBUTARY_QUERY_STORE_KIND_MISMATCH',
      `Store "${store.name}" is a window store: read one key's windows with GET ${path}/keys/:key/windows?from=&to= and every key's with GET ${path}/windows?from=&to=.`,
    );
  }
  return store;
}
