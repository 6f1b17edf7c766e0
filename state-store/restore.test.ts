import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RestoreDecodeError } from '../errors.js';
import type { ConsumedRecord, TopicPartitionId } from '../common/records.js';
import { LevelKeyValueStore } from './level-store.js';
import { restoreStore, type RestoreBatch, type RestoreProgress } from './restore.js';
import type { StoreWrite } from './types.js';

const TOPIC = 'customers';
const tp = (p: number): TopicPartitionId => `${TOPIC}:${p}`;

function record(partition: number, offset: number, key: string, value: string | null): ConsumedRecord {
  return {
    topic: TOPIC,
    partition,
    offset,
    timestamp: 0,
    key: Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: {},
  };
}

const jsonDecode = (r: ConsumedRecord): StoreWrite<unknown> => ({
  type: 'put',
  key: r.key!,
  value: JSON.parse(r.value!.toString('utf8')) as unknown,
});
const failOnError = (): 'fail' => 'fail';

async function* source(batches: RestoreBatch[]): AsyncGenerator<RestoreBatch> {
  for (const batch of batches) yield batch;
}

async function contents(store: LevelKeyValueStore): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for await (const entry of store.range()) out[entry.key.toString('utf8')] = entry.value;
  return out;
}

describe('restoreStore', () => {
  let dir: string;
  let store: LevelKeyValueStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-restore-'));
    store = await LevelKeyValueStore.open({ location: join(dir, 'db'), name: 'customers', partition: 'global' });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies latest value per key, turns tombstones into deletes and checkpoints end offsets', async () => {
    const p0 = [
      record(0, 0, 'a', '{"v":1}'),
      record(0, 1, 'b', '{"v":1}'),
      record(0, 2, 'a', '{"v":2}'),
      record(0, 3, 'b', null),
      record(0, 4, 'c', '[1,2]'),
    ];
    const p1 = [record(1, 0, 'x', '"x1"'), record(1, 1, 'x', null), record(1, 2, 'x', '"x2"'), record(1, 3, 'y', 'null')];
    const updates: RestoreProgress[] = [];
    const result = await restoreStore({
      store,
      batches: source([p0.slice(0, 2), p1.slice(0, 3), p0.slice(2), p1.slice(3)]),
      endOffsets: new Map([
        [tp(0), 5],
        [tp(1), 4],
      ]),
      decode: jsonDecode,
      onDecodeError: failOnError,
      onProgress: (p) => updates.push(p),
      batchSize: 3,
    });
    expect(await contents(store)).toEqual({ a: { v: 2 }, c: [1, 2], x: 'x2', y: null });
    expect(result).toMatchObject({ restored: 9, caughtUp: true, decodeErrorsSkipped: 0 });
    expect(Object.fromEntries(store.checkpoints())).toEqual({ [tp(0)]: 5, [tp(1)]: 4 });
    expect(updates.at(-1)).toMatchObject({ restored: 9, remaining: 0 });
  });

  it('resumes from the checkpoint: a second restore applies only the tail', async () => {
    const all = [record(0, 0, 'a', '1'), record(0, 1, 'b', '2'), record(0, 2, 'a', '3')];
    await restoreStore({
      store,
      batches: source([all]),
      endOffsets: new Map([[tp(0), 3]]),
      decode: jsonDecode,
      onDecodeError: failOnError,
    });
    const grown = [...all, record(0, 3, 'b', null), record(0, 4, 'c', '5')];
    const decoded: number[] = [];
    const second = await restoreStore({
      store,
      batches: source([grown]),
      endOffsets: new Map([[tp(0), 5]]),
      decode: (r) => {
        decoded.push(r.offset);
        return jsonDecode(r);
      },
      onDecodeError: failOnError,
    });
    expect(second.restored).toBe(2);
    expect(decoded).toEqual([4]); // offset 3 is a tombstone: never decoded
    expect(await contents(store)).toEqual({ a: 3, c: 5 });
    expect(store.checkpoints().get(tp(0))).toBe(5);
  });

  it('does not read the source at all when already caught up', async () => {
    let pulled = false;
    async function* never(): AsyncGenerator<RestoreBatch> {
      pulled = true;
      yield [];
    }
    const result = await restoreStore({
      store,
      batches: never(),
      endOffsets: new Map([[tp(0), 0]]),
      decode: jsonDecode,
      onDecodeError: failOnError,
    });
    expect(pulled).toBe(false);
    expect(result.caughtUp).toBe(true);
  });

  it('stops pulling once every partition reached its end offset, even with offset gaps', async () => {
    let finished = false;
    let pulledAfterEnd = 0;
    async function* endless(): AsyncGenerator<RestoreBatch> {
      try {
        yield [record(0, 0, 'a', '1'), record(0, 4, 'b', '2')]; // 1..3 compacted away
        yield { records: [record(0, 7, 'c', '3')], nextOffsets: new Map([[tp(0), 9]]) }; // 8 = commit marker
        for (;;) {
          pulledAfterEnd++;
          yield [];
        }
      } finally {
        finished = true;
      }
    }
    const result = await restoreStore({
      store,
      batches: endless(),
      endOffsets: new Map([[tp(0), 9]]),
      decode: jsonDecode,
      onDecodeError: failOnError,
    });
    expect(result.caughtUp).toBe(true);
    expect(pulledAfterEnd).toBe(0);
    expect(finished).toBe(true);
    expect(store.checkpoints().get(tp(0))).toBe(9);
    expect(await contents(store)).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('reports caughtUp: false when the source ends early', async () => {
    const result = await restoreStore({
      store,
      batches: source([[record(0, 0, 'a', '1')]]),
      endOffsets: new Map([[tp(0), 10]]),
      decode: jsonDecode,
      onDecodeError: failOnError,
    });
    expect(result.caughtUp).toBe(false);
    expect(store.checkpoints().get(tp(0))).toBe(1);
  });

  it('skips undecodable records when the policy says skip, and never writes them', async () => {
    const seen: string[] = [];
    const result = await restoreStore({
      store,
      batches: source([[record(0, 0, 'a', '1'), record(0, 1, 'bad', '{oops'), record(0, 2, 'c', '3')]]),
      endOffsets: new Map([[tp(0), 3]]),
      decode: jsonDecode,
      onDecodeError: async (r, error) => {
        seen.push(`${r.topic}:${r.partition}@${r.offset}:${error instanceof SyntaxError}`);
        return 'skip' as const;
      },
    });
    expect(seen).toEqual(['customers:0@1:true']);
    expect(result.decodeErrorsSkipped).toBe(1);
    expect(await contents(store)).toEqual({ a: 1, c: 3 });
    expect(store.checkpoints().get(tp(0))).toBe(3);
  });

  it('fails with RestoreDecodeError naming the record, keeping what came before it', async () => {
    const run = restoreStore({
      store,
      batches: source([[record(0, 0, 'a', '1'), record(0, 1, 'bad', '{oops'), record(0, 2, 'c', '3')]]),
      endOffsets: new Map([[tp(0), 3]]),
      decode: jsonDecode,
      onDecodeError: failOnError,
    });
    await expect(run).rejects.toBeInstanceOf(RestoreDecodeError);
    await expect(run).rejects.toMatchObject({ code: 'TRIBUTARY_RESTORE_DECODE_FAILED', offset: 1, partition: 0 });
    expect(await contents(store)).toEqual({ a: 1 });
    expect(store.checkpoints().get(tp(0))).toBe(1);
  });

  it('lets the decoder skip records with null, still advancing the checkpoint', async () => {
    await restoreStore({
      store,
      batches: source([[record(0, 0, 'a', '1'), record(0, 1, 'skip-me', '2')]]),
      endOffsets: new Map([[tp(0), 2]]),
      decode: (r) => (r.key!.toString() === 'skip-me' ? null : jsonDecode(r)),
      onDecodeError: failOnError,
    });
    expect(await contents(store)).toEqual({ a: 1 });
    expect(store.checkpoints().get(tp(0))).toBe(2);
  });
});
