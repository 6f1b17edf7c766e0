/**
 * Reuses classic-level's native write batches. A chained batch (`db.batch()`) owns a native LevelDB WriteBatch
 * (a buffer as big as everything put into it: ~250 KiB for a restore batch of 2,000 records) that classic-level 3.0
 * frees only when V8 collects the batch object (its `_close` does nothing), and V8 does not count that memory: where
 * nothing else makes V8 run a full GC, written batches pile up in glibc's heap (a 500,000-customer bootstrap whose
 * fetch responses are freed as they are written: +40-60 MiB at its peak). Here a written batch's native WriteBatch is
 * cleared (LevelDB keeps its buffer) and put under the next batch of the same database, so a store that writes one
 * batch while it fills the next holds two.
 *
 * Relies on classic-level's batch internals (its `context` symbol, `_clear`); where they are not there, batches are
 * not reused (what classic-level does itself).
 */
import type { ChainedBatch } from 'classic-level';

/** Native batches kept per database: the one being filled and the one being written, and one to spare. */
const SPARES = 2;

type AnyBatch = ChainedBatch<never, never, never> | ChainedBatch<unknown, unknown, unknown>;

interface BatchInternals {
  _clear(): void;
}

export class NativeBatches {
  readonly #spares: unknown[] = [];
  #context: symbol | undefined | null = null;

  /** `batch` (just made by `db.batch()`, nothing put yet) on a written native batch of the same database, if one is spare. */
  reuse<B extends AnyBatch>(batch: B): B {
    const spare = this.#spares.pop();
    const context = this.#contextOf(batch);
    if (spare !== undefined && context !== undefined) (batch as unknown as Record<symbol, unknown>)[context] = spare;
    return batch;
  }

  /** `batch` was written (its write resolved): its native batch, cleared, serves a later one. */
  written(batch: AnyBatch): void {
    const context = this.#contextOf(batch);
    if (context === undefined || this.#spares.length >= SPARES) return;
    (batch as unknown as BatchInternals)._clear();
    this.#spares.push((batch as unknown as Record<symbol, unknown>)[context]);
  }

  /** The database is closing: its native batches are left to the GC. */
  clear(): void {
    this.#spares.length = 0;
  }

  #contextOf(batch: AnyBatch): symbol | undefined {
    if (this.#context === null) {
      const context = Object.getOwnPropertySymbols(batch).find((s) => s.description === 'context');
      const clear = (batch as unknown as Partial<BatchInternals>)._clear;
      this.#context = context !== undefined && typeof clear === 'function' ? context : undefined;
    }
    return this.#context;
  }
}

/** A chained batch's own put and delete of encoded (here: Buffer) keys and values, under abstract-level's. */
export interface DirectOperations {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

interface NativeOperations {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
}

/**
 * Puts and deletes that go straight to classic-level's native batch (its `_put` / `_del`), skipping abstract-level's
 * work per operation: argument checks, encoder lookups (the store's encodings are `buffer`, which encode nothing) and
 * an operation object per call, about a hundred bytes of garbage per record of a bootstrap. abstract-level writes a
 * batch only if its public `put`/`del` counted an operation, so the first one of a batch takes that way. Only for a
 * database without prewrite hooks, sublevels or `write` listeners (which those would skip); undefined where the
 * batch has no such methods.
 */
export function directOperations(batch: AnyBatch): DirectOperations | undefined {
  const native = batch as unknown as Partial<NativeOperations>;
  const { _put, _del } = native;
  if (typeof _put !== 'function' || typeof _del !== 'function') return undefined;
  const counted = batch as unknown as { readonly length: number; put(key: Buffer, value: Buffer): void; del(key: Buffer): void };
  return {
    put: (key, value) => {
      if (counted.length === 0) counted.put(key, value);
      else _put.call(batch, key, value);
    },
    del: (key) => {
      if (counted.length === 0) counted.del(key);
      else _del.call(batch, key);
    },
  };
}
