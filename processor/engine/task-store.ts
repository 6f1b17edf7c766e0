/**
 * A task's view of one of its stores: pending writes (read-your-writes overlay, flushed at commit) in front of a
 * bounded cache of recently used decoded values, in front of the store itself. Only the task writes its stores, so
 * cached values (including "known absent") stay true until the task itself changes them.
 *
 * The cache keeps two generations of at most half the size each: new and used entries go to the young one; when it
 * is full it becomes the old one and the previous old one is dropped. An approximate LRU in O(1) per operation: a
 * `Map` used as an LRU (delete the first key on overflow) makes V8 skip the deleted slots at the front on every
 * eviction, which turned commits of many new keys quadratic.
 */
import type { KeyedWrite, KeyValueStore } from '../../state-store/types.js';

/** `peek` result meaning "not known here: read the store". Anything else is the value (undefined = absent). */
export const NOT_CACHED: unique symbol = Symbol('not-cached');
const ABSENT = Symbol('absent');

export class TaskStoreView {
  readonly name: string;
  readonly store: KeyValueStore<unknown>;
  private overlay = new Map<string, KeyedWrite<unknown>>();
  private young = new Map<string, unknown>();
  private old = new Map<string, unknown>();
  /** Entries per generation: the two together hold at most the cache size. */
  private readonly generationSize: number;

  constructor(store: KeyValueStore<unknown>, cacheSize: number) {
    this.name = store.name;
    this.store = store;
    this.generationSize = cacheSize <= 0 ? 0 : Math.max(1, Math.floor(cacheSize / 2));
  }

  /** Synchronous lookup (no allocation on the hot path): the value, undefined if known absent, or NOT_CACHED. */
  peek(hex: string): unknown {
    const pending = this.overlay.get(hex);
    if (pending !== undefined) return pending.type === 'put' ? pending.value : undefined;
    let cached = this.young.get(hex);
    if (cached === undefined) {
      cached = this.old.get(hex);
      if (cached === undefined) return NOT_CACHED;
      this.keep(hex, cached); // used again: into the young generation
    }
    return cached === ABSENT ? undefined : cached;
  }

  /** Remembers a value read from the store (undefined = known absent). */
  remember(hex: string, value: unknown): void {
    this.keep(hex, value === undefined ? ABSENT : value);
  }

  private keep(hex: string, value: unknown): void {
    if (this.generationSize <= 0) return;
    this.young.set(hex, value);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
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
      this.young.delete(hex);
      this.old.delete(hex);
    }
    for (const [hex, write] of newer) this.overlay.set(hex, write);
  }
}
