import { describe, expect, it } from 'vitest';
import { AppFailedError, AppNotRunningError, DeadLetterReplayError, OffsetCommitError, ProcessingError, TributaryError } from './errors.js';

describe('how errors quote their cause', () => {
  const at = { topic: 'orders', partition: 1, offset: 7 };

  it("an Error cause by its message, or with its class name where the cause's kind matters", () => {
    expect(new ProcessingError('KSTREAM-MAP-0000000001', at, { cause: new RangeError('bad total') }).message).toContain(
      'orders:1@7: bad total. Fix the function',
    );
    expect(new AppFailedError({ cause: new RangeError('bad total') }).message).toContain('restart): RangeError: bad total. Fix');
  });

  it('anything else thrown by String(), or not at all where only an Error adds information', () => {
    expect(new OffsetCommitError('shop', { cause: 'socket closed' }).message).toContain('failed: socket closed. Nothing was lost');
    expect(new AppNotRunningError('failed', { cause: 'socket closed' }).message).toBe(
      "TributaryApp ended up failed instead of running. Check the 'error' events and the log, fix the cause and start a new app.",
    );
    expect(new AppNotRunningError('failed', { cause: new Error('no brokers') }).message).toContain('instead of running: no brokers.');
    expect(new DeadLetterReplayError('reading the DLQ', { cause: new Error('timeout') }).message).toContain(
      'failed: reading the DLQ: timeout. Run the replay again',
    );
  });

  it('keeps the cause itself for the stack trace', () => {
    const cause = new Error('timeout');
    const error = new DeadLetterReplayError('reading the DLQ', { cause });
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error.name).toBe('DeadLetterReplayError');
  });
});
