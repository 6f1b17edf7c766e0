import { describe, expect, it } from 'vitest';
import { RestoreDecodeError } from '../../errors.js';
import { topicPartitionId } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { ChangelogReader, type ChangelogTarget } from './changelog-reader.js';

const builder = new StreamsBuilder();
builder.table('customers', { key: Serdes.string(), value: Serdes.string(), store: 'customers', errorPolicy: { deserialization: 'fail' } });
const spec = builder.build({ applicationId: 'changelog' }).subtopologies[0].tableSources[0];
const tp = (partition: number) => topicPartitionId('customers', partition);
const decoder = createTableRecordDecoder(spec, { applicationId: 'changelog' });

function target(partition: number, from: number, to: number): ChangelogTarget {
  return {
    label: `customers[${partition}]`,
    store: new MemoryKeyValueStore<unknown>('customers', partition),
    partitions: new Map([[tp(partition), { from, to }]]),
    decoder,
  };
}

describe('ChangelogReader', () => {
  it('restores each target to its target offset with one reader, checkpointing positions past markers and gaps', async () => {
    const cluster = new FakeCluster().createTopic('customers', 3);
    cluster.append('customers', 0, [
      { key: 'a', value: 'A1' },
      { key: 'b', value: 'B1' },
      { key: 'a', value: 'A2' },
    ]);
    cluster.compact('customers', 0, [0]);
    cluster.appendMarkers('customers', 0, 2); // ends in markers: the end is 5, nothing to deliver at 3 or 4
    cluster.append('customers', 1, [
      { key: 'c', value: 'C1' },
      { key: 'd', value: 'D1' },
    ]);
    const first = target(0, 0, 5);
    const second = target(1, 0, 1); // only up to offset 1 (a committed offset): d is the task's
    const idle = target(2, 0, 0);
    const restored: string[] = [];
    const results = await new ChangelogReader({
      targets: [first, second, idle],
      readers: (options) => cluster.reader(options),
      groupIdPrefix: 'test',
      onRestored: (t) => restored.push(t.label),
    }).run();

    expect(cluster.reads).toHaveLength(1);
    expect(cluster.reads[0].partitions).toEqual([
      { topic: 'customers', partition: 0, offset: 0 },
      { topic: 'customers', partition: 1, offset: 0 },
    ]);
    expect(await first.store.get(Buffer.from('a'))).toBe('A2');
    expect(first.store.checkpoints().get(tp(0))).toBe(5);
    expect(await second.store.get(Buffer.from('c'))).toBe('C1');
    expect(await second.store.get(Buffer.from('d'))).toBeUndefined();
    expect(second.store.checkpoints().get(tp(1))).toBe(1);
    expect(restored.sort()).toEqual(['customers[0]', 'customers[1]']);
    expect(results.get(first)).toMatchObject({ restored: 2, caughtUp: true });
    expect(results.has(idle)).toBe(false);
  });

  it('starts no reader when nothing is to be read', async () => {
    const cluster = new FakeCluster().createTopic('customers', 1);
    expect(
      (await new ChangelogReader({ targets: [target(0, 4, 4)], readers: (o) => cluster.reader(o), groupIdPrefix: 't' }).run()).size,
    ).toBe(0);
    expect(cluster.reads).toEqual([]);
    expect(ChangelogReader.hasWork([{ from: 4, to: 4 }])).toBe(false);
    expect(ChangelogReader.hasWork([{ from: 3, to: 4 }])).toBe(true);
  });

  it('fails with the decoder policy, stopping the other targets, and settles every write first', async () => {
    const cluster = new FakeCluster().createTopic('customers', 2);
    cluster.append('customers', 0, [{ key: null, value: 'no key' }]);
    cluster.append('customers', 1, [{ key: 'x', value: 'X' }]);
    const reader = new ChangelogReader({
      targets: [target(0, 0, 1), target(1, 0, 1)],
      readers: (o) => cluster.reader(o),
      groupIdPrefix: 't',
    });
    await expect(reader.run()).rejects.toBeInstanceOf(RestoreDecodeError);
    await reader.stop();
  });

  it('stops on request: run() resolves with the targets not caught up', async () => {
    const cluster = new FakeCluster().createTopic('customers', 1);
    cluster.append(
      'customers',
      0,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
    );
    const stuck = target(0, 0, 50);
    const reader = new ChangelogReader({ targets: [stuck], readers: (o) => cluster.reader(o), groupIdPrefix: 't' });
    const running = reader.run();
    await reader.stop();
    const results = await running;
    expect(results.get(stuck)?.caughtUp ?? false).toBe(false);
  });
});
