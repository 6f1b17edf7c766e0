/**
 * Waiting for the partition leaders of topics just created, on our own schedule.
 *
 * kafkajs's `createTopics({ waitForLeaders: true })` sleeps 100 ms before its first metadata request (and between
 * the next ones), so every start that creates a topic (a cold start: the dead-letter topic at least) lost ~100 ms on
 * a broker that elects the leaders within a few milliseconds. Here the first check goes out at once, the next ones
 * after short, growing pauses, until a deadline: then TopicLeadersNotAvailableError tells the user what to check.
 */
import { TopicLeadersNotAvailableError } from '../../errors.js';

/** Pauses between two checks: short first (a single broker elects at once), then every 50 ms. */
export const LEADER_POLL_DELAYS_MS: readonly number[] = [5, 10, 20, 40, 50];
/** How long the start waits for the leaders before failing. */
export const LEADER_WAIT_TIMEOUT_MS = 10_000;

export interface LeaderWaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: LeaderWaitClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface LeaderWaitResult {
  /** Metadata checks made (1 when the leaders were there at the first). */
  readonly checks: number;
  /** Sum of the pauses taken between checks. */
  readonly sleptMs: number;
}

/**
 * Calls `pending` (one metadata check: the topics whose partitions do not all have a leader yet) until it returns
 * none. Throws TopicLeadersNotAvailableError naming the topics still pending once `timeoutMs` have passed; an error
 * thrown by `pending` ends the wait with that error.
 */
export async function waitForLeaders(
  pending: () => Promise<readonly string[]>,
  options: { readonly timeoutMs?: number; readonly clock?: LeaderWaitClock } = {},
): Promise<LeaderWaitResult> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? LEADER_WAIT_TIMEOUT_MS;
  const started = clock.now();
  let sleptMs = 0;
  for (let checks = 1; ; checks++) {
    const waiting = await pending();
    if (waiting.length === 0) return { checks, sleptMs };
    const elapsed = clock.now() - started;
    if (elapsed >= timeoutMs) throw new TopicLeadersNotAvailableError([...waiting].sort(), Math.round(elapsed));
    const delay = Math.min(LEADER_POLL_DELAYS_MS[Math.min(checks - 1, LEADER_POLL_DELAYS_MS.length - 1)], timeoutMs - elapsed);
    await clock.sleep(delay);
    sleptMs += delay;
  }
}
