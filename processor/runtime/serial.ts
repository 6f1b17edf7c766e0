/**
 * Runs async jobs one at a time, in call order. The runtime's batch handling, assignment changes, timed commits and
 * shutdown all touch the same tasks; this keeps a commit from interleaving with a half-processed cycle.
 */
export class SerialExecutor {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
