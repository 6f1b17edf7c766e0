/**
 * Turns a callback source (PartitionReader's `onBatch`) into the `AsyncIterable` restoreStore reads, with
 * backpressure: `push` resolves once the consumer has taken the item, so at most one batch waits while the
 * previous one is written. Stopping the iteration early (`return()`) makes later pushes resolve at once.
 */
export class BatchChannel<T> implements AsyncIterable<T> {
  private readonly queue: { item: T; taken: () => void }[] = [];
  private wakeConsumer: (() => void) | undefined;
  private ended = false;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(item: T): Promise<void> {
    if (this.closed || this.ended) return Promise.resolve();
    return new Promise<void>((taken) => {
      this.queue.push({ item, taken });
      this.wake();
    });
  }

  /** No more items: the iteration finishes after the queued ones. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The iteration throws `error` once the queued items are taken. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.ended = true;
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          const head = this.queue.shift();
          if (head !== undefined) {
            head.taken();
            return { value: head.item, done: false };
          }
          if (this.failure !== undefined) throw this.failure.error;
          if (this.ended || this.closed) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            this.wakeConsumer = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        this.closed = true;
        for (const pending of this.queue.splice(0)) pending.taken();
        return { value: undefined, done: true };
      },
    };
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }
}
