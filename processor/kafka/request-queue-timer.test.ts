import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import './kafkajs-patches.js';
import { loadKafkajsModule } from './kafkajs-module.js';
import { throttleCheckDelay } from './request-queue-timer.js';

interface RequestQueueInstance {
  throttledUntil: number;
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
}
type RequestQueueClass = new (options: Record<string, unknown>) => RequestQueueInstance;

/** kafkajs's own delay, then Node's rule for timers (anything below 1 ms, negative included, runs after 1 ms). */
function kafkajsDelayAsNodeRunsIt(throttledUntil: number, now: number, pendingRequests: number): number {
  let scheduleAt = throttledUntil - now;
  if (pendingRequests > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : 10;
  return scheduleAt >= 1 ? scheduleAt : 1;
}

describe('request queue throttle-check timer', () => {
  it('waits as long as kafkajs did under Node, never a negative delay', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 42 })),
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.nat(5),
        (throttledUntil, now, pending) => {
          const delay = throttleCheckDelay(throttledUntil, now, pending);
          expect(delay).toBe(kafkajsDelayAsNodeRunsIt(throttledUntil, now, pending));
          expect(delay).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });

  it("kafkajs's request queue checks its pending requests without a TimeoutNegativeWarning", async () => {
    const RequestQueue = loadKafkajsModule<RequestQueueClass>('kafkajs/src/network/requestQueue/index.js');
    const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 't', broker: 'b', logger: silent });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    let checks = 0;
    queue.checkPendingRequests = () => void checks++;
    try {
      queue.scheduleCheckPendingRequests(); // not throttled (throttledUntil -1), nothing pending
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(checks).toBe(1);
      expect(warnings).not.toContain('TimeoutNegativeWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
