/**
 * TributaryApp in-process on the real broker: the lifecycle seen through the typed events, stats() and /ready, the
 * commit cycle (offsets committed only for processed, acknowledged records), and a 'fail' policy: the app fails
 * without committing past the bad record, and a restart resumes from it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppStateError, ProcessingError, type TributaryError } from '../../errors.js';
import type { AppState } from '../../http-query/query-source.js';
import { defaultPartition } from '../../common/partitioner.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import type { AssignmentEvent, RestorationEvent } from '../../processor/runtime/events.js';
import type { TributaryAppOptions } from '../../processor/runtime/options.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTopics, kafkaBrokers, produce, readTopic, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';

const stateRoot = mkdtempSync(join(tmpdir(), 'tributary-runtime-lifecycle-'));

function options(applicationId: string, extra: Partial<TributaryAppOptions> = {}): TributaryAppOptions {
  return {
    brokers: kafkaBrokers(),
    stateDir: join(stateRoot, applicationId),
    http: { port: 0 },
    commitIntervalMs: 100,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    ...extra,
  };
}

function keyOnPartition(partition: number, partitions: number): string {
  for (let i = 0; ; i++) if (defaultPartition(Buffer.from(`k${i}`), partitions) === partition) return `k${i}`;
}

async function committedTotal(groupId: string, topic: string): Promise<number> {
  const committed = await withAdmin((admin) => admin.fetchCommittedOffsets(groupId, [topic]));
  return [...committed.values()].reduce((a, b) => a + b, 0);
}

describe('TributaryApp lifecycle (in-process)', () => {
  afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

  it('reports states, restoration and assignments through events, stats() and /ready; commits what it processed', async () => {
    const input = uniqueName('life-in');
    const tableTopic = uniqueName('life-table');
    const globalTopic = uniqueName('life-global');
    const output = uniqueName('life-out');
    await createTopics([
      { topic: input, partitions: 2 },
      { topic: tableTopic, partitions: 2 },
      { topic: globalTopic, partitions: 1 },
      { topic: output, partitions: 2 },
    ]);
    // One table key per partition, so both table partitions have something to restore.
    const keys = [0, 1].map((partition) => keyOnPartition(partition, 2));
    await produce(tableTopic, [
      { key: keys[0], value: '"table-1"' },
      { key: keys[1], value: '"table-2"' },
    ]);
    await produce(globalTopic, [{ key: 'g', value: '"global"' }]);

    const builder = new StreamsBuilder();
    const table = builder.table(tableTopic, { key: Serdes.string(), value: Serdes.json<string>(), store: 'life-table' });
    const global = builder.globalTable(globalTopic, { key: Serdes.string(), value: Serdes.json<string>(), store: 'life-global' });
    builder
      .stream(input, { key: Serdes.string(), value: Serdes.json<number>() })
      .join(table, (n, t) => `${t}:${n}`)
      .join(
        global,
        () => 'g',
        (v, g) => `${v}:${g}`,
      )
      .to(output, { value: Serdes.string() });
    const applicationId = uniqueName('life-app');
    const app = new TributaryApp(builder.build({ applicationId }), options(applicationId));

    const states: AppState[] = [];
    const restorations: RestorationEvent[] = [];
    const assignments: AssignmentEvent[] = [];
    const errors: TributaryError[] = [];
    app.on('state', ({ to }) => states.push(to));
    app.on('restoration', (event) => restorations.push(event));
    app.on('assignment', (event) => assignments.push(event));
    app.on('error', (error) => errors.push(error));

    const running = app.waitUntilRunning();
    await app.start();
    await running;
    expect(states).toEqual(['bootstrapping', 'running']);
    // Running does not wait for task restoration; ready does.
    await app.waitUntilReady();
    expect(
      restorations
        .filter((e) => e.done)
        .map((e) => `${e.store}/${e.partition}`)
        .sort(),
    ).toEqual(['life-global/global', 'life-table/0', 'life-table/1']);
    expect(assignments).toHaveLength(1);
    expect(assignments[0].tasks).toEqual(['0_0', '0_1']);
    const ready = await fetch(`${app.url}/ready`);
    expect(ready.status).toBe(200);

    const count = 200;
    await produce(
      input,
      Array.from({ length: count }, (_, i) => ({ key: keys[i % 2], value: String(i) })),
    );
    await waitUntil(async () => (await readTopic(output)).length >= count, { description: `${count} outputs` });
    const outputs = (await readTopic(output)).map((r) => r.value?.toString());
    expect(outputs.filter((v) => v?.startsWith('table-1:') && v.endsWith(':global'))).toHaveLength(count / 2);
    await waitUntil(async () => (await committedTotal(applicationId, input)) === count, {
      description: 'offsets committed for every processed record',
    });

    const stats = app.stats();
    expect(stats).toMatchObject({ state: 'running', recordsProcessed: count, recordsSent: count });
    expect(stats.commits).toBeGreaterThan(0);
    expect(stats.restoration['life-table']).toEqual({ restoredRecords: 2, restorations: 2, skipped: 0 });
    expect(stats.engine.joinHits).toBe(2 * count);
    expect(stats.tasks.map((t) => t.id)).toEqual(['0_0', '0_1']);

    await app.stop();
    await app.stop();
    expect(states.slice(-2)).toEqual(['stopping', 'stopped']);
    expect(errors).toEqual([]);
    await expect(app.start()).rejects.toBeInstanceOf(AppStateError);
    await expect(fetch(`${app.url}/ready`)).rejects.toThrow();
  });

  it("fails under the 'fail' policy without committing past the bad record; a restart stops at it again", async () => {
    const input = uniqueName('fail-in');
    const output = uniqueName('fail-out');
    await createTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const applicationId = uniqueName('fail-app');
    const build = () => {
      const builder = new StreamsBuilder();
      builder
        .stream(input, { key: Serdes.string(), value: Serdes.string() })
        .mapValues((v) => {
          if (v === 'poison') throw new Error('cannot digest poison');
          return v.toUpperCase();
        })
        .to(output, { value: Serdes.string() });
      return builder.build({ applicationId });
    };
    const failOptions = options(applicationId, { errorPolicy: { processing: 'fail' } });

    const first = new TributaryApp(build(), failOptions);
    await first.start();
    await produce(
      input,
      ['a', 'b', 'c'].map((v) => ({ key: v, value: v })),
    );
    await waitUntil(async () => (await committedTotal(applicationId, input)) === 3, { description: 'the good records committed' });
    const failed = new Promise<TributaryError>((resolve) => first.on('error', resolve));
    await produce(
      input,
      ['poison', 'd'].map((v) => ({ key: v, value: v })),
    );
    const error = await failed;
    expect(error).toBeInstanceOf(ProcessingError);
    expect(error).toMatchObject({ topic: input, partition: 0, offset: 3 });
    await waitUntil(() => first.state === 'failed', { description: 'state failed' });
    await first.stop();
    expect(first.state).toBe('stopped');
    expect(await committedTotal(applicationId, input)).toBe(3);
    expect((await readTopic(output)).map((r) => r.value?.toString())).toEqual(['A', 'B', 'C']);

    // Restarted (same state dir): resumes at the committed offset, i.e. the bad record, and fails on it again.
    const second = new TributaryApp(build(), failOptions);
    const again = new Promise<TributaryError>((resolve) => second.on('error', resolve));
    await second.start().catch(() => undefined);
    expect(await again).toMatchObject({ code: 'TRIBUTARY_PROCESSING', offset: 3 });
    await second.stop();
    expect(await committedTotal(applicationId, input)).toBe(3);
  });
});
