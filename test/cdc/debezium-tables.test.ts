/**
 * Tables from databases on the real broker: the Debezium fixtures (test/fixtures/debezium/) produced the way Kafka
 * Connect produces them (murmur2 of the converter's key bytes), read by two in-process instances:
 * 1. a partitioned table (PostgreSQL, schema-wrapped struct keys, keyField 'id') and a global table (MySQL, no
 *    schemas): both equal the database rows; /stores/customers/keys/1001 answers from either instance (one
 *    forwards, routing by the rebuilt Connect key bytes); a malformed envelope is a dead letter; a truncate stops
 *    the app with TableTruncatedError;
 * 2. a record Connect did not put on murmur2's partition: start() refuses with ConnectKeyRoutingError.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectKeyRoutingError, TableTruncatedError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { defaultPartition } from '../../common/partitioner.js';
import { InProcessApps } from '../dlq/in-process-app.js';
import { createTestTopic, produce, readTopic, waitUntil, type TestRecord } from '../helpers/kafka.js';
import { FIXTURE_FILES, loadFixture, type FixtureRecord } from '../fixtures/debezium/fixtures.js';
import type { TributaryApp } from '../../processor/runtime/app.js';

interface Customer {
  readonly id: number;
  readonly email: string;
}

const PARTITIONS = 4;
const toTestRecords = (records: readonly FixtureRecord[]): TestRecord[] =>
  records.map((r) => ({ key: r.key, value: r.value, headers: r.headers }));

async function get(app: TributaryApp, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(app.url + path);
  return { status: response.status, body: await response.json() };
}

function topology(customersTopic: string, mysqlTopic: string, applicationId: string) {
  const b = new StreamsBuilder();
  b.table(customersTopic, {
    format: 'debezium',
    keyField: 'id',
    key: Serdes.json<number>(),
    value: Serdes.json<Customer>(),
    store: 'customers',
  });
  b.globalTable(mysqlTopic, {
    format: 'debezium',
    keyField: 'id',
    key: Serdes.json<number>(),
    value: Serdes.json<Customer>(),
    store: 'customers-global',
  });
  return b.build({ applicationId });
}

describe('Debezium tables on the real broker', () => {
  const apps = new InProcessApps();
  afterEach(async () => apps.cleanup());

  it('partitioned and global Debezium tables equal the database rows; struct-key lookups route from any instance', async () => {
    const postgres = loadFixture(FIXTURE_FILES.postgresWithSchemas);
    const mysql = loadFixture(FIXTURE_FILES.mysqlWithoutSchemas);
    const pgTopic = await createTestTopic('cdc-pg', PARTITIONS);
    const myTopic = await createTestTopic('cdc-mysql', 2);
    await produce(pgTopic, toTestRecords(postgres.records));
    await produce(myTopic, toTestRecords(mysql.records));
    // The records sit where Connect's default partitioner puts them: murmur2 of the converter's key bytes.
    for (const record of await readTopic(pgTopic)) {
      if (record.key !== null) expect(record.partition).toBe(defaultPartition(record.key, PARTITIONS));
    }

    const applicationId = `cdc-${Date.now().toString(36)}`;
    const a = await apps.start(topology(pgTopic, myTopic, applicationId), { http: { port: 0 } });
    const b = await apps.start(topology(pgTopic, myTopic, applicationId), { http: { port: 0 } });
    await waitUntil(
      async () => {
        const answers = await Promise.all([a, b].map((app) => fetch(`${app.url}/ready`).then((r) => r.status)));
        const held = [a, b].map((app) => app.querySource().store('customers')?.localPartitions().length ?? 0);
        return answers.every((s) => s === 200) && held.every((n) => n > 0) && held[0] + held[1] === PARTITIONS;
      },
      { timeoutMs: 60_000, description: 'two ready instances splitting the partitions' },
    );

    for (const app of [a, b]) {
      for (const [id, row] of Object.entries(postgres.expectedRows)) {
        expect(await get(app, `/stores/customers/keys/${id}`)).toEqual({ status: 200, body: { key: Number(id), value: row } });
        expect(await get(app, `/stores/customers-global/keys/${id}`)).toEqual({
          status: 200,
          body: { key: Number(id), value: mysql.expectedRows[id] },
        });
      }
      expect((await get(app, '/stores/customers/keys/1002')).status).toBe(404);
      expect((await get(app, '/stores/customers-global/keys/1002')).status).toBe(404);
    }

    // A malformed envelope on the partitioned table: a dead letter, the row stays.
    const key = postgres.records[0].key as Buffer;
    await produce(pgTopic, [{ key, value: '{"schema":{"type":"string"},"payload":"not an envelope"}' }]);
    await waitUntil(async () => (await readTopic(`${applicationId}-dlq`)).length === 1, { description: 'one dead letter' });
    expect((await get(a, '/stores/customers/keys/1001')).body).toEqual({ key: 1001, value: postgres.expectedRows['1001'] });

    // A truncate on the partitioned table (default handling 'fail') stops the instance that reads it.
    const [, truncate] = loadFixture(FIXTURE_FILES.truncateAndMessage).records;
    await produce(pgTopic, [{ key: null, value: truncate.value, partition: 0 }]);
    await waitUntil(() => a.state === 'failed' || b.state === 'failed', { description: 'an instance failed on the truncate' });
    const failed = a.state === 'failed' ? a : b;
    expect(failed.failureCause).toBeInstanceOf(TableTruncatedError);
  });

  it('refuses to start when a record is not on the partition murmur2 of its Connect key bytes gives', async () => {
    const postgres = loadFixture(FIXTURE_FILES.postgresWithoutSchemas);
    const topic = await createTestTopic('cdc-misrouted', PARTITIONS);
    const key = postgres.records[0].key as Buffer;
    const wrong = (defaultPartition(key, PARTITIONS) + 1) % PARTITIONS;
    await produce(topic, [{ key, value: postgres.records[0].value, partition: wrong }]);
    const b = new StreamsBuilder();
    b.table(topic, { format: 'debezium', keyField: 'id', key: Serdes.json<number>(), value: Serdes.json<Customer>(), store: 'customers' });
    const app = await apps.create(b.build({ applicationId: `cdc-misrouted-${Date.now().toString(36)}` }));
    const error = await app.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectKeyRoutingError);
    expect((error as Error).message).toContain(`is on partition ${wrong}`);
  });
});
