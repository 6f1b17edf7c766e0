import { describe, expect, it } from 'vitest';
import { PartitionReaderError } from '../../errors.js';
import { hasRetriableCause, READ_ATTEMPTS, retryReads } from './read-retry.js';

/** What kafkajs throws: Errors with a `retriable` flag. */
function kafkaError(retriable: boolean): Error {
  return Object.assign(new Error('The coordinator is loading'), { retriable });
}

describe('read retries', () => {
  it('finds a retriable error anywhere in the cause chain', () => {
    expect(hasRetriableCause(new PartitionReaderError('the consumer crashed', { cause: kafkaError(true) }))).toBe(true);
    expect(hasRetriableCause(new PartitionReaderError('the consumer crashed', { cause: kafkaError(false) }))).toBe(false);
    expect(hasRetriableCause(new Error('plain'))).toBe(false);
    expect(hasRetriableCause('not an error')).toBe(false);
  });

  it('retries only what shouldRetry accepts, at most READ_ATTEMPTS times', async () => {
    let calls = 0;
    await expect(retryReads(async () => (++calls < 3 ? Promise.reject(kafkaError(true)) : 'done'), hasRetriableCause, 1)).resolves.toBe(
      'done',
    );
    expect(calls).toBe(3);

    calls = 0;
    const fatal = kafkaError(false);
    await expect(retryReads(async () => Promise.reject(fatal).finally(() => calls++), hasRetriableCause, 1)).rejects.toBe(fatal);
    expect(calls).toBe(1);

    calls = 0;
    await expect(retryReads(async () => Promise.reject(kafkaError(true)).finally(() => calls++), hasRetriableCause, 1)).rejects.toThrow(
      'coordinator',
    );
    expect(calls).toBe(READ_ATTEMPTS);
  });
});
