/**
 * Lazy k-way merge of key-ordered sources (one per partition or instance) into one page, with a binary heap of
 * source heads. Sources are pulled one entry at a time, so a page of `limit` reads about `limit + k` entries in
 * total instead of `limit` from every source.
 */

export interface KeyedEntry {
  readonly key: Buffer;
}

export interface MergeSource<E extends KeyedEntry> {
  /** Entries in scan order (ascending key bytes, or descending for a reverse scan). */
  readonly entries: AsyncIterable<E>;
  /** The source was cut short: more entries exist past its last one (e.g. a remote page with more). */
  readonly moreAfterEnd?: boolean;
}

export interface MergedPage<E extends KeyedEntry> {
  readonly entries: E[];
  /** More entries exist past the page's last entry in some source. Exact: no empty trailing page. */
  readonly more: boolean;
}

interface Head<E> {
  readonly source: number;
  readonly entry: E;
}

/** Async iterable over an array (for sources that arrive whole, such as a remote page). */
export async function* fromArray<E>(entries: readonly E[]): AsyncGenerator<E> {
  yield* entries;
}

/**
 * Takes the first `limit` entries across `sources` in scan order. A source whose own order is wrong produces a
 * wrongly ordered page; a source that ends early must say so with `moreAfterEnd`.
 * Every source iterator is closed (`return()`) before this resolves, so store iterators are released.
 */
export async function mergeSorted<E extends KeyedEntry>(
  sources: readonly MergeSource<E>[],
  limit: number,
  reverse: boolean,
): Promise<MergedPage<E>> {
  const sign = reverse ? -1 : 1;
  const iterators = sources.map((source) => source.entries[Symbol.asyncIterator]());
  const heap: Head<E>[] = [];
  const less = (a: Head<E>, b: Head<E>): boolean => {
    const c = sign * Buffer.compare(a.entry.key, b.entry.key);
    return c < 0 || (c === 0 && a.source < b.source);
  };
  const siftUp = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i], heap[parent])) return;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  const exhaustedWithMore: boolean[] = sources.map(() => false);
  const pull = async (source: number): Promise<Head<E> | undefined> => {
    const result = await iterators[source].next();
    if (result.done === true) {
      exhaustedWithMore[source] = sources[source].moreAfterEnd === true;
      return undefined;
    }
    return { source, entry: result.value };
  };

  try {
    // First entries of all sources in parallel (independent stores / partitions).
    for (const head of await Promise.all(iterators.map((_, source) => pull(source)))) {
      if (head !== undefined) {
        heap.push(head);
        siftUp(heap.length - 1);
      }
    }
    const entries: E[] = [];
    while (entries.length < limit && heap.length > 0) {
      const top = heap[0];
      entries.push(top.entry);
      // Pulled even after the page is full: that source's next head (if any) is how `more` is known.
      const next = await pull(top.source);
      if (next !== undefined) {
        heap[0] = next;
      } else {
        const last = heap.pop();
        if (heap.length > 0 && last !== undefined) heap[0] = last;
      }
      if (heap.length > 0) siftDown(0);
    }
    return { entries, more: heap.length > 0 || exhaustedWithMore.some(Boolean) };
  } finally {
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
