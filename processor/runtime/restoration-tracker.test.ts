import { describe, expect, it } from 'vitest';
import type { RestorationEvent } from './events.js';
import { RestorationTracker } from './restoration-tracker.js';

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
      { store: 't', partition: 0, restoredOffset: 110, endOffset: 110, done: true, phase: 'caught-up' },
      { store: 't', partition: 1, restoredOffset: 50, endOffset: 50, done: true, phase: 'caught-up' },
    ]);
    expect(tracker.totalsByStore()).toEqual({ t: { restoredRecords: 100, restorations: 1, skipped: 1 } });
    expect(events.at(-1)).toMatchObject({ store: 't', partition: 0, partitions: 1, restoredRecords: 100, done: true });
    tracker.remove('t', 1);
    expect(tracker.progress().map((p) => p.partition)).toEqual([0]);
  });

  it('is done only once every entry is caught up: restoring, then catching up, then caught up', () => {
    const events: RestorationEvent[] = [];
    const tracker = new RestorationTracker((event) => events.push(event));
    tracker.begin('g', 'global', 0, 600, { partitions: 6 });
    tracker.begin('t', 3, 10, 40);
    tracker.begin('u', 3, 10, 40, { phase: 'catching-up' });
    expect(tracker.allDone()).toBe(false);
    tracker.finish('g', 'global');
    tracker.advance('t', 3, 20, 30);
    tracker.catchingUp('t', 3);
    tracker.advance('t', 3, 0, 35); // the task processed up to 35 (not restored records)
    expect(tracker.progress().find((p) => p.store === 't')).toMatchObject({
      store: 't',
      partition: 3,
      restoredOffset: 35,
      endOffset: 40,
      done: false,
      phase: 'catching-up',
    });
    tracker.finish('t', 3);
    expect(tracker.allDone()).toBe(false);
    tracker.finish('u', 3);
    expect(tracker.allDone()).toBe(true);
    expect(events.map((e) => `${e.store}:${e.phase}`)).toEqual([
      'g:restoring',
      't:restoring',
      'u:catching-up',
      'g:caught-up',
      't:restoring',
      't:catching-up',
      't:catching-up',
      't:caught-up',
      'u:caught-up',
    ]);
    expect(events[0].partitions).toBe(6);
    expect(tracker.totalsByStore()).toEqual({
      g: { restoredRecords: 0, restorations: 1, skipped: 0 },
      t: { restoredRecords: 20, restorations: 1, skipped: 0 },
      u: { restoredRecords: 0, restorations: 1, skipped: 0 },
    });
  });
});
