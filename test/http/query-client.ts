/**
 * HTTP-side helpers for the two-instance query tests: answer checking, continuous pollers for rebalances, paged
 * scans, and a bounded load loop (fixed concurrency, fixed count; loopback only). Latencies are measured and
 * printed by the tests, never asserted.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterMetadata } from '../../http-query/query-source.js';

export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: string;
}

export async function get(url: string): Promise<Answer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
}

export function keyUrl(base: string, store: string, key: string): string {
  return `${base}/stores/${encodeURIComponent(store)}/keys/${encodeURIComponent(key)}`;
}

/**
 * `undefined` when the answer is acceptable for `key`: a 200 with exactly the expected value, or (when
 * `allowUnavailable`) a 503 with Retry-After and a TRIBUTARY_QUERY_* code. Otherwise a description of what is wrong.
 */
export function checkAnswer(answer: Answer, key: string, expected: unknown, allowUnavailable: boolean): string | undefined {
  if (answer.status === 200) {
    const body = JSON.parse(answer.body) as { key: unknown; value: unknown };
    if (body.key === key && JSON.stringify(body.value) === JSON.stringify(expected)) return undefined;
    return `200 with a wrong body for ${key}: ${answer.body.slice(0, 200)}`;
  }
  if (answer.status === 503 && allowUnavailable) {
    const code = (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code ?? '';
    if (answer.retryAfter !== null && Number(answer.retryAfter) > 0 && code.startsWith('TRIBUTARY_QUERY_')) return undefined;
    return `503 without Retry-After or a Tributary code for ${key}: retry-after=${answer.retryAfter} ${answer.body.slice(0, 200)}`;
  }
  return `unexpected ${answer.status} for ${key}: ${answer.body.slice(0, 200)}`;
}

export interface PollStats {
  ok: number;
  unavailable: number;
  /** Transport failures (connection refused, timeouts): none expected from instances that stay up. */
  transportErrors: string[];
  wrong: string[];
  byCode: Map<string, number>;
}

/**
 * Queries keys continuously, round-robin over the current `targets()`, with `concurrency` requests in flight, until
 * `stop()`. Every answer must be a correct 200 or a proper 503.
 */
export class QueryPoller {
  readonly stats: PollStats = { ok: 0, unavailable: 0, transportErrors: [], wrong: [], byCode: new Map() };
  private stopped = false;
  private next = 0;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly targets: () => readonly string[],
    private readonly store: string,
    private readonly expected: ReadonlyMap<string, unknown>,
    private readonly concurrency = 4,
  ) {}

  start(): this {
    const keys = [...this.expected.keys()];
    for (let w = 0; w < this.concurrency; w++) {
      this.workers.push(
        (async () => {
          while (!this.stopped) {
            const n = this.next++;
            const urls = this.targets();
            const base = urls[n % urls.length];
            const key = keys[(n * 7919) % keys.length];
            let answer: Answer;
            try {
              answer = await get(keyUrl(base, this.store, key));
            } catch (error) {
              this.stats.transportErrors.push(`${base}: ${error instanceof Error ? error.message : String(error)}`);
              continue;
            }
            const problem = checkAnswer(answer, key, this.expected.get(key), true);
            if (problem !== undefined) this.stats.wrong.push(`${base}: ${problem}`);
            else if (answer.status === 200) this.stats.ok++;
            else {
              this.stats.unavailable++;
              const code = (JSON.parse(answer.body) as { error: { code: string } }).error.code;
              this.stats.byCode.set(code, (this.stats.byCode.get(code) ?? 0) + 1);
            }
          }
        })(),
      );
    }
    return this;
  }

  async stop(): Promise<PollStats> {
    this.stopped = true;
    await Promise.all(this.workers);
    return this.stats;
  }
}

export interface ScanPage {
  readonly entries: { key: unknown; value: unknown }[];
  readonly nextCursor: string | null;
}

export type ScanOutcome =
  | { readonly kind: 'complete'; readonly entries: ScanPage['entries']; readonly pages: number }
  /** A page answered 503 with Retry-After and a Tributary code: the scan must be started again. */
  | { readonly kind: 'unavailable'; readonly code: string; readonly page: number };

