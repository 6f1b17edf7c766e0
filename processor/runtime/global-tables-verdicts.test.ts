/**
 * The bootstrap's decoder with the global dead-letter writer's verdicts (global-tables.ts `reportingVerdicts`): bad
 * records are reported, and the good ones are still read in place (`storesAsJsonText` kept: without it a bootstrap
 * built every record).
 */
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, RecordCursor, TopicPartitionId } from '../../common/records.js';
import { Serdes } from '../../topology/serdes.js';
import type { TableSourceSpec } from '../../topology/specs.js';
import { createTableRecordDecoder } from '../engine/table-decoder.js';
import { reportingVerdicts } from './global-tables.js';

const spec: TableSourceSpec = { topic: 'customers', store: 'customers', nodeId: 0, keySerde: Serdes.string(), valueSerde: Serdes.json() };

const record = (value: string): ConsumedRecord => ({
  topic: 'customers',
  partition: 2,
  offset: 7,
  timestamp: 1,
  key: Buffer.from('c1'),
  value: Buffer.from(value),
  headers: {},
});

/** A cursor standing on `r` (its key and value as whole buffers). */
const cursorAt = (r: ConsumedRecord): RecordCursor => ({
  next: () => false,
  offset: r.offset,
  timestamp: r.timestamp,
  keyBytes: r.key,
  keyStart: 0,
  keyEnd: r.key?.length ?? 0,
  valueBytes: r.value,
  valueStart: 0,
  valueEnd: r.value?.length ?? 0,
  record: () => r,
});

describe('reportingVerdicts', () => {
  it('reads good records in place as the plain decoder does and reports the bad ones it skips', async () => {
    const decoder = createTableRecordDecoder(spec, { applicationId: 'app', errorPolicy: { deserialization: 'dead-letter' } });
    const bad: [TopicPartitionId, number][] = [];
    const reporting = reportingVerdicts(decoder, { bad: (tp, r) => void bad.push([tp, r.offset]) });
    expect(decoder.storesAsJsonText).toBeDefined();
    expect(reporting.storesAsJsonText).toBe(decoder.storesAsJsonText);
    expect(reporting.storesAsJsonText?.(cursorAt(record('{"name":"a"}')))).toBe(true);
    expect(reporting.storesAsJsonText?.(cursorAt(record('{"name":')))).toBe(false);
    const broken = record('{"name":');
    let error: unknown;
    try {
      reporting.decode(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeDefined();
    expect(await reporting.onDecodeError(broken, error)).toBe('skip');
    expect(bad).toEqual([['customers:2', 7]]);
  });
});
