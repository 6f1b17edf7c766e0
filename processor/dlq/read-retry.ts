/**
 * Retrying reads that resume from saved positions (the DLQ and progress-topic readers of a replay). The
 * PartitionReader gives up on transient conditions that outlast its recovery time (a broker still starting), and
 * does not restart by design; a replay can simply start the read again.
 */
/** Attempts in all, and the backoff unit (attempt n waits n units). */
export const READ_ATTEMPTS = 4;
const READ_RETRY_BACKOFF_MS = 500;

/**
 * Runs `read` again (after a short backoff, up to READ_ATTEMPTS in all) when it fails for a reason `shouldRetry`
 * accepts. Used for reads that resume from saved positions, so a retry never repeats acknowledged work; it covers
 * e.g. the group coordinator still loading on a fresh broker, which fails the reader.
 */
export async function retryReads<T>(
  read: () => Promise<T>,
  shouldRetry: (error: unknown) => boolean,
  backoffMs = READ_RETRY_BACKOFF_MS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= READ_ATTEMPTS || !shouldRetry(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
  }
}

/** True when some error in the `cause` chain is one Kafka calls retriable (kafkajs sets `retriable`). */
export function hasRetriableCause(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth++) {
    if ((current as Error & { retriable?: unknown }).retriable === true) return true;
  }
  return false;
}