/** Every page of a scan, following `nextCursor`; a proper 503 ends it as 'unavailable', anything else throws. */
export async function scanPages(base: string, store: string, limit: number, reverse = false): Promise<ScanOutcome> {
  const entries: ScanPage['entries'] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams({ limit: String(limit), reverse: String(reverse) });
    if (cursor !== null) params.set('cursor', cursor);
    const answer = await get(`${base}/stores/${encodeURIComponent(store)}/entries?${params.toString()}`);
    if (answer.status === 503) {
      const code = (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code ?? '';
      if (answer.retryAfter !== null && code.startsWith('TRIBUTARY_QUERY_')) return { kind: 'unavailable', code, page: pages };
    }
    if (answer.status !== 200) throw new Error(`scan page ${pages} of ${store} at ${base}: ${answer.status} ${answer.body.slice(0, 300)}`);
    const page = JSON.parse(answer.body) as ScanPage;
    entries.push(...page.entries);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null);
  return { kind: 'complete', entries, pages };
}

/** A scan that must complete (no 503 allowed). */
export async function scanAll(
  base: string,
  store: string,
  limit: number,
  reverse = false,
): Promise<{ entries: ScanPage['entries']; pages: number }> {
  const outcome = await scanPages(base, store, limit, reverse);
  if (outcome.kind !== 'complete') throw new Error(`scan of ${store} at ${base}: page ${outcome.page} answered 503 ${outcome.code}`);
  return outcome;
}

/** True when `entries` are exactly `expected`, in key order. */
export function isCompleteScan(entries: ScanPage['entries'], expected: ReadonlyMap<string, unknown>): boolean {
  const keys = [...expected.keys()].sort();
  return (
    entries.length === keys.length &&
    entries.every((entry, i) => entry.key === keys[i] && JSON.stringify(entry.value) === JSON.stringify(expected.get(keys[i])))
  );
}

/** Full scans in a loop (one at a time) until `stop()`: each one completes exactly right or ends on a proper 503. */
export class ScanPoller {
  complete = 0;
  unavailable = 0;
  readonly wrong: string[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly targets: () => readonly string[],
    private readonly store: string,
    private readonly expected: ReadonlyMap<string, unknown>,
    private readonly limit: number,
  ) {}

  start(): this {
    this.running = (async () => {
      for (let n = 0; !this.stopped; n++) {
        const urls = this.targets();
        const base = urls[n % urls.length];
        try {
          const outcome = await scanPages(base, this.store, this.limit);
          if (outcome.kind === 'unavailable') this.unavailable++;
          else if (isCompleteScan(outcome.entries, this.expected)) this.complete++;
          else
            this.wrong.push(
              `${base}: scan returned ${outcome.entries.length} entries, not the ${this.expected.size} expected in key order`,
            );
        } catch (error) {
          this.wrong.push(`${base}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

/**
 * /metadata without the per-viewer `self` flag, instances sorted by id: equal on every instance when they agree
 * (including `assignmentId`, which the group leader mints once per rebalance).
 */
export function comparableMetadata(metadata: ClusterMetadata): string {
  const instances = metadata.instances
    .map((i) => ({
      id: i.id,
      url: i.url,
      tasks: [...i.tasks].sort(),
      storePartitions: Object.fromEntries(
        Object.entries(i.storePartitions)
          .sort(([x], [y]) => x.localeCompare(y))
          .map(([store, partitions]) => [store, [...partitions].sort((x, y) => x - y)]),
      ),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
  return JSON.stringify({ assignmentId: metadata.assignmentId, instances });
}

export interface LoadResult {
  readonly requests: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly failures: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `count` lookups of `keys` (cycled) against `base`, `concurrency` at a time; every answer is checked. */
export async function loadLoop(
  base: string,
  store: string,
  keys: readonly string[],
  expected: ReadonlyMap<string, unknown>,
  count: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = next++; n < count; n = next++) {
        const key = keys[n % keys.length];
        const t0 = performance.now();
        const answer = await get(keyUrl(base, store, key));
        latencies.push(performance.now() - t0);
        if (checkAnswer(answer, key, expected.get(key), false) !== undefined) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    requests: count,
    concurrency,
    seconds: round(seconds),
    perSecond: Math.round(count / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? Number.NaN),
    failures,
  };
}
