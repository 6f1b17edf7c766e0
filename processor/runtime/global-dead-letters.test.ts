import { describe, expect, it } from 'vitest';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { ConsumedRecord } from '../../common/records.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { EngineMetrics } from '../engine/metrics.js';
import { electedDeadLetterTopics, globalDeadLetterGroupId } from './dead-letter-ownership.js';
import { GlobalDeadLetterJudge } from './global-dead-letters.js';

function topology() {
  const b = new StreamsBuilder();
  const json = { key: Serdes.string(), value: Serdes.json<{ name: string }>() };
  b.globalTable('regions', { ...json, store: 'regions' });
  b.globalTable('regions', { key: Serdes.string(), value: Serdes.string(), store: 'region-names' });
  b.globalTable('customers', { ...json, store: 'customers-global' });
  b.table('customers', { ...json, store: 'customers' });
  b.globalTable('rates', { ...json, store: 'rates', errorPolicy: { deserialization: 'log-and-skip' } });
  return b.build({ applicationId: 'shop' });
}

const rec = (topic: string, offset: number, key: string | null, value: string): ConsumedRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp: offset,
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from(value),
  headers: {},
});

describe('dead-letter ownership', () => {
  it('elects a writer only for topics no sub-topology reads, under the dead-letter policy', () => {
    expect(electedDeadLetterTopics(topology(), undefined)).toEqual(['regions']);
    expect(electedDeadLetterTopics(topology(), { deserialization: 'fail' })).toEqual([]);
    expect(globalDeadLetterGroupId('shop')).toBe('shop-global-dead-letters');
  });

  it('the elected writer dead-letters each bad record once, as the global tables decode it', () => {
    const metrics = new EngineMetrics();
    const judge = new GlobalDeadLetterJudge(topology(), undefined, metrics);
    expect(judge.topics).toEqual(['regions']);
    const letters = judge.deadLetters([
      rec('regions', 0, 'north', '{"name":"North"}'),
      rec('regions', 1, null, '{"name":"no key"}'),
      rec('regions', 2, 'south', '{"name": South}'),
    ]);
    expect(letters.map((l) => l.headers[DeadLetterHeaders.sourceOffset]?.toString())).toEqual(['1', '2']);
    expect(letters.every((l) => l.topic === 'shop-dlq')).toBe(true);
    expect(metrics.snapshot().errors.deserialization['dead-letter']).toBe(2);
  });
});
