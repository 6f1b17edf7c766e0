/**
 * Poison input on the real broker, in-process TributaryApp: valid records interleaved with malformed JSON, truncated
 * msgpack, wrong types (a validating serde), empty values, huge values, null keys, a throwing joiner, and bad
 * records in a table source. Every record is accounted for: in = stream outputs + table puts + dead letters + drops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { ConsumedRecord } from '../../common/records.js';
import { Serdes } from '../../topology/serdes.js';
import { mixedTopology, strictPaymentSerde, type MixedTopics } from '../fixtures/poison-topology.js';
import { createTopics, produce, readTopic, uniqueName, waitUntil, withAdmin, type TestRecord } from '../helpers/kafka.js';
import { InProcessApps, readLocalStore } from './in-process-app.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());

/** What must happen to an input record. */
type Fate = 'out' | 'table' | 'dead-letter:deserialization' | 'dead-letter:processing' | 'drop';

interface Input {
  readonly topic: string;
  readonly id: string;
  readonly fate: Fate;
  readonly record: TestRecord;
  /** For dead letters: which part failed, or the joiner's message. */
  readonly failure?: { readonly part: 'key' | 'value' } | { readonly message: string };
}

const TEST_ID = 'test-id';
const HUGE_BYTES = 280_000;
/** Payments topics cap records at 300 000 bytes, so the huge records sit near the topic's max.message.bytes. */
const PAYMENT_TOPIC_CONFIGS = { 'max.message.bytes': '300000' };
const msgpack = Serdes.msgpack<unknown>();

function input(topic: string, id: string, fate: Fate, key: string | null, value: Buffer | string, failure?: Input['failure']): Input {
  return { topic, id, fate, failure, record: { key, value, headers: { [TEST_ID]: id } } };
}

function customersInput(t: MixedTopics): { good: Input[]; bad: Input[] } {
  const good = Array.from({ length: 8 }, (_, i) =>
    input(t.customers, `cust-${i}`, 'table', `c${i}`, JSON.stringify({ name: `Customer ${i}` })),
  );
  const bad = [
    input(t.customers, 'cust-bad-json', 'dead-letter:deserialization', 'c1', '{"name":', { part: 'value' }),
    input(t.customers, 'cust-null-key', 'dead-letter:deserialization', null, JSON.stringify({ name: 'ghost' }), { part: 'key' }),
  ];
  return { good, bad };
}

function ordersInput(t: MixedTopics): Input[] {
  return Array.from({ length: 40 }, (_, i) => {
    const id = `order-${i}`;
    const key = `c${i % 8}`;
    switch (i % 10) {
      case 0:
        return input(t.orders, id, 'dead-letter:deserialization', key, `{"id":"${id}","total":`, { part: 'value' });
      case 3:
        return input(t.orders, id, 'dead-letter:deserialization', key, Buffer.alloc(0), { part: 'value' });
      case 5:
        return input(t.orders, id, 'dead-letter:processing', key, JSON.stringify({ id, total: -i }), { message: `negative total -${i}` });
      case 7:
        return input(t.orders, id, 'drop', null, JSON.stringify({ id, total: i }));
      default:
        return input(t.orders, id, 'out', key, JSON.stringify({ id, total: i }));
    }
  });
}

function eventsInput(t: MixedTopics): Input[] {
  return Array.from({ length: 20 }, (_, i) => {
    const id = `event-${i}`;
    const bytes = msgpack.serialize({ id, kind: i % 2 === 0 ? 'click' : 'view' });
    if (i % 5 === 2)
      return input(t.events, id, 'dead-letter:deserialization', `e${i}`, bytes.subarray(0, bytes.length - 1 - (i % 3)), { part: 'value' });
    return input(t.events, id, 'out', i % 7 === 0 ? null : `e${i}`, bytes);
  });
}

function paymentsInput(t: MixedTopics): Input[] {
  return Array.from({ length: 20 }, (_, i) => {
    const id = `pay-${i}`;
    const key = `p${i}`;
    const bad = (value: Buffer | string): Input => input(t.payments, id, 'dead-letter:deserialization', key, value, { part: 'value' });
    if (i === 0) return bad(Buffer.alloc(0));
    if (i === 9) return input(t.payments, id, 'out', key, JSON.stringify({ id, amount: i, note: 'n'.repeat(HUGE_BYTES) }));
    if (i === 11) return bad('x'.repeat(HUGE_BYTES));
    if (i % 6 === 1) return bad(JSON.stringify({ id, amount: `${i}.50` }));
    if (i % 6 === 4) return bad(JSON.stringify([id, i]));
    return input(t.payments, id, 'out', key, JSON.stringify({ id, amount: i }));
  });
}

