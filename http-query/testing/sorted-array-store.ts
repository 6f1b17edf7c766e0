/**
 * A read-only store over a sorted array with binary-searched range starts (like a LevelDB seek), so scans cost
 * O(log n + page) — the load check measures the HTTP layer, not a linear filter. Test/bench use only.
 */
import type { RangeOptions, ReadOnlyKeyValueStore, StoreEntry } from '../../state-store/types.js';

export class SortedArrayStore<V> implements ReadOnlyKeyValueStore<V> {
  private keys: Buffer[] = [];
  private values: V[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly partition: number | 'global',
  ) {}

  /** Replaces the contents (tests load data once). */
  load(entries: Iterable<readonly [Buffer, V]>): void {
    const sorted = [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
    this.keys = sorted.map(([key]) => key);
    this.values = sorted.map(([, value]) => value);
    this.index.clear();
    this.keys.forEach((key, i) => this.index.set(key.toString('latin1'), i));
  }

  async get(key: Uint8Array): Promise<V | undefined> {
    return this.readStored(key);
  }

  /** The value as loaded (values are held decoded, never as JSON text). */
  readStored(key: Uint8Array): V | undefined {
    const i = this.index.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
    return i === undefined ? undefined : this.values[i];
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(V | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async approximateCount(): Promise<number> {
    return this.keys.length;
  }

  /** First index whose key is >= `bound` (or > when `exclusive`). */
  private lowerIndex(bound: Uint8Array, exclusive: boolean): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = Buffer.compare(this.keys[mid], bound);
      if (c < 0 || (exclusive && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async *range(options: RangeOptions = {}): AsyncIterable<StoreEntry<V>> {
    const { prefix } = options;
    let start = 0;
    let end = this.keys.length; // exclusive
    const raise = (i: number) => (start = Math.max(start, i));
    const lower = (i: number) => (end = Math.min(end, i));
    if (options.gte) raise(this.lowerIndex(options.gte, false));
    if (options.gt) raise(this.lowerIndex(options.gt, true));
    if (options.lt) lower(this.lowerIndex(options.lt, false));
    if (options.lte) lower(this.lowerIndex(options.lte, true));
    if (prefix) raise(this.lowerIndex(prefix, false));
    const inPrefix = (i: number) => prefix === undefined || Buffer.compare(this.keys[i].subarray(0, prefix.length), prefix) === 0;
    const limit = options.limit ?? Infinity;
    let emitted = 0;
    if (!options.reverse) {
      for (let i = start; i < end && emitted < limit && inPrefix(i); i++, emitted++) {
        yield { key: this.keys[i], value: this.values[i] };
      }
    } else {
      let i = end - 1;
      // In reverse, skip keys past the prefix range first.
      while (i >= start && prefix !== undefined && !inPrefix(i) && Buffer.compare(this.keys[i], prefix) > 0) i--;
      for (; i >= start && emitted < limit && inPrefix(i); i--, emitted++) {
        yield { key: this.keys[i], value: this.values[i] };
      }
    }
  }
}
