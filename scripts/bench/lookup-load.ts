/**
 * HTTP query load against running application instances: a fixed number of requests at a fixed concurrency per
 * scenario (after a warm-up), over keep-alive connections, loopback only.
 *   local      point lookups in the partitioned store, each sent to the instance holding the key
 *   forwarded  the same lookups sent to an instance that does not hold the key (one forwarding hop)
 *   global     point lookups in the global store (local on every instance)
 *   scan100    100-entry pages of the partitioned store, merged across the instances
 */
import { Agent } from 'undici';
import { defaultPartition } from '../../common/partitioner.js';
import { runRequestLoop, type RequestLoopResult } from './request-loop.js';

export type LookupScenarioResult = RequestLoopResult;

export interface LookupLoadOptions {
  /** Base URLs of the instances. */
  readonly urls: readonly string[];
  readonly partitionedStore: string;
  readonly globalStore: string;
  readonly partitions: number;
  /** Keys that exist in both stores. */
  readonly keys: readonly string[];
  readonly requests: number;
  readonly concurrency: number;
  readonly maxSecondsPerScenario?: number;
}

export interface LookupLoadResult {
  readonly concurrency: number;
  readonly local: LookupScenarioResult;
  readonly forwarded: LookupScenarioResult;
  readonly global: LookupScenarioResult;
  readonly scan100: LookupScenarioResult;
}

interface Metadata {
  readonly instances: readonly { readonly url: string; readonly storePartitions: Readonly<Record<string, readonly number[]>> }[];
}

export async function runLookupLoad(options: LookupLoadOptions): Promise<LookupLoadResult> {
  const { urls, partitionedStore, globalStore, partitions, keys, requests, concurrency } = options;
  const maxSeconds = options.maxSecondsPerScenario ?? 30;
  const response = await fetch(`${urls[0]}/metadata`);
  if (response.status !== 200) throw new Error(`GET ${urls[0]}/metadata answered ${response.status}`);
  const metadata = (await response.json()) as Metadata;
  const ownerOf = new Map<number, string>();
  for (const instance of metadata.instances) {
    for (const partition of instance.storePartitions[partitionedStore] ?? []) ownerOf.set(partition, instance.url);
  }
  const local: string[] = [];
  const forwarded: string[] = [];
  const global: string[] = [];
  const scans: string[] = [];
  keys.forEach((key, i) => {
    const owner = ownerOf.get(defaultPartition(Buffer.from(key), partitions));
    if (owner === undefined) throw new Error(`no instance holds the partition of ${key}; /metadata: ${JSON.stringify(metadata)}`);
    const other = urls.find((url) => url !== owner);
    const encoded = encodeURIComponent(key);
    local.push(`${owner}/stores/${partitionedStore}/keys/${encoded}`);
    if (other !== undefined) forwarded.push(`${other}/stores/${partitionedStore}/keys/${encoded}`);
    global.push(`${urls[i % urls.length]}/stores/${globalStore}/keys/${encoded}`);
    scans.push(`${urls[i % urls.length]}/stores/${partitionedStore}/entries?limit=100&from=${encoded}`);
  });
  if (forwarded.length === 0) throw new Error('lookup load needs at least two instances for the forwarded scenario');

  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  try {
    const scanRequests = Math.max(1, Math.floor(requests / 5));
    // Warm every path first (JIT, connection pools, LevelDB caches) so the scenario order does not matter.
    for (const [paths, count] of [
      [local, requests],
      [forwarded, requests],
      [global, requests],
      [scans, scanRequests],
    ] as const) {
      await runRequestLoop(dispatcher, paths, Math.max(1, Math.floor(count / 5)), concurrency, maxSeconds);
    }
    return {
      concurrency,
      local: await runRequestLoop(dispatcher, local, requests, concurrency, maxSeconds),
      forwarded: await runRequestLoop(dispatcher, forwarded, requests, concurrency, maxSeconds),
      global: await runRequestLoop(dispatcher, global, requests, concurrency, maxSeconds),
      scan100: await runRequestLoop(dispatcher, scans, scanRequests, concurrency, maxSeconds),
    };
  } finally {
    await dispatcher.close();
  }
}
