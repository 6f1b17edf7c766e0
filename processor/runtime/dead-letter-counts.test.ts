import { describe, expect, it } from 'vitest';
import { KafkaProduceError } from '../../errors.js';
import { deadLetterRecord } from '../../common/dead-letters.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { silentLogger } from '../../common/logger.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { EngineMetrics } from '../engine/metrics.js';
import { DeadLetterCounts } from './dead-letter-counts.js';
import { OutputSender } from './output-sender.js';

const consumed = (topic: string, offset: number): ConsumedRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp: 1,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: {},
});

const output = (topic: string): ProducedRecord => ({ topic, timestamp: 1, key: Buffer.from('k'), value: Buffer.from('v'), headers: {} });

describe('DeadLetterCounts', () => {
  it('counts acknowledged dead letters per stage and source topic, and nothing else', () => {
    const counts = new DeadLetterCounts('app-dlq');
    counts.acknowledged([
      output('out'),
      deadLetterRecord('app-dlq', 'app', 'deserialization', consumed('orders', 1), new Error('bad bytes')),
      deadLetterRecord('app-dlq', 'app', 'deserialization', consumed('orders', 2), new Error('bad bytes')),
      deadLetterRecord('app-dlq', 'app', 'processing', consumed('payments', 3), new TypeError('boom')),
    ]);
    counts.acknowledged([{ ...output('app-dlq'), headers: {} }]); // on the topic but not written by Tributary
    expect(counts.snapshot()).toEqual([
      { stage: 'deserialization', source: 'orders', count: 2 },
      { stage: 'processing', source: 'payments', count: 1 },
      { stage: 'unknown', source: 'unknown', count: 1 },
    ]);
  });

  it('counts production dead letters under the topic the output was meant for, once Kafka acknowledged them', async () => {
    const counts = new DeadLetterCounts('app-dlq');
    const sender = new OutputSender({
      producer: {
        async send(records: readonly ProducedRecord[]) {
          if (records.some((r) => r.topic === 'too-small')) throw new KafkaProduceError(['too-small'], { cause: new Error('too large') });
        },
      },
      policy: resolveErrorPolicy('app', { production: 'dead-letter', deadLetterTopic: 'app-dlq' }),
      applicationId: 'app',
      metrics: new EngineMetrics(),
      logger: silentLogger,
      retries: 0,
      onAcknowledged: (records) => counts.acknowledged(records),
    });
    await sender.send([output('fine')]);
    await sender.send([output('too-small'), output('too-small')]);
    expect(counts.snapshot()).toEqual([{ stage: 'production', source: 'too-small', count: 2 }]);
  });
});
