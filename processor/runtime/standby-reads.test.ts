/**
 * Which standby copies may answer stale reads after a topic grew: a copy follows only its task's own partition, so a
 * task that gets keys from earlier partitions must not be answered from it until it regrouped (a moved key would
 * look absent, a wrong answer rather than a 503).
 */
import { describe, expect, it } from 'vitest';
import { taskId } from '../../common/task-id.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { holdsAllItsKeys } from './active-task.js';
import { regroupMarker } from './key-regrouping.js';

const str = Serdes.string();

function topology() {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  b.stream('orders', { key: str, value: str })
    .join(customers, (o, c) => `${o}@${c}`)
    .to('enriched');
  return b.build({ applicationId: 'standby-reads' });
}

describe('holdsAllItsKeys', () => {
  const t = topology();
  const context = (counts: number, history?: number[]) => ({
    topology: t,
    partitions: new Map([
      ['customers', counts],
      ['orders', counts],
    ]),
    partitionHistory: history === undefined ? undefined : new Map([['customers', history]]),
  });

  it('is true for a topic that never grew', () => {
    expect(holdsAllItsKeys(taskId(0, 3), 'customers', new Map(), context(6))).toBe(true);
    expect(holdsAllItsKeys(taskId(0, 3), 'customers', new Map(), context(6, [6]))).toBe(true);
  });

  it('is false for a task of a new partition until its copy regrouped, true once the marker is there', () => {
    const grown = context(12, [6, 12]);
    expect(holdsAllItsKeys(taskId(0, 8), 'customers', new Map([['customers:8', 40]]), grown)).toBe(false);
    expect(holdsAllItsKeys(taskId(0, 8), 'customers', new Map([[regroupMarker('customers', 12), 0]]), grown)).toBe(true);
    // A marker of an earlier growth does not count.
    expect(holdsAllItsKeys(taskId(0, 8), 'customers', new Map([[regroupMarker('customers', 6), 0]]), context(12, [3, 6, 12]))).toBe(false);
  });

  it('is true for an old task after a growth by a multiple (its keys never came from another partition)', () => {
    expect(holdsAllItsKeys(taskId(0, 2), 'customers', new Map(), context(12, [6, 12]))).toBe(true);
  });

  it('is false for an old task after a growth by a non-multiple (its keys may come from any earlier partition)', () => {
    expect(holdsAllItsKeys(taskId(0, 2), 'customers', new Map(), context(9, [6, 9]))).toBe(false);
  });

  it('is true for a store it does not know (nothing to regroup)', () => {
    expect(holdsAllItsKeys(taskId(0, 8), 'other', new Map(), context(12, [6, 12]))).toBe(true);
  });
});
