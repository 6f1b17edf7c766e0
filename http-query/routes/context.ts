import type { ForwardingClient } from '../forwarding-client.js';
import type { QueryServerMetrics } from '../metrics.js';
import type { QuerySource, StoreInfo } from '../query-source.js';
import { UnknownStoreError } from '../../errors.js';

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
