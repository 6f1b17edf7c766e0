import { describe, expect, it } from 'vitest';
import type { TableSourceSpec } from '../../topology/specs.js';
import { Serdes } from '../../topology/serdes.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { EngineMetrics } from './metrics.js';
import { createTableRecordDecoder } from './table-decoder.js';

const spec: TableSourceSpec = { topic: 'customers', store: 'customers', nodeId: 0, keySerde: Serdes.string(), valueSerde: Serdes.json() };
const bad: ConsumedRecord = {
  topic: 'customers',
  partition: 1,
  offset: 7,
  timestamp: 5,
  key: Buffer.from('c1'),
  value: Buffer.from('{oops'),
  headers: {},
};

function decodeError(record: ConsumedRecord): unknown {
  try {
    createTableRecordDecoder(spec, { applicationId: 'app' }).decode(record);
  } catch (error) {
    return error;
  }
  throw new Error('expected the record to fail decoding');
}

describe('createTableRecordDecoder during restoration', () => {
  it('skips a bad record that was processed before (its dead letter exists), and fails under the fail policy', () => {
    expect(createTableRecordDecoder(spec, { applicationId: 'app' }).onDecodeError(bad, decodeError(bad))).toBe('skip');
    const strict = createTableRecordDecoder(spec, { applicationId: 'app', errorPolicy: { deserialization: 'fail' } });
    expect(strict.onDecodeError(bad, decodeError(bad))).toBe('fail');
  });

  it('dead-letters a bad record nobody processed yet, and skips it only once the dead letter is acknowledged', async () => {
    const sent: ProducedRecord[] = [];
    let acknowledge: () => void = () => {};
    const metrics = new EngineMetrics();
    const decoder = createTableRecordDecoder(spec, {
      applicationId: 'app',
      metrics,
      deadLetters: (letters) => {
        sent.push(...letters);
        return new Promise<void>((resolve) => (acknowledge = resolve));
      },
    });
    let decided: string | undefined;
    const pending = Promise.resolve(decoder.onDecodeError(bad, decodeError(bad))).then((d) => (decided = d));
    await new Promise((r) => setImmediate(r));
    expect(decided).toBeUndefined(); // not before the ack
    acknowledge();
    await pending;
    expect(decided).toBe('skip');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'app-dlq', key: bad.key, value: bad.value });
    expect(sent[0].headers[DeadLetterHeaders.sourceOffset]?.toString()).toBe('7');
    expect(metrics.snapshot().deadLettered).toBe(1);
  });
});
