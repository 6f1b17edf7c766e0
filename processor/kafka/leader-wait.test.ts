import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicLeadersNotAvailableError } from '../../errors.js';
import { LEADER_POLL_DELAYS_MS, waitForLeaders, type LeaderWaitClock } from './leader-wait.js';

/** A clock that only moves when the wait sleeps (plus `perCheckMs` per metadata check), recording each sleep. */
function fakeClock(perCheckMs = 0): LeaderWaitClock & { sleeps: number[]; advance(ms: number): void } {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms + perCheckMs;
    },
  };
}

describe('waitForLeaders', () => {
  it('checks at once and does not sleep when the leaders are there at the first check', async () => {
    const clock = fakeClock();
    let checks = 0;
    const result = await waitForLeaders(
      async () => {
        checks++;
        return [];
      },
      { clock },
    );
    expect(result).toEqual({ checks: 1, sleptMs: 0 });
    expect(checks).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('polls on its own schedule (5, 10, 20, 40, then 50 ms) until no topic is pending', async () => {
    const clock = fakeClock();
    let checks = 0;
    const result = await waitForLeaders(async () => (++checks < 8 ? ['dlq'] : []), { clock });
    expect(result.checks).toBe(8);
    expect(clock.sleeps).toEqual([5, 10, 20, 40, 50, 50, 50]);
    expect(result.sleptMs).toBe(225);
  });

  it('fails with TopicLeadersNotAvailableError naming the pending topics once the timeout passed', async () => {
    const clock = fakeClock();
    const failure = await waitForLeaders(async () => ['b-topic', 'a-topic'], { clock, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TopicLeadersNotAvailableError);
    expect(failure).toMatchObject({ code: 'TRIBUTARY_TOPIC_LEADERS_NOT_AVAILABLE', topics: ['a-topic', 'b-topic'], waitedMs: 300 });
    // Never sleeps past the deadline.
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('ends with the error a check throws', async () => {
    const boom = new Error('not authorized');
    await expect(waitForLeaders(async () => Promise.reject(boom), { clock: fakeClock() })).rejects.toBe(boom);
  });

  it('property: returns after exactly the checks needed, or fails at the deadline, sleeping at most 50 ms at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 30 }),
        async (readyAtCheck, timeoutMs, checkMs) => {
          const clock = fakeClock();
          let checks = 0;
          const pending = async (): Promise<string[]> => {
            checks++;
            clock.advance(checkMs);
            return checks < readyAtCheck ? ['t'] : [];
          };
          const outcome = await waitForLeaders(pending, { clock, timeoutMs }).catch((e: unknown) => e);
          const maxDelay = Math.max(...LEADER_POLL_DELAYS_MS);
          expect(clock.sleeps.every((ms) => ms > 0 && ms <= maxDelay)).toBe(true);
          if (outcome instanceof TopicLeadersNotAvailableError) {
            expect(checks).toBeLessThan(readyAtCheck);
            expect(outcome.waitedMs).toBeGreaterThanOrEqual(timeoutMs);
            // The last sleep ended at or before the deadline; the check after it found the topic still pending.
            expect(clock.sleeps.reduce((a, b) => a + b, 0) + (checks - 1) * checkMs).toBeLessThanOrEqual(timeoutMs);
          } else {
            expect(outcome).toEqual({ checks: readyAtCheck, sleptMs: clock.sleeps.reduce((a, b) => a + b, 0) });
            expect(checks).toBe(readyAtCheck);
          }
        },
      ),
    );
  });
});
