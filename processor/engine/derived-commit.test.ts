/**
 * How a task commits derived tables: changelog-backed stores checkpoint their changelog position, `on-commit` tables
 * hold updates until `prepareCommit()` (and `commit()` refuses while they do, bounded by `maxCachedUpdates`), and
 * window stores drop expired segments with one range delete after the batch is written.
 */
import { describe, expect, it } from 'vitest';
import { TaskStateError } from '../../errors.js';
import type { ConsumedRecord, TopicPartitionId } from '../../common/records.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { KeyInterval } from '../../state-store/types.js';
import { parseWindowStorageKey } from '../../state-store/window-layout.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { TimeWindows } from '../../topology/windows.js';
import { StreamTask } from './stream-task.js';

const str = Serdes.string();
const num = Serdes.json<number>();

function rec(offset: number, key: string, timestamp = offset): ConsumedRecord {
  return { topic: 'events', partition: 2, offset, timestamp, key: Buffer.from(key), value: Buffer.from('"x"'), headers: {} };
}

class RangeDeletes extends MemoryKeyValueStore<unknown> {
  readonly deletes: KeyInterval[] = [];
  override async deleteRange(range: KeyInterval): Promise<void> {
    this.deletes.push(range);
    return super.deleteRange(range);
  }
}

function task(topology: Topology, options: { maxCachedUpdates?: number } = {}) {
  const stores = new Map(topology.subtopologies[0].stores.map((name) => [name, new RangeDeletes(name, 2)]));
  return { task: new StreamTask({ topology, subtopologyId: 0, partition: 2, stores, ...options }), stores };
}

function counting(emit: 'every-update' | 'on-commit') {
  const b = new StreamsBuilder();
  b.stream('events', { key: str, value: str }).groupByKey().count({ store: 'counts', emit }).toStream().to('out', { value: num });
  return b.build({ applicationId: 'app' });
}

const rendered = (outputs: readonly { topic: string; partition?: number; key: Buffer | null; value: Buffer | null }[]) =>
  outputs.map((o) => `${o.topic}:${o.partition ?? '-'}:${o.key?.toString()}=${o.value?.toString() ?? 'null'}`);

describe('committing derived tables', () => {
  it('checkpoints a derived store at the changelog offsets given, never at input offsets', async () => {
    const { task: t, stores } = task(counting('every-update'));
    t.addRecords([rec(0, 'a'), rec(1, 'a'), rec(2, 'b')]);
    const { outputs } = await t.process();
    expect(rendered(outputs)).toEqual([
      'app-counts-changelog:2:a=1',
      'out:-:a=1',
      'app-counts-changelog:2:a=2',
      'out:-:a=2',
      'app-counts-changelog:2:b=1',
      'out:-:b=1',
    ]);
    const changelog = 'app-counts-changelog:2' as TopicPartitionId;
    expect(await t.commit({ changelogOffsets: new Map([[changelog, 103]]) })).toEqual(new Map([['events:2', 3]]));
    const store = stores.get('counts') as RangeDeletes;
    expect(store.checkpoints()).toEqual(new Map([[changelog, 103]]));
    expect(await store.get(Buffer.from('a'))).toBe(2);
    // A commit without the producer's offsets writes the data and keeps the last checkpoint.
    t.addRecords([rec(3, 'a')]);
    await t.process();
    await t.commit();
    expect(await store.get(Buffer.from('a'))).toBe(3);
    expect(store.checkpoints()).toEqual(new Map([[changelog, 103]]));
  });

  it("holds 'on-commit' updates until prepareCommit(), and commit() refuses until they are out", async () => {
    const { task: t } = task(counting('on-commit'));
    t.addRecords([rec(0, 'a'), rec(1, 'b'), rec(2, 'a')]);
    expect((await t.process()).outputs).toEqual([]);
    await expect(t.commit()).rejects.toThrow(TaskStateError);
    await expect(t.commit()).rejects.toThrow('call prepareCommit() and send its outputs before commit()');
    const prepared = await t.prepareCommit();
    // Least recently updated first.
    expect(rendered(prepared.outputs)).toEqual(['app-counts-changelog:2:b=1', 'out:-:b=1', 'app-counts-changelog:2:a=2', 'out:-:a=2']);
    expect((await t.prepareCommit()).outputs).toEqual([]);
    await t.commit();
  });

  it('bounds the record cache: past maxCachedUpdates keys, the least recently updated one goes out early', async () => {
    const { task: t } = task(counting('on-commit'), { maxCachedUpdates: 2 });
    t.addRecords([rec(0, 'a'), rec(1, 'b'), rec(2, 'a'), rec(3, 'c')]);
    // 'c' is the third key: 'b' (least recently updated) is emitted then.
    expect(rendered((await t.process()).outputs)).toEqual(['app-counts-changelog:2:b=1', 'out:-:b=1']);
    expect(rendered((await t.prepareCommit()).outputs)).toEqual([
      'app-counts-changelog:2:a=2',
      'out:-:a=2',
      'app-counts-changelog:2:c=1',
      'out:-:c=1',
    ]);
  });

  it('deletes expired window segments after the batch, once per segment boundary crossed', async () => {
    const b = new StreamsBuilder();
    b.stream('events', { key: str, value: str })
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10))
      .count({ store: 'windows', retentionMs: 20 });
    const { task: t, stores } = task(b.build({ applicationId: 'app' }));
    const store = stores.get('windows') as RangeDeletes;
    t.addRecords([rec(0, 'a', 5)]);
    await t.process();
    await t.commit();
    expect(store.deletes).toEqual([]); // nothing expired yet: stream time 5, segments of 10 ms
    t.addRecords([rec(1, 'a', 45), rec(2, 'b', 46)]);
    await t.process();
    await t.commit();
    // Stream time 46, retention 20: windows starting at 27 or later live, in segment 2 ([20, 30)) onwards.
    expect(store.deletes.map((d) => [Buffer.from(d.gte).readUInt32BE(4), Buffer.from(d.lt).readUInt32BE(4)])).toEqual([[0, 2]]);
    t.addRecords([rec(3, 'a', 47)]);
    await t.process();
    await t.commit();
    expect(store.deletes).toHaveLength(1); // same live segment: no new delete
    const windows: string[] = [];
    for await (const entry of store.range()) {
      const parsed = parseWindowStorageKey(entry.key);
      if (parsed !== undefined) windows.push(`${parsed.key.toString()}@${parsed.start}=${String(entry.value)}`);
    }
    expect(windows).toEqual(['a@40=2', 'b@40=1']); // a@0 went with segment 0
  });
});
