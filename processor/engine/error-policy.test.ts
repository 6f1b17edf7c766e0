import { describe, expect, it } from 'vitest';
import { resolveErrorPolicy } from './error-policy.js';
import { errorMessageOf, MAX_DEAD_LETTER_MESSAGE_CHARS } from '../../common/dead-letters.js';

describe('error policy', () => {
  it('defaults: dead-letter for deserialization and processing, fail for production, <appId>-dlq', () => {
    expect(resolveErrorPolicy('shop', undefined)).toEqual({
      deserialization: 'dead-letter',
      processing: 'dead-letter',
      production: 'fail',
      deadLetterTopic: 'shop-dlq',
    });
    expect(resolveErrorPolicy('shop', { processing: 'fail' }, { processing: 'log-and-skip' }).processing).toBe('log-and-skip');
  });

  it('caps the error message a dead letter carries, so the DLQ headroom always holds', () => {
    expect(errorMessageOf(new Error('short'))).toBe('short');
    const long = errorMessageOf(new Error('x'.repeat(100_000)));
    expect(long.length).toBeLessThanOrEqual(MAX_DEAD_LETTER_MESSAGE_CHARS + 20);
    expect(long.endsWith('(truncated)')).toBe(true);
  });
});