const text = (b: Buffer | null | undefined): string | undefined => (b === null || b === undefined ? undefined : b.toString('utf8'));
const testId = (r: ConsumedRecord): string => text(r.headers[TEST_ID]) ?? '<no test-id>';
const outputId = (r: ConsumedRecord): string => (JSON.parse(text(r.value) ?? 'null') as { id: string }).id;

function count<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  return items.reduce((n, item) => n + (predicate(item) ? 1 : 0), 0);
}

describe('poison input on the real broker', () => {
  it('dead-letters every bad record with exact headers, processes every good one, and the counts add up', async () => {
    const appId = uniqueName('poison');
    const t: MixedTopics = {
      customers: `${appId}-customers`,
      orders: `${appId}-orders`,
      enriched: `${appId}-enriched`,
      events: `${appId}-events`,
      eventsOut: `${appId}-events-out`,
      payments: `${appId}-payments`,
      paymentsOut: `${appId}-payments-out`,
    };
    await createTopics([
      { topic: t.customers, partitions: 4 },
      { topic: t.orders, partitions: 4 },
      { topic: t.enriched, partitions: 4 },
      { topic: t.events, partitions: 2 },
      { topic: t.eventsOut, partitions: 2 },
      { topic: t.payments, partitions: 2, configs: PAYMENT_TOPIC_CONFIGS },
      { topic: t.paymentsOut, partitions: 2, configs: PAYMENT_TOPIC_CONFIGS },
    ]);
    const customers = customersInput(t);
    const inputs = [...customers.good, ...customers.bad, ...ordersInput(t), ...eventsInput(t), ...paymentsInput(t)];
    // The test's own premise: every value meant to fail really fails its serde.
    for (const i of eventsInput(t).filter((e) => e.fate !== 'out')) expect(() => msgpack.deserialize(i.record.value as Buffer)).toThrow();
    for (const i of paymentsInput(t).filter((e) => e.fate !== 'out'))
      expect(() => strictPaymentSerde.deserialize(Buffer.from(i.record.value as string | Buffer))).toThrow();

    const app = await apps.start(mixedTopology(appId, t), { applicationId: appId });
    // Customers first and processed, so every valid order finds its customer (no join misses to account for).
    await produce(
      t.customers,
      customers.good.map((i) => i.record),
    );
    await waitUntil(() => app.stats().engine.tablePuts === customers.good.length, { description: 'customers in the table' });
    const rest = inputs.filter((i) => i.topic !== t.customers || i.fate !== 'table');
    // max.message.bytes limits a record BATCH: send each huge record in its own request.
    const huge = (i: Input): boolean => (i.record.value?.length ?? 0) >= HUGE_BYTES;
    for (const topic of [t.customers, t.orders, t.events, t.payments]) {
      await produce(
        topic,
        rest.filter((i) => i.topic === topic && !huge(i)).map((i) => i.record),
      );
    }
    for (const i of rest.filter(huge)) await produce(i.topic, [i.record]);

    const expected = (fate: Fate | 'dead-letter'): Input[] =>
      inputs.filter((i) => i.fate === fate || (fate === 'dead-letter' && i.fate.startsWith('dead-letter')));
    const dlqTopic = `${appId}-dlq`;
    const outputs = async (): Promise<ConsumedRecord[]> => [
      ...(await readTopic(t.enriched)),
      ...(await readTopic(t.eventsOut)),
      ...(await readTopic(t.paymentsOut)),
    ];
    let deadLetters: ConsumedRecord[] = [];
    let outs: ConsumedRecord[] = [];
    await waitUntil(
      async () => {
        deadLetters = await readTopic(dlqTopic);
        outs = await outputs();
        return deadLetters.length >= expected('dead-letter').length && outs.length >= expected('out').length;
      },
      { timeoutMs: 60_000, description: 'all outputs and dead letters' },
    );
    await waitUntil(() => Object.values(app.stats().engine.processed).reduce((a, b) => a + b, 0) >= inputs.length, {
      description: 'every input counted',
    });
    const engine = app.stats().engine;

    const counts = {
      in: inputs.length,
      out: outs.length,
      tablePuts: engine.tablePuts,
      deadLetters: deadLetters.length,
      drops: engine.nullKeyDrops,
    };
    console.log('mixed input counts', JSON.stringify(counts), 'engine', JSON.stringify(engine));
    expect(counts).toEqual({
      in: 90,
      out: expected('out').length,
      tablePuts: expected('table').length,
      deadLetters: expected('dead-letter').length,
      drops: expected('drop').length,
    });
    expect(counts.in).toBe(counts.out + counts.tablePuts + counts.deadLetters + counts.drops);

    // Exactly the expected records on each side, none twice.
    expect(outs.map(outputId).sort()).toEqual(
      expected('out')
        .map((i) => i.id)
        .sort(),
    );
    expect(deadLetters.map(testId).sort()).toEqual(
      expected('dead-letter')
        .map((i) => i.id)
        .sort(),
    );
    for (const r of await readTopic(t.enriched)) {
      const value = JSON.parse(text(r.value) ?? '') as { customer: string };
      expect(value.customer).toBe(`Customer ${text(r.key)?.slice(1)}`);
    }

    // The app's own counters agree.
    expect(engine.deadLettered).toBe(counts.deadLetters);
    expect(engine.errors.deserialization['dead-letter']).toBe(count(inputs, (i) => i.fate === 'dead-letter:deserialization'));
    expect(engine.errors.processing['dead-letter']).toBe(count(inputs, (i) => i.fate === 'dead-letter:processing'));
    expect(engine.errors.deserialization.fail + engine.errors.processing.fail + engine.skipped).toBe(0);
    expect(engine.joinMisses).toBe(0);
    for (const topic of [t.customers, t.orders, t.events, t.payments])
      expect(engine.processed[topic]).toBe(count(inputs, (i) => i.topic === topic));

    // Every header of every dead letter, against where the original record really was.
    const positions = new Map<string, ConsumedRecord>();
    for (const topic of [t.customers, t.orders, t.events, t.payments]) for (const r of await readTopic(topic)) positions.set(testId(r), r);
    for (const letter of deadLetters) {
      const id = testId(letter);
      const source = positions.get(id) as ConsumedRecord;
      const spec = inputs.find((i) => i.id === id) as Input;
      const where = `${source.topic}:${source.partition}@${source.offset}`;
      expect(letter.key?.equals(source.key ?? Buffer.alloc(0)) ?? source.key === null).toBe(true);
      expect(letter.value?.equals(source.value as Buffer)).toBe(true);
      expect(letter.timestamp).toBe(source.timestamp);
      const headers = Object.fromEntries(Object.entries(letter.headers).map(([k, v]) => [k, v.toString('utf8')]));
      const h = DeadLetterHeaders;
      const processing = spec.fate === 'dead-letter:processing';
      expect(headers).toEqual({
        [TEST_ID]: id,
        [h.stage]: processing ? 'processing' : 'deserialization',
        [h.errorClass]: processing ? 'RangeError' : 'DeserializationError',
        [h.errorMessage]:
          spec.failure !== undefined && 'message' in spec.failure
            ? spec.failure.message
            : expect.stringContaining(
                `Cannot deserialize the ${spec.failure !== undefined && 'part' in spec.failure ? spec.failure.part : '?'} of ${where}`,
              ),
        [h.sourceTopic]: source.topic,
        [h.sourcePartition]: String(source.partition),
        [h.sourceOffset]: String(source.offset),
        [h.sourceTimestamp]: String(source.timestamp),
        [h.applicationId]: appId,
      });
    }
    expect(deadLetters.find((d) => testId(d) === 'pay-11')?.value?.length).toBe(HUGE_BYTES);
    expect(outs.find((o) => outputId(o) === 'pay-9')?.value?.length).toBeGreaterThan(HUGE_BYTES);

    // The table kept the last good value of c1, and the null-key record is nowhere.
    const table = await readLocalStore(app, 'customers');
    expect(Object.fromEntries(table)).toEqual(
      Object.fromEntries(customers.good.map((i) => [i.record.key, { name: `Customer ${i.record.key?.slice(1)}` }])),
    );

    // Restoration from the topic into a fresh state dir: the bad table records are skipped again (dead-letter
    // policy: their dead letters were written at first processing), never stored, never dead-lettered twice.
    await app.stop();
    const dlqEnd = await withAdmin((admin) => admin.fetchEndOffsets(dlqTopic));
    const restored = await apps.start(mixedTopology(appId, t), { applicationId: appId });
    const restoredTable = await readLocalStore(restored, 'customers');
    expect(Object.fromEntries(restoredTable)).toEqual(Object.fromEntries(table));
    expect(restored.stats().restoration.customers?.restoredRecords ?? -1).toBeGreaterThan(0);
    expect(restored.stats().engine.deadLettered).toBe(0);
    expect(await withAdmin((admin) => admin.fetchEndOffsets(dlqTopic))).toEqual(dlqEnd);
    console.log('restored customers', JSON.stringify(restored.stats().restoration));
  });
});
