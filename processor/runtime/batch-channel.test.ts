import { describe, expect, it } from 'vitest';
import { BatchChannel } from './batch-channel.js';
import { RestorationTracker } from './restoration-tracker.js';
import type { RestorationEvent } from './events.js';

describe('BatchChannel', () => {
  it('hands items over in order and resolves each push only when the consumer takes it', async () => {
    const channel = new BatchChannel<number>();
    const taken: number[] = [];
    let firstPushResolved = false;
    const first = channel.push(1).then(() => {
      firstPushResolved = true;
    });
    const second = channel.push(2);
    await Promise.resolve();
    expect(firstPushResolved).toBe(false);
    const iterator = channel[Symbol.asyncIterator]();
    taken.push((await iterator.next()).value as number);
    await first;
    expect(firstPushResolved).toBe(true);
    channel.end();
    taken.push((await iterator.next()).value as number);
    await second;
    expect(taken).toEqual([1, 2]);
    expect((await iterator.next()).done).toBe(true);
  });

  it('throws the failure after the queued items, and ignores pushes once the consumer stopped', async () => {
    const channel = new BatchChannel<number>();
    void channel.push(1);
    channel.fail(new Error('reader crashed'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of channel) seen.push(item);
      })(),
    ).rejects.toThrow('reader crashed');
    expect(seen).toEqual([1]);

    const stopped = new BatchChannel<number>();
    const iterator = stopped[Symbol.asyncIterator]();
    await iterator.return?.();
    await expect(stopped.push(5)).resolves.toBeUndefined();
  });
});

describe('RestorationTracker', () => {
  it('tracks progress per store partition and restored records per store, and marks skipped restorations', () => {
    const events: RestorationEvent[] = [];
    const tracker = new RestorationTracker((event) => events.push(event));
    tracker.begin('t', 0, 10, 110);
    tracker.advance('t', 0, 60, 70);
    tracker.begin('t', 1, 50, 50); // local checkpoint already at the target
    expect(tracker.isDone('t', 0)).toBe(false);
    tracker.advance('t', 0, 40, 110);
    tracker.finish('t', 0);
    expect(tracker.progress()).toMatchObject([
      { store: 't', partition: 0, restoredOffset: 110, endOffset: 110, done: true, startOffset: 10, restoredRecords: 100 },
      { store: 't', partition: 1, restoredOffset: 50, endOffset: 50, done: true, startOffset: 50, restoredRecords: 0 },
    ]);
    // When each began and finished, so clients can show a rate and the time left.
    for (const p of tracker.progress()) expect(p.finishedAt).toBeGreaterThanOrEqual(p.startedAt as number);
    expect(tracker.totalsByStore()).toEqual({ t: { restoredRecords: 100, restorations: 1, skipped: 1 } });
    expect(events.at(-1)).toMatchObject({ store: 't', partition: 0, restoredRecords: 100, done: true });
    tracker.remove('t', 1);
    expect(tracker.progress().map((p) => p.partition)).toEqual([0]);
  });
});
