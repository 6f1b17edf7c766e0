/**
 * Debezium, unwrapped and outbox tables through the TopologyTestDriver (the same task and global-table code as the
 * runtime), fed with the fixtures of test/fixtures/debezium/; and the Connect key serde's byte-for-byte reproduction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TopologyTestDriver } from '../../processor/test-driver/topology-test-driver.js';
import { StreamsBuilder, type TableOptions } from '../builder.js';
import { Serdes } from '../serdes.js';
import { defaultPartition } from '../../common/partitioner.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { TableTruncatedError, TopologyBuildError } from '../../errors.js';
import { ConnectKeySerde } from './connect-key.js';
import { TableFormats, type TableFormat } from './table-format.js';
import { FIXTURE_FILES, loadFixture, type Fixture } from '../../test/fixtures/debezium/fixtures.js';

interface Customer {
  readonly id: number;
  readonly first_name: string;
  readonly last_name: string;
  readonly email: string;
}

let drivers: TopologyTestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  drivers = [];
});

async function pipeAll(driver: TopologyTestDriver, fixture: Fixture, records = fixture.records): Promise<void> {
  const input = driver.inputTopic(fixture.topic, Serdes.buffer(), Serdes.buffer());
  for (const r of records) await input.pipeRaw(r.key, r.value, { headers: r.headers });
}

function customersTable(
  topic: string,
  kind: 'table' | 'globalTable',
  format: TableFormat<Customer>,
  extra: Partial<TableOptions<number, Customer>> = {},
): { driver: TopologyTestDriver; builder: StreamsBuilder } {
  const b = new StreamsBuilder();
  const options: TableOptions<number, Customer> = {
    format,
    keyField: 'id',
    key: Serdes.json<number>(),
    value: Serdes.json<Customer>(),
    store: 'customers',
    ...extra,
  };
  if (kind === 'table') b.table(topic, options);
  else b.globalTable(topic, options);
  const driver = new TopologyTestDriver(b.build({ applicationId: 'cdc' }), { partitions: 4 });
  drivers.push(driver);
  return { driver, builder: b };
}

describe('debezium format: fixtures of the PostgreSQL and MySQL connectors', () => {
  const cases = [
    FIXTURE_FILES.postgresWithSchemas,
    FIXTURE_FILES.postgresWithoutSchemas,
    FIXTURE_FILES.mysqlWithSchemas,
    FIXTURE_FILES.mysqlWithoutSchemas,
  ];
  for (const file of cases) {
    for (const kind of ['table', 'globalTable'] as const) {
      it(`${file} as a ${kind}: the store equals the database rows; lookups by the unwrapped key`, async () => {
        const fixture = loadFixture(file);
        const { driver } = customersTable(fixture.topic, kind, 'debezium');
        await pipeAll(driver, fixture);
        const store = driver.store<number, Customer>('customers');
        const rows = await store.all();
        expect(Object.fromEntries(rows.map(({ key, value }) => [String(key), value]))).toEqual(fixture.expectedRows);
        for (const [id, row] of Object.entries(fixture.expectedRows)) expect(await store.get(Number(id))).toEqual(row);
        expect(await store.get(1002)).toBeUndefined();
        expect(driver.outputTopic('cdc-dlq', Serdes.buffer(), Serdes.buffer()).readRecords()).toEqual([]);
      });
    }
  }

  it('the tombstone after a delete is idempotent, also replayed on its own', async () => {
    const fixture = loadFixture(FIXTURE_FILES.postgresWithSchemas);
    const { driver } = customersTable(fixture.topic, 'table', 'debezium');
    await pipeAll(driver, fixture);
    const tombstone = fixture.records.find((r) => r.value === null);
    await pipeAll(driver, fixture, [tombstone!, tombstone!]);
    expect((await driver.store<number, Customer>('customers').all()).map((e) => e.key)).toEqual([1001, 1003, 1004]);
  });

  it('a record that is not a Debezium envelope becomes a dead letter and the table keeps its rows', async () => {
    const fixture = loadFixture(FIXTURE_FILES.postgresWithoutSchemas);
    const { driver } = customersTable(fixture.topic, 'table', 'debezium');
    await pipeAll(driver, fixture);
    const input = driver.inputTopic(fixture.topic, Serdes.buffer(), Serdes.buffer());
    const key = Buffer.from('{"id":1001}');
    await input.pipeRaw(key, Buffer.from('{"id":1001,"first_name":"not an envelope"}'));
    await input.pipeRaw(key, Buffer.from('not json'));
    await input.pipeRaw(Buffer.from('not a struct'), Buffer.from('{"op":"c","after":{"id":1}}'));
    const letters = driver.outputTopic('cdc-dlq', Serdes.buffer(), Serdes.buffer()).readRecords();
    expect(letters).toHaveLength(3);
    expect(letters.map((l) => l.headers[DeadLetterHeaders.stage]?.toString())).toEqual([
      'deserialization',
      'deserialization',
      'deserialization',
    ]);
    expect(letters[0].headers[DeadLetterHeaders.errorMessage]?.toString()).toContain('not a Debezium change event');
    expect(await driver.store<number, Customer>('customers').get(1001)).toEqual(fixture.expectedRows['1001']);
  });

  it('a logical decoding message changes nothing; a truncate stops the task by default, whatever the error policy', async () => {
    const rows = loadFixture(FIXTURE_FILES.postgresWithoutSchemas);
    const [message, truncate] = loadFixture(FIXTURE_FILES.truncateAndMessage).records;
    const { driver } = customersTable(rows.topic, 'table', 'debezium', { errorPolicy: { deserialization: 'dead-letter' } });
    await pipeAll(driver, rows);
    await pipeAll(driver, rows, [message]);
    expect(await driver.store<number, Customer>('customers').get(1001)).toEqual(rows.expectedRows['1001']);
    await expect(pipeAll(driver, rows, [truncate])).rejects.toBeInstanceOf(TableTruncatedError);
  });

  it("truncate: 'clear' on a global table clears it; later rows apply on top", async () => {
    const rows = loadFixture(FIXTURE_FILES.postgresWithoutSchemas);
    const [, truncate] = loadFixture(FIXTURE_FILES.truncateAndMessage).records;
    const { driver } = customersTable(rows.topic, 'globalTable', TableFormats.debezium({ truncate: 'clear' }));
    await pipeAll(driver, rows);
    await pipeAll(driver, rows, [truncate, rows.records[3]]);
    expect((await driver.store<number, Customer>('customers').all()).map((e) => e.key)).toEqual([1004]);
  });

  it("build() refuses truncate: 'clear' on a partitioned table and keyField without a format", () => {
    const b = new StreamsBuilder();
    b.table('t', { format: TableFormats.debezium({ truncate: 'clear' }), key: Serdes.json(), value: Serdes.json(), store: 's' });
    expect(() => b.build({ applicationId: 'x' })).toThrow(TopologyBuildError);
    const c = new StreamsBuilder();
    c.table('t', { keyField: 'id', key: Serdes.json(), value: Serdes.json(), store: 's' });
    expect(() => c.build({ applicationId: 'x' })).toThrow(/keyField/);
  });

  it('rows sit on the partition Connect chose (murmur2 of the converter key bytes) and lookups find them there', async () => {
    const fixture = loadFixture(FIXTURE_FILES.postgresWithSchemas);
    const { driver } = customersTable(fixture.topic, 'table', 'debezium');
    await pipeAll(driver, fixture);
    const table = driver.topology.stores.find((s) => s.name === 'customers')!;
    for (const id of [1001, 1003, 1004]) {
      const raw = fixture.records.find((r) => r.key !== null && JSON.parse(r.key.toString()).payload.id === id)!.key!;
      expect(table.keySerde.serialize(id).equals(raw)).toBe(true);
      expect(defaultPartition(table.keySerde.serialize(id), 4)).toBe(defaultPartition(raw, 4));
    }
  });

  it('a stream joined with a Debezium table through a repartition lands on the table partition', async () => {
    const fixture = loadFixture(FIXTURE_FILES.mysqlWithSchemas);
    const b = new StreamsBuilder();
    const customers = b.table(fixture.topic, {
      format: 'debezium',
      keyField: 'id',
      key: Serdes.json<number>(),
      value: Serdes.json<Customer>(),
      store: 'customers',
    });
    b.stream('orders', { key: Serdes.string(), value: Serdes.json<{ customerId: number }>() })
      .selectKey((_id, order) => order.customerId)
      .join(customers, (order, customer) => ({ ...order, email: customer.email }))
      .to('enriched', { value: Serdes.json() });
    const driver = new TopologyTestDriver(b.build({ applicationId: 'cdc' }), { partitions: 4 });
    drivers.push(driver);
    await pipeAll(driver, fixture);
    const orders = driver.inputTopic('orders', Serdes.string(), Serdes.json<{ customerId: number }>());
    await orders.pipe('o1', { customerId: 1001 }, { timestamp: Date.now() + 10_000 });
    await orders.pipe('o2', { customerId: 1004 }, { timestamp: Date.now() + 10_000 });
    const out = driver.outputTopic('enriched', Serdes.json<number>(), Serdes.json<{ email: string }>()).readKeyValues();
    expect(out.map((r) => r.value?.email).sort()).toEqual(['annek@noanswer.org', 'sally.thomas@example.com']);
  });
});

describe('debezium-unwrapped format (ExtractNewRecordState)', () => {
  it('rewrite-mode deletes (__deleted: "true") and null values delete; __deleted is dropped from rows', async () => {
    const fixture = loadFixture(FIXTURE_FILES.unwrapped);
    const { driver } = customersTable(fixture.topic, 'table', 'debezium-unwrapped');
    await pipeAll(driver, fixture);
    const rows = await driver.store<number, Customer>('customers').all();
    expect(Object.fromEntries(rows.map(({ key, value }) => [String(key), value]))).toEqual(fixture.expectedRows);
  });
});

describe('outbox format (Debezium outbox event router)', () => {
  it('the latest event per aggregate is the row; the mapper sees the event id header', async () => {
    const fixture = loadFixture(FIXTURE_FILES.outbox);
    interface Order {
      readonly customerId: number;
      readonly items: number;
      readonly eventId: string | undefined;
    }
    const b = new StreamsBuilder();
    b.table(fixture.topic, {
      format: TableFormats.outbox<Order>({
        mapValue: (payload, event) => {
          const order = payload as { customerId: number; lineItems: { quantity: number }[] };
          return { customerId: order.customerId, items: order.lineItems.reduce((n, l) => n + l.quantity, 0), eventId: event.id };
        },
      }),
      key: Serdes.string(),
      value: Serdes.json<Order>(),
      store: 'orders',
    });
    const driver = new TopologyTestDriver(b.build({ applicationId: 'cdc' }), { partitions: 3 });
    drivers.push(driver);
    await pipeAll(driver, fixture);
    const store = driver.store<string, Order>('orders');
    expect(await store.get('123')).toEqual({ customerId: 456, items: 3, eventId: '8b3a4c2e-9a6f-4e7b-9f0d-2a1c5e6b7d80' });
    expect(await store.get('124')).toEqual({ customerId: 457, items: 0, eventId: 'c0ffee00-0000-4000-8000-000000000124' });
  });

  it('without a mapper the payload (a JSON string holding JSON, or expanded JSON, wrapped or not) is the row', async () => {
    const b = new StreamsBuilder();
    b.globalTable('outbox', { format: 'outbox', key: Serdes.string(), value: Serdes.json<{ n: number }>(), store: 'o' });
    const driver = new TopologyTestDriver(b.build({ applicationId: 'cdc' }));
    drivers.push(driver);
    const input = driver.inputTopic('outbox', Serdes.buffer(), Serdes.buffer());
    await input.pipeRaw(Buffer.from('a'), Buffer.from(JSON.stringify(JSON.stringify({ n: 1 }))));
    await input.pipeRaw(Buffer.from('b'), Buffer.from(JSON.stringify({ n: 2 })));
    await input.pipeRaw(Buffer.from('c'), Buffer.from(JSON.stringify({ schema: { type: 'string', optional: true }, payload: '{"n":3}' })));
    expect(await driver.store<string, { n: number }>('o').all()).toEqual([
      { key: 'a', value: { n: 1 } },
      { key: 'b', value: { n: 2 } },
      { key: 'c', value: { n: 3 } },
    ]);
  });
});

describe('ConnectKeySerde', () => {
  const wrapped = (id: unknown, type = 'int32'): Buffer =>
    Buffer.from(
      JSON.stringify({
        schema: { type: 'struct', fields: [{ type, optional: false, field: 'id' }], optional: false, name: 'db.public.t.Key' },
        payload: { id },
      }),
    );

  it('reproduces the converter bytes of integer and string keys, wrapped or not (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), fc.boolean(), (id, withSchema) => {
        const serde = new ConnectKeySerde<unknown>({ topic: 't', inner: Serdes.json(), keyField: 'id', expect: 'struct' });
        const raw = withSchema ? wrapped(id, typeof id === 'number' ? 'int64' : 'string') : Buffer.from(JSON.stringify({ id }));
        expect(serde.deserialize(raw)).toEqual(id);
        expect(serde.serialize(id).equals(raw)).toBe(true);
      }),
    );
  });

  it('composite keys keep the schema field order whatever the order of the object looked up', () => {
    const serde = new ConnectKeySerde<unknown>({ topic: 't', inner: Serdes.json(), expect: 'struct' });
    const raw = Buffer.from('{"tenant":"a","id":7}');
    expect(serde.deserialize(raw)).toEqual({ tenant: 'a', id: 7 });
    expect(serde.serialize({ id: 7, tenant: 'a' }).toString()).toBe('{"tenant":"a","id":7}');
    expect(() => serde.serialize({ id: 7 })).toThrow(/lacks column 'tenant'/);
  });

  it('a key typed in a URL ("42") is written with the column type (42), also through a string serde', () => {
    const serde = new ConnectKeySerde<string>({ topic: 't', inner: Serdes.string(), keyField: 'id', expect: 'struct' });
    expect(serde.deserialize(wrapped(42))).toBe('42');
    expect(serde.serialize(serde.fromString('42')).equals(wrapped(42))).toBe(true);
  });

  it('before any key was read it cannot write one; floating-point keys are not reproduced byte for byte', () => {
    const serde = new ConnectKeySerde<unknown>({ topic: 't', inner: Serdes.json(), keyField: 'id', expect: 'struct' });
    expect(() => serde.serialize(1)).toThrow(/not known yet/);
    expect(serde.reproduces(Buffer.from('{"id":1.0}'))).toBe(false);
    expect(serde.reproduces(Buffer.from('{"id":1}'))).toBe(true);
  });

  it('outbox keys: plain strings (StringConverter), JSON strings and wrapped strings', () => {
    const serde = new ConnectKeySerde<string>({ topic: 't', inner: Serdes.string(), expect: 'any' });
    for (const raw of ['order-1', '42', '"order-1"', '{"schema":{"type":"string","optional":false},"payload":"order-1"}']) {
      expect(serde.reproduces(Buffer.from(raw)), raw).toBe(true);
    }
  });
});
