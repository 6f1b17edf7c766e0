/**
 * A task's view of one of its stores: pending writes (read-your-writes overlay, flushed at commit) in front of a
 * bounded LRU cache of decoded values, in front of the store itself. Only the task writes its stores, so cached
 * values (including "known absent") stay true until the task itself changes them.
 */
import type { KeyedWrite, KeyValueStore } from '../../state-store/types.js';

/** `peek` result meaning "not known here: read the store". Anything else is the value (undefined = absent). */
export const NOT_CACHED: unique symbol = Symbol('not-cached');
const ABSENT = Symbol('absent');

export class TaskStoreView {
  readonly name: string;
  readonly store: KeyValueStore<unknown>;
  private overlay = new Map<string, KeyedWrite<unknown>>();
  private readonly cache = new Map<string, unknown>();
  private readonly cacheSize: number;

  constructor(store: KeyValueStore<unknown>, cacheSize: number) {
    this.name = store.name;
    this.store = store;
    this.cacheSize = cacheSize;
  }

  /** Synchronous lookup (no allocation on the hot path): the value, undefined if known absent, or NOT_CACHED. */
  peek(hex: string): unknown {
    const pending = this.overlay.get(hex);
    if (pending !== undefined) return pending.type === 'put' ? pending.value : undefined;
    const cached = this.cache.get(hex);
    if (cached === undefined) return NOT_CACHED;
    // Refresh recency: Map iteration order is insertion order, so re-inserting makes it the newest.
    this.cache.delete(hex);
    this.cache.set(hex, cached);
    return cached === ABSENT ? undefined : cached;
  }

  /** Remembers a value read from the store (undefined = known absent). */
  remember(hex: string, value: unknown): void {
    if (this.cacheSize <= 0) return;
    this.cache.delete(hex);
    this.cache.set(hex, value === undefined ? ABSENT : value);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }

  write(hex: string, write: KeyedWrite<unknown>): void {
    this.overlay.set(hex, write);
  }

  get pendingCount(): number {
    return this.overlay.size;
  }

  /** Hands out the pending batch (last write per key) and moves it into the cache as the new known state. */
  takePending(): KeyedWrite<unknown>[] {
    const pending = this.overlay;
    this.overlay = new Map();
    const writes: KeyedWrite<unknown>[] = [];
    for (const [hex, write] of pending) {
      writes.push(write);
      this.remember(hex, write.type === 'put' ? write.value : undefined);
    }
    return writes;
  }

  /** Puts a batch back in front of newer writes after a failed store write, so a retry writes it again. */
  restorePending(writes: readonly KeyedWrite<unknown>[]): void {
    const newer = this.overlay;
    this.overlay = new Map();
    for (const write of writes) {
      const hex = Buffer.from(write.key).toString('hex');
      this.overlay.set(hex, write);
      this.cache.delete(hex);
    }
    for (const [hex, write] of newer) this.overlay.set(hex, write);
  }
}
