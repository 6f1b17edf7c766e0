import { describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import { createChangelogDecoder } from '../engine/changelog.js';
import { RestorationPlan } from './restoration-plan.js';
import { RestorationTracker } from './restoration-tracker.js';

const builder = new StreamsBuilder();
const customers = builder.table('customers', { key: Serdes.string(), value: Serdes.json<{ name: string }>(), store: 'customers' });
builder
  .stream('orders', { key: Serdes.string(), value: Serdes.string() })
  .join(customers, (order, customer) => `${order}@${customer.name}`)
  .to('out', { value: Serdes.string() });
const topology = builder.build({ applicationId: 'plan' });
const TP = topicPartitionId('customers', 3);

interface Setup {
  readonly checkpoint?: number;
  readonly committed?: number;
  readonly start?: number;
  readonly end: number;
  readonly readinessLag?: number;
}

async function plan({ checkpoint, committed, start = 0, end, readinessLag }: Setup) {
  const store = new MemoryKeyValueStore<unknown>('customers', 3);
  if (checkpoint !== undefined) await store.write([], new Map([[TP, checkpoint]]));
  const deadLetterFlags: boolean[] = [];
  const tracker = new RestorationTracker(() => {});
  const restoration = new RestorationPlan({
    partition: 3,
    tableSources: topology.subtopologies[0].tableSources,
    stores: new Map([['customers', store]]),
    committed: committed === undefined ? new Map() : new Map([[TP, committed]]),
    logs: new Map([[TP, { start, end }]]),
    tracker,
    readinessLag,
    decoder: (source, deadLetterBadRecords) => {
      deadLetterFlags.push(deadLetterBadRecords);
      return createTableRecordDecoder(source, { applicationId: 'plan' });
    },
  });
  /** What the task's commit would do: write the store's checkpoint. */
  const commitAt = (offset: number) => store.write([], new Map([[TP, offset]]));
  return { restoration, store, tracker, deadLetterFlags, commitAt };
}

describe('RestorationPlan', () => {
  it('restores from the checkpoint to the committed offset, then catches up through the task to the end offset', async () => {
    const { restoration, tracker, commitAt } = await plan({ checkpoint: 1, committed: 3, end: 5 });
    expect(restoration.starts).toEqual([{ tp: TP, topic: 'customers', partition: 3, offset: 3, end: 5 }]);
    expect(restoration.restoring).toBe(true);
    const [target] = restoration.targets();
    expect(target.label).toBe('customers[3]');
    expect(target.partitions).toEqual(new Map([[TP, { from: 1, to: 3 }]]));
    expect(restoration.owns(target)).toBe(true);
    expect(restoration.unavailableReason('customers')).toBe('store customers partition 3 is restoring');
    expect(restoration.floors().size).toBe(0);

    await commitAt(3); // what the ChangelogReader leaves behind
    restoration.restored(target, 2);
    expect(restoration.restoring).toBe(false);
    expect(restoration.targets()).toEqual([]);
    expect(restoration.unavailableReason('customers')).toBe('store customers partition 3 is catching up (offset 3 of 5)');
    expect(tracker.progress()).toMatchObject([
      { store: 'customers', partition: 3, restoredOffset: 3, endOffset: 5, done: false, phase: 'catching-up' },
    ]);
    expect(restoration.floors()).toEqual(new Map([[TP, 3]]));

    // The task processed offset 3 (not committed yet), then everything: a commit now makes it caught up.
    expect(restoration.commitWouldCatchUp(() => 4)).toBe(false);
    expect(restoration.commitWouldCatchUp(() => 5)).toBe(true);
    await commitAt(4);
    restoration.checkCaughtUp();
    expect(restoration.unavailableReason('customers')).toContain('offset 4 of 5');
    await commitAt(5);
    restoration.checkCaughtUp();
    expect(restoration.unavailableReason('customers')).toBeUndefined();
    expect(tracker.progress()).toMatchObject([
      { store: 'customers', partition: 3, restoredOffset: 5, endOffset: 5, done: true, phase: 'caught-up' },
    ]);
    expect(tracker.totalsByStore().customers).toEqual({ restoredRecords: 2, restorations: 1, skipped: 0 });
  });

  it('restores a partition never committed up to its end, dead-lettering bad records, and is caught up after it', async () => {
    const { restoration, tracker, deadLetterFlags, commitAt } = await plan({ end: 2 });
    expect(deadLetterFlags).toEqual([true]);
    const [target] = restoration.targets();
    expect(target.partitions.get(TP)).toEqual({ from: 0, to: 2 });
    expect(restoration.starts[0].offset).toBe(2); // the task reads from where restoration ends
    await commitAt(2);
    restoration.restored(target, 2);
    expect(restoration.unavailableReason('customers')).toBeUndefined();
    expect(tracker.isDone('customers', 3)).toBe(true);
  });

  it('does not dead-letter again below a committed offset', async () => {
    const { deadLetterFlags } = await plan({ committed: 2, end: 2 });
    expect(deadLetterFlags).toEqual([false]);
  });

  it('starts at the log start when the store has no checkpoint (an emptied or retained log)', async () => {
    const emptied = await plan({ start: 40, end: 40 });
    expect(emptied.restoration.restoring).toBe(false);
    expect(emptied.restoration.starts[0].offset).toBe(40);
    expect(emptied.restoration.unavailableReason('customers')).toBeUndefined();

    const retained = await plan({ start: 40, end: 50 });
    expect(retained.restoration.targets()[0].partitions.get(TP)).toEqual({ from: 40, to: 50 });
  });

  it('treats a committed offset past the end as never committed (a recreated topic)', async () => {
    const { restoration, deadLetterFlags } = await plan({ committed: 90, end: 7 });
    expect(restoration.targets()[0].partitions.get(TP)).toEqual({ from: 0, to: 7 });
    expect(deadLetterFlags).toEqual([true]);
  });

  it('has nothing to do when the store is at the end; a store ahead of the committed offset takes over from its checkpoint', async () => {
    const atEnd = await plan({ checkpoint: 6, committed: 4, end: 6 });
    expect(atEnd.restoration.restoring).toBe(false);
    expect(atEnd.restoration.isTablePartition(TP)).toBe(true);
    expect(atEnd.restoration.isTablePartition(topicPartitionId('orders', 3))).toBe(false);
    expect(atEnd.restoration.starts[0].offset).toBe(6);
    expect(atEnd.restoration.floors()).toEqual(new Map([[TP, 6]]));
    expect(atEnd.tracker.totalsByStore().customers).toEqual({ restoredRecords: 0, restorations: 0, skipped: 1 });

    const behind = await plan({ checkpoint: 4, committed: 4, end: 9 });
    expect(behind.restoration.restoring).toBe(false);
    expect(behind.restoration.unavailableReason('customers')).toContain('catching up (offset 4 of 9)');
  });

  it('counts a partition within the readiness lag as caught up', async () => {
    const { restoration, commitAt } = await plan({ checkpoint: 4, committed: 4, end: 9, readinessLag: 3 });
    expect(restoration.unavailableReason('customers')).toContain('catching up');
    await commitAt(6);
    restoration.checkCaughtUp();
    expect(restoration.unavailableReason('customers')).toBeUndefined();
  });

  it('restores a derived store from its checkpoint to the changelog end; caught up then, and never an input to commit', async () => {
    const b = new StreamsBuilder();
    b.stream('orders', { key: Serdes.string(), value: Serdes.string() }).groupByKey().count({ store: 'counts' });
    const counts = b.build({ applicationId: 'plan' });
    const spec = counts.stores.find((s) => s.name === 'counts');
    const changelog = topicPartitionId('plan-counts-changelog', 3);
    const store = new MemoryKeyValueStore<unknown>('counts', 3);
    await store.write([], new Map([[changelog, 4]]));
    const tracker = new RestorationTracker(() => {});
    const restoration = new RestorationPlan({
      partition: 3,
      tableSources: [],
      stores: new Map([['counts', store]]),
      committed: new Map([[changelog, 1]]), // ignored: a changelog's records are never re-processed
      logs: new Map([[changelog, { start: 0, end: 10 }]]),
      tracker,
      decoder: () => {
        throw new Error('no table sources');
      },
      derivedStores: spec === undefined ? [] : [spec],
      changelogRestore: (derived) => ({ decoder: createChangelogDecoder(derived), decodeTombstones: true }),
    });
    expect(restoration.restoring).toBe(true);
    expect(restoration.starts).toEqual([]);
    expect(restoration.isTablePartition(changelog)).toBe(false);
    const [target] = restoration.targets();
    expect(target).toMatchObject({ label: 'counts[3]', decodeTombstones: true });
    expect(target.partitions).toEqual(new Map([[changelog, { from: 4, to: 10 }]]));
    expect(restoration.unavailableReason('counts')).toBe('store counts partition 3 is restoring');

    await store.write([], new Map([[changelog, 10]]));
    restoration.restored(target, 6);
    expect(restoration.restoring).toBe(false);
    expect(restoration.unavailableReason('counts')).toBeUndefined();
    expect(tracker.progress()).toMatchObject([{ store: 'counts', partition: 3, restoredOffset: 10, endOffset: 10, phase: 'caught-up' }]);
    expect(restoration.floors()).toEqual(new Map());
    expect(restoration.commitWouldCatchUp(() => 10)).toBe(false);
  });
});
