/**
 * kafkajs's request queue schedules its throttle check with `setTimeout(fn, throttledUntil - Date.now())` also when
 * nothing is throttled (`throttledUntil` is -1), i.e. with a delay of about minus the epoch time. Node 24 runs such
 * a timer after 1 ms, as kafkajs expects, but prints a `TimeoutNegativeWarning` for it in every process that talks
 * to a broker. This patch clamps the delay to the 1 ms Node uses anyway, so behaviour is unchanged and the warning
 * gone. kafkajs's class is shared by every connection, so patching its prototype works whenever this loads.
 * Imported (for its effect) through kafkajs-patches.ts.
 */
import { loadKafkajsModule } from './kafkajs-module.js';

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: readonly unknown[];
  checkPendingRequests(): void;
}

/** kafkajs's pause between checks of a queue with pending requests and no throttle (its CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** The delay kafkajs's `scheduleCheckPendingRequests` gives its timer, clamped to Node's 1 ms minimum. */
export function throttleCheckDelay(throttledUntil: number, now: number, pendingRequests: number): number {
  const untilThrottleEnds = throttledUntil - now;
  if (pendingRequests > 0 && untilThrottleEnds <= 0) return CHECK_PENDING_REQUESTS_INTERVAL_MS;
  return Math.max(1, untilThrottleEnds);
}

function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId) return;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttleCheckDelay(this.throttledUntil, Date.now(), this.pending.length),
  );
}

function install(): boolean {
  let RequestQueue: { prototype: { scheduleCheckPendingRequests: unknown } };
  try {
    RequestQueue = loadKafkajsModule('kafkajs/src/network/requestQueue/index.js');
  } catch {
    return false;
  }
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}

/** True when kafkajs's request queues schedule their throttle checks with the clamped delay. */
export const installed: boolean = install();
