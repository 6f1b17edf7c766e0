/**
 * Random bytes into every kind of source, through the same StreamTask/GlobalTableUpdater code as the Kafka runtime
 * (TopologyTestDriver). topology/serdes.test.ts covers the serdes alone; this covers what the engine does with their
 * failures: never a crash, never an untyped error, every record accounted for exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeserializationError, TributaryError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { ErrorAction } from '../engine/error-policy.js';
import { TopologyTestDriver } from '../test-driver/topology-test-driver.js';

const SOURCES = ['json-in', 'msgpack-in', 'validated-in', 'table-in', 'global-in'] as const;
type Source = (typeof SOURCES)[number];

const validated = Serdes.custom<{ n: number }>({
  name: 'validated',
  serialize: (v) => Buffer.from(JSON.stringify(v)),
  deserialize(bytes) {
    const v = JSON.parse(bytes.toString('utf8')) as { n?: unknown };
    if (typeof v?.n !== 'number') throw new TypeError('n must be a number');
    return { n: v.n };
  },
});

function topology(deserialization: ErrorAction) {
  const b = new StreamsBuilder();
  const errorPolicy = { deserialization };
  b.stream('json-in', { key: Serdes.string(), value: Serdes.json(), errorPolicy }).to('json-out', { value: Serdes.json() });
  b.stream('msgpack-in', { key: Serdes.string(), value: Serdes.msgpack(), errorPolicy }).to('msgpack-out', { value: Serdes.msgpack() });
  b.stream('validated-in', { key: Serdes.string(), value: validated, errorPolicy }).to('validated-out', { value: validated });
  b.table('table-in', { key: Serdes.string(), value: Serdes.json(), store: 'table', errorPolicy });
  b.globalTable('global-in', { key: Serdes.string(), value: Serdes.msgpack(), store: 'global', errorPolicy });
  return b.build({ applicationId: 'poison' });
}

const bytesArb = fc.option(
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.json().map((j) => Buffer.from(j)),
  ),
  { nil: null, freq: 6 },
);
const recordArb = fc.record({ source: fc.constantFrom<Source>(...SOURCES), key: bytesArb, value: bytesArb });

describe('random bytes through the engine', () => {
  it('dead-letter policy: never throws; every record is output, stored, deleted or dead-lettered, exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 25 }), async (records) => {
        const driver = new TopologyTestDriver(topology('dead-letter'), { partitions: 2 });
        try {
          for (const [i, r] of records.entries()) {
            await driver
              .inputTopic(r.source, Serdes.buffer(), Serdes.buffer())
              .pipeRaw(r.key, r.value, { headers: { i: Buffer.from(String(i)) } });
          }
          const dead = driver.outputTopic(driver.deadLetterTopic, Serdes.buffer(), Serdes.buffer()).readRecords();
          for (const d of dead) {
            const original = records[Number(d.headers.i?.toString())];
            expect(d.headers[DeadLetterHeaders.errorClass]?.toString()).toBe('DeserializationError');
            expect(d.headers[DeadLetterHeaders.sourceTopic]?.toString()).toBe(original.source);
            expect(d.key === null ? null : Buffer.compare(d.key, original.key ?? Buffer.alloc(0))).toBe(original.key === null ? null : 0);
            expect(d.value === null ? null : Buffer.compare(d.value, original.value ?? Buffer.alloc(0))).toBe(
              original.value === null ? null : 0,
            );
          }
          const out = ['json-out', 'msgpack-out', 'validated-out'].reduce(
            (n, t) => n + driver.outputTopic(t, Serdes.buffer(), Serdes.buffer()).readRecords().length,
            0,
          );
          const m = driver.metrics.snapshot();
          expect(out + dead.length + m.tablePuts + m.tableDeletes).toBe(records.length);
          expect(m.deadLettered).toBe(dead.length);
        } finally {
          await driver.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it("'fail' policy: a bad record rejects with a typed DeserializationError, nothing else ever escapes", async () => {
    await fc.assert(
      fc.asyncProperty(recordArb, async (r) => {
        const driver = new TopologyTestDriver(topology('fail'), { partitions: 2 });
        try {
          await driver.inputTopic(r.source, Serdes.buffer(), Serdes.buffer()).pipeRaw(r.key, r.value);
        } catch (error) {
          expect(error).toBeInstanceOf(DeserializationError);
          expect((error as TributaryError).code).toBe('TRIBUTARY_DESERIALIZATION');
        } finally {
          await driver.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
