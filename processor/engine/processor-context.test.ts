import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { taskId } from '../../common/task-id.js';
import { TaskStateError } from '../../errors.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import type { StoreSpec } from '../../topology/specs.js';
import type { ProcessNode, ProcessorContext } from '../../topology/nodes.js';
import { Serdes } from '../../topology/serdes.js';
import type { ErrorPolicy } from './error-policy.js';
import { RecordFate, type InFlight } from './in-flight.js';
import { EngineMetrics } from './metrics.js';
import { TaskOutputs } from './output-slots.js';
import { ProcessorCalls, ProcessorStores } from './processor-context.js';
import { RecordErrorHandler, TaskFailure } from './record-errors.js';
import { TaskStoreView } from './task-store.js';

type Fn = (key: unknown, value: unknown, context: ProcessorContext<unknown, unknown>) => void | Promise<void>;

const processNode = (fn: Fn, stores: string[] = []): ProcessNode => ({ kind: 'process', id: 1, name: 'PROC', parents: [0], stores, fn });
const out = (value: string): ProducedRecord => ({ topic: 'out', timestamp: 0, key: null, value: Buffer.from(value), headers: {} });
const values = (records: readonly ProducedRecord[]) => records.map((r) => r.value?.toString());

function setup(errorPolicy: ErrorPolicy = {}) {
  const id = taskId(0, 0);
  const outputs = new TaskOutputs();
  outputs.begin();
  const errors = new RecordErrorHandler({
    taskId: id,
    applicationId: 'pc',
    errorPolicy,
    metrics: new EngineMetrics(),
    logger: undefined,
    outputs,
  });
  const store = new MemoryKeyValueStore<unknown>('counts', 0);
  const views = new Map([['counts', new TaskStoreView(store, 100)]]);
  const specs: StoreSpec[] = [{ name: 'counts', kind: 'state', keySerde: Serdes.string() }];
  // The host forwards by writing the record's value as an output, where the outputs stand now.
  const host = { taskId: id, outputs, errors, forward: (_from: number, record: InFlight) => outputs.push(out(String(record.value))) };
  const calls = new ProcessorCalls(host, new ProcessorStores(id, views, specs));
  const policy = errors.policyFor(undefined);
  const inFlight = (value: string, offset = 0): InFlight => {
    const record: ConsumedRecord = {
      topic: 'in',
      partition: 0,
      offset,
      timestamp: 5,
      key: Buffer.from('k'),
      value: Buffer.from(value),
      headers: {},
    };
    return { key: 'k', value, timestamp: 5, headers: {}, origin: { record, policy, fate: new RecordFate(record, false) } };
  };
  return { outputs, store, views, calls, inFlight };
}

describe('ProcessorCalls', () => {
  it('an async call holds its place: what it forwards after an await comes before later outputs', async () => {
    const { outputs, calls, inFlight } = setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const node = processNode(async (_k, value, ctx) => {
      ctx.forward('k', `${value as string}-1`);
      await gate;
      ctx.forward('k', `${value as string}-2`);
    });
    expect(calls.hasPending).toBe(false);
    calls.run(node, inFlight('a'));
    expect(calls.hasPending).toBe(true); // the barrier: the task takes no input record until it settles
    outputs.push(out('later'));
    release();
    await calls.settle();
    expect(calls.hasPending).toBe(false);
    expect(values(outputs.flatten())).toEqual(['a-1', 'a-2', 'later']);
  });

  it('the context describes the source record; forward after the call settled is refused', async () => {
    const { calls, inFlight } = setup();
    let saved: ProcessorContext<unknown, unknown> | undefined;
    calls.run(
      processNode((_k, _v, ctx) => {
        saved = ctx;
      }),
      inFlight('a', 41),
    );
    expect(saved).toMatchObject({ topic: 'in', partition: 0, offset: 41, timestamp: 5 });
    expect(() => saved?.forward('k', 'late')).toThrow(/PROC called forward\(\) after its function returned/);
    expect(calls.hasPending).toBe(false);
  });

  it('a sync throw or an async rejection dead-letters that record, in its place', async () => {
    const { outputs, calls, inFlight } = setup();
    const node = processNode(async (_k, value, ctx) => {
      if (value === 'bad-sync') throw new Error('sync');
      await Promise.resolve();
      if (value === 'bad-async') throw new Error('async');
      ctx.forward('k', value);
    });
    const syncNode = processNode((_k, value) => {
      if (value === 'bad-sync') throw new Error('sync');
    });
    calls.run(node, inFlight('bad-async'));
    outputs.push(out('after-async'));
    calls.run(syncNode, inFlight('bad-sync'));
    calls.run(node, inFlight('ok'));
    await calls.settle();
    const topics = outputs.flatten().map((r) => `${r.topic}:${r.value?.toString()}`);
    expect(topics).toEqual(['pc-dlq:bad-async', 'out:after-async', 'pc-dlq:bad-sync', 'out:ok']);
  });

  it("under 'fail', settle throws the failure that happened first; a sync throw fails at once", async () => {
    const { calls, inFlight } = setup({ processing: 'fail' });
    calls.run(
      processNode(async () => {
        await Promise.resolve();
        throw new Error('first');
      }),
      inFlight('a'),
    );
    calls.run(
      processNode(async () => {
        throw new Error('second');
      }),
      inFlight('b'),
    );
    const failure = await calls.settle().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TaskFailure);
    expect((failure as TaskFailure).error).toMatchObject({ code: 'TRIBUTARY_PROCESSING', message: expect.stringContaining('second') });
    expect(() =>
      calls.run(
        processNode(() => {
          throw new Error('sync');
        }),
        inFlight('c'),
      ),
    ).toThrow(TaskFailure);
  });
});

describe('ProcessorStores', () => {
  it('reads see pending writes; a write made while a read is in flight wins over what the read saw', async () => {
    const { store, views, calls, inFlight } = setup();
    await store.write([{ type: 'put', key: Buffer.from('a'), value: 1 }]);
    const seen: unknown[] = [];
    const node = processNode(
      async (_k, _v, ctx) => {
        const counts = ctx.store<string, number>('counts');
        const reading = counts.get('a');
        counts.put('a', 2); // before the read resolves
        seen.push(await reading, await counts.get('a'));
        counts.delete('a');
        seen.push(await counts.get('a'));
      },
      ['counts'],
    );
    calls.run(node, inFlight('x'));
    await calls.settle();
    expect(seen).toEqual([2, 2, undefined]);
    expect(views.get('counts')?.pendingCount).toBe(1);
    expect(await store.get(Buffer.from('a'))).toBe(1); // nothing written before commit
  });

  it('refuses a store the node did not declare', () => {
    const { calls, inFlight } = setup({ processing: 'fail' });
    let thrown: unknown;
    calls.run(
      processNode((_k, _v, ctx) => {
        try {
          ctx.store('counts');
        } catch (error) {
          thrown = error;
        }
      }),
      inFlight('x'),
    );
    expect(thrown).toBeInstanceOf(TaskStateError);
    expect((thrown as Error).message).toContain("process(fn, { stores: ['counts'] })");
  });
});
