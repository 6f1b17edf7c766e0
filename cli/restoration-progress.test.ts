import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RestorationEvent } from '../processor/runtime/events.js';
import { ProgressDisplay } from './progress.js';
import { RestorationProgress } from './restoration-progress.js';

function event(
  store: string,
  partition: number | 'global',
  restoredRecords: number,
  restoredOffset: number,
  endOffset: number,
  done = false,
  partitions = 1,
): RestorationEvent {
  return { store, partition, partitions, restoredRecords, restoredOffset, endOffset, done, phase: done ? 'caught-up' : 'restoring' };
}

describe('RestorationProgress', () => {
  it('sums partitions into one progress line per phase and ends the phase when all are done', () => {
    const lines: string[] = [];
    const display = new ProgressDisplay(new (class extends Writable {})(), {
      tty: false,
      plainIntervalMs: 0,
      writePlain: (l) => lines.push(l),
    });
    const progress = new RestorationProgress(display);

    // Partition 0 restores offsets 100..300 (checkpoint at 100), partition 1 offsets 0..100.
    progress.onEvent(event('customers', 0, 50, 150, 300));
    progress.onEvent(event('customers', 1, 20, 20, 100));
    progress.onEvent(event('customers', 0, 200, 300, 300, true));
    const withoutRate = (line: string) => line.replace(/ {2}[\d,]+\/s/, '');
    expect(lines.map(withoutRate)).toEqual([
      'Restoring state:  25% 50/200 offsets  50 records, customers',
      'Restoring state:  23% 70/300 offsets  70 records, customers',
      'Restoring state:  73% 220/300 offsets  220 records, customers',
    ]);
    progress.onEvent(event('customers', 1, 100, 100, 100, true));
    expect(lines[3]).toBe('Restoring state: 300 records into 2 partition(s) of customers');

    // A partition that is already up to date starts no phase; a new restoration starts the next one.
    progress.onEvent(event('other', 0, 0, 10, 10, true));
    expect(lines).toHaveLength(4);
    progress.onEvent(event('other', 1, 5, 5, 10));
    expect(lines[4]).toMatch(/^Restoring state: {2}50% 5\/10 offsets/);
  });

  it('counts every topic partition a global store covers', () => {
    const lines: string[] = [];
    const display = new ProgressDisplay(new (class extends Writable {})(), {
      tty: false,
      plainIntervalMs: 0,
      writePlain: (l) => lines.push(l),
    });
    const progress = new RestorationProgress(display);
    progress.onEvent(event('customers-global', 'global', 0, 0, 600, false, 6));
    progress.onEvent(event('customers-global', 'global', 600, 600, 600, true, 6));
    expect(lines.at(-1)).toBe('Restoring state: 600 records into 6 partition(s) of customers-global');
  });
});
