/**
 * Scenario 6 (in-process): start() validates the topology against the cluster and fails fast with a typed error
 * naming the topics and their partition counts, before creating any internal topic (an existing changelog topic
 * that does not fit is found when the internal topics are created: before the app joins its group).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChangelogTopicMismatchError, CoPartitioningError, MissingSourceTopicsError } from '../../errors.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import type { AppState } from '../../http-query/query-source.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { createTopics, kafkaBrokers, uniqueName, withAdmin } from '../helpers/kafka.js';

const stateRoot = mkdtempSync(join(tmpdir(), 'tributary-runtime-validation-'));

function appFor(build: (builder: StreamsBuilder) => void, applicationId: string): TributaryApp {
  const builder = new StreamsBuilder();
  build(builder);
  return new TributaryApp(builder.build({ applicationId }), {
    brokers: kafkaBrokers(),
    stateDir: join(stateRoot, applicationId),
    http: { port: 0 },
  });
}

async function startFailure(app: TributaryApp): Promise<unknown> {
  const states: AppState[] = [];
  app.on('state', ({ to }) => states.push(to));
  const errors: unknown[] = [];
  app.on('error', (error) => errors.push(error));
  const failure = await app.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(states).toEqual(['bootstrapping', 'failed']);
  expect(errors).toEqual([failure]);
  await app.waitUntilRunning().then(
    () => expect.unreachable('waitUntilRunning must reject for a failed app'),
    (error: unknown) => expect(error).toMatchObject({ code: 'TRIBUTARY_APP_NOT_RUNNING' }),
  );
  await app.stop();
  expect(app.state).toBe('stopped');
  return failure;
}

describe('TributaryApp.start() against a cluster that does not fit the topology', () => {
  afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

  it('fails fast when co-partitioned topics have different partition counts, creating nothing', async () => {
    const orders = uniqueName('val-orders');
    const customers = uniqueName('val-customers');
    await createTopics([
      { topic: orders, partitions: 4 },
      { topic: customers, partitions: 3 },
    ]);
    const applicationId = uniqueName('val-app');
    const app = appFor((b) => {
      const table = b.table(customers, { key: Serdes.string(), value: Serdes.json(), store: 'customers' });
      b.stream(orders, { key: Serdes.string(), value: Serdes.json() })
        .join(table, (o, c) => ({ o, c }))
        .to(uniqueName('val-out'));
    }, applicationId);

    const failure = await startFailure(app);
    expect(failure).toBeInstanceOf(CoPartitioningError);
    const message = (failure as CoPartitioningError).message;
    console.log(`[runtime validation] ${message}`);
    expect(message).toContain(`${orders}=4`);
    expect(message).toContain(`${customers}=3`);
    expect((failure as CoPartitioningError).partitionsByTopic).toEqual({ [orders]: 4, [customers]: 3 });
    // Failed before creating internal topics.
    const { missing } = await withAdmin((admin) => admin.describeTopicPartitions([`${applicationId}-dlq`]));
    expect(missing).toEqual([`${applicationId}-dlq`]);
  });

  it('fails fast when an existing repartition topic has more partitions than its inputs (a smaller one is grown)', async () => {
    const orders = uniqueName('val-orders');
    const customers = uniqueName('val-customers');
    const applicationId = uniqueName('val-app');
    const repartition = `${applicationId}-by-customer-repartition`;
    await createTopics([
      { topic: orders, partitions: 4 },
      { topic: customers, partitions: 4 },
      { topic: repartition, partitions: 8 },
    ]);
    const app = appFor((b) => {
      const table = b.table(customers, { key: Serdes.string(), value: Serdes.json(), store: 'customers' });
      b.stream(orders, { key: Serdes.string(), value: Serdes.json<{ customerId: string }>() })
        .selectKey((_k, v) => v.customerId, { key: Serdes.string() })
        .join(table, (o, c) => ({ o, c }), { repartitionName: 'by-customer' })
        .to(uniqueName('val-out'));
    }, applicationId);

    const failure = await startFailure(app);
    expect(failure).toBeInstanceOf(CoPartitioningError);
    expect((failure as CoPartitioningError).partitionsByTopic).toEqual({ [customers]: 4, [repartition]: 8 });
  });

  it('fails fast when an existing changelog topic has another partition count or is not compacted', async () => {
    const orders = uniqueName('val-orders');
    const applicationId = uniqueName('val-app');
    const changelog = `${applicationId}-counts-changelog`;
    await createTopics([
      { topic: orders, partitions: 4 },
      { topic: changelog, partitions: 6, configs: { 'cleanup.policy': 'delete' } },
    ]);
    const app = appFor((b) => {
      b.stream(orders, { key: Serdes.string(), value: Serdes.json() }).groupByKey().count({ store: 'counts' });
    }, applicationId);

    const failure = await startFailure(app);
    expect(failure).toBeInstanceOf(ChangelogTopicMismatchError);
    expect(failure).toMatchObject({
      topic: changelog,
      store: 'counts',
      expected: { partitions: 4, cleanupPolicy: 'compact' },
      actual: { partitions: 6, cleanupPolicy: 'delete' },
    });
    console.log(`[runtime validation] ${(failure as Error).message}`);
  });

  it('fails fast naming every missing input topic', async () => {
    const present = uniqueName('val-present');
    const missingStream = uniqueName('val-missing-stream');
    const missingGlobal = uniqueName('val-missing-global');
    await createTopics([{ topic: present, partitions: 1 }]);
    const app = appFor((b) => {
      const global = b.globalTable(missingGlobal, { key: Serdes.string(), value: Serdes.json(), store: 'g' });
      b.stream(present, { key: Serdes.string(), value: Serdes.json() })
        .join(
          global,
          (k) => k,
          (v, g) => ({ v, g }),
        )
        .to(uniqueName('val-out'));
      b.stream(missingStream, { key: Serdes.string(), value: Serdes.json() }).to(uniqueName('val-out'));
    }, uniqueName('val-app'));

    const failure = await startFailure(app);
    expect(failure).toBeInstanceOf(MissingSourceTopicsError);
    expect((failure as MissingSourceTopicsError).topics).toEqual([missingGlobal, missingStream].sort());
    expect((failure as MissingSourceTopicsError).message).toContain(missingStream);
  });
});
