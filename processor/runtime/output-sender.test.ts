import { describe, expect, it } from 'vitest';
import { KafkaProduceError } from '../../errors.js';
import { resolveErrorPolicy, type ErrorAction } from '../engine/error-policy.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { EngineMetrics } from '../engine/metrics.js';
import type { ProducedRecord } from '../../common/records.js';
import { silentLogger } from '../../common/logger.js';
import { OutputSender, type RecordSink } from './output-sender.js';
import { TARGET_TOPIC_HEADER } from '../../common/dead-letters.js';

/** Fails the first `failures` sends, then records what it is given. */
class FlakySink implements RecordSink {
  readonly calls: (readonly ProducedRecord[])[] = [];
  readonly delivered: ProducedRecord[] = [];
  constructor(
    private failures: number,
    private readonly failTopic?: string,
  ) {}
  async send(records: readonly ProducedRecord[]): Promise<void> {
    this.calls.push(records);
    if (this.failures > 0 || (this.failTopic !== undefined && records.some((r) => r.topic === this.failTopic))) {
      this.failures--;
      throw new KafkaProduceError([records[0].topic], { cause: new Error('broker said no') });
    }
    this.delivered.push(...records);
  }
}

const record = (topic: string, key: string): ProducedRecord => ({
  topic,
  timestamp: 5,
  key: Buffer.from(key),
  value: Buffer.from(`v-${key}`),
  headers: { h: Buffer.from('x') },
});

function sender(sink: RecordSink, production: ErrorAction, retries = 2): { sender: OutputSender; metrics: EngineMetrics } {
  const metrics = new EngineMetrics();
  const policy = resolveErrorPolicy('app', { production });
  return {
    sender: new OutputSender({ producer: sink, policy, applicationId: 'app', metrics, logger: silentLogger, retries, initialBackoffMs: 1 }),
    metrics,
  };
}

describe('OutputSender', () => {
  it('retries a failed send and counts nothing as an error when a retry succeeds', async () => {
    const sink = new FlakySink(2);
    const { sender: s, metrics } = sender(sink, 'fail', 2);
    await s.send([record('out', 'a'), record('out', 'b')]);
    expect(sink.calls).toHaveLength(3);
    expect(sink.delivered.map((r) => r.key?.toString())).toEqual(['a', 'b']);
    expect(s.sent).toBe(2);
    expect(metrics.snapshot().errors.production.fail).toBe(0);
  });

  it("policy 'fail' rethrows KafkaProduceError after the retries", async () => {
    const sink = new FlakySink(10);
    const { sender: s, metrics } = sender(sink, 'fail', 1);
    await expect(s.send([record('out', 'a')])).rejects.toBeInstanceOf(KafkaProduceError);
    expect(sink.calls).toHaveLength(2);
    expect(metrics.snapshot().errors.production.fail).toBe(1);
  });

  it("policy 'log-and-skip' drops the records and counts them", async () => {
    const { sender: s, metrics } = sender(new FlakySink(10), 'log-and-skip', 0);
    await s.send([record('out', 'a')]);
    expect(s.sent).toBe(0);
    expect(metrics.snapshot().skipped).toBe(1);
  });

  it("policy 'dead-letter' writes the original bytes to the DLQ with the failure and target topic in headers", async () => {
    const sink = new FlakySink(0, 'out');
    const { sender: s, metrics } = sender(sink, 'dead-letter', 0);
    await s.send([record('out', 'a')]);
    expect(sink.delivered).toHaveLength(1);
    const [dead] = sink.delivered;
    expect(dead.topic).toBe('app-dlq');
    expect(dead.key?.toString()).toBe('a');
    expect(dead.value?.toString()).toBe('v-a');
    expect(dead.headers.h.toString()).toBe('x');
    expect(dead.headers[DeadLetterHeaders.stage].toString()).toBe('production');
    expect(dead.headers[DeadLetterHeaders.errorClass].toString()).toBe('KafkaProduceError');
    expect(dead.headers[TARGET_TOPIC_HEADER].toString()).toBe('out');
    expect(metrics.snapshot().deadLettered).toBe(1);
  });

  it('sends nothing for an empty cycle', async () => {
    const sink = new FlakySink(0);
    await sender(sink, 'fail').sender.send([]);
    expect(sink.calls).toHaveLength(0);
  });

  it('counts the dead letters among acknowledged records, per stage and source topic; a failed send counts none', async () => {
    const letter = (stage: string, source: string): ProducedRecord => ({
      ...record('app-dlq', source),
      headers: { [DeadLetterHeaders.stage]: Buffer.from(stage), [DeadLetterHeaders.sourceTopic]: Buffer.from(source) },
    });
    const failing = sender(new FlakySink(10), 'fail', 0);
    await expect(failing.sender.send([letter('processing', 'orders')])).rejects.toBeInstanceOf(KafkaProduceError);
    expect(failing.metrics.snapshot().deadLettered).toBe(0);
    const { sender: s, metrics } = sender(new FlakySink(0), 'fail');
    await s.send([record('out', 'a'), letter('processing', 'orders'), letter('deserialization', 'orders'), letter('processing', 'orders')]);
    expect(metrics.snapshot().deadLetteredBy).toEqual({ deserialization: { orders: 1 }, processing: { orders: 2 }, production: {} });
  });
});
