import { describe, expect, it } from 'vitest';
import { KafkaProduceError } from '../../errors.js';
import { resolveErrorPolicy, type ErrorAction } from '../engine/error-policy.js';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import { EngineMetrics } from '../engine/metrics.js';
import { topicPartitionId, type ProducedRecord } from '../../common/records.js';
import { acknowledgedOffsets, type AcknowledgedOffsets } from '../kafka/produce-acks.js';
import { silentLogger } from '../../common/logger.js';
import { OutputSender, type RecordSink } from './output-sender.js';
import { TARGET_TOPIC_HEADER } from '../../common/dead-letters.js';

/** Fails the first `failures` sends (and every send with a record of `failTopic`), then records what it is given. */
class FlakySink implements RecordSink {
  readonly calls: (readonly ProducedRecord[])[] = [];
  readonly delivered: ProducedRecord[] = [];
  constructor(
    private failures: number,
    private readonly failTopic?: string,
  ) {}
  async send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    this.calls.push(records);
    if (this.failures > 0 || (this.failTopic !== undefined && records.some((r) => r.topic === this.failTopic))) {
      this.failures--;
      throw new KafkaProduceError([records[0].topic], { cause: new Error('broker said no') });
    }
    // Every partition's log starts at 100 before each call: base offset 100.
    const partitions = new Set(records.flatMap((r) => (r.partition === undefined ? [] : [`${r.topic}\u0000${r.partition}`])));
    const acks = [...partitions].map((tp) => {
      const [topic, partition] = tp.split('\u0000');
      return { topic, partition: Number(partition), baseOffset: 100 };
    });
    this.delivered.push(...records);
    return acknowledgedOffsets(records, acks);
  }
}

const record = (topic: string, key: string): ProducedRecord => ({
  topic,
  timestamp: 5,
  key: Buffer.from(key),
  value: Buffer.from(`v-${key}`),
  headers: { h: Buffer.from('x') },
});

function sender(
  sink: RecordSink,
  production: ErrorAction,
  retries = 2,
  changelogTopics?: ReadonlySet<string>,
): { sender: OutputSender; metrics: EngineMetrics } {
  const metrics = new EngineMetrics();
  const policy = resolveErrorPolicy('app', { production });
  return {
    sender: new OutputSender({
      producer: sink,
      policy,
      applicationId: 'app',
      metrics,
      logger: silentLogger,
      retries,
      initialBackoffMs: 1,
      changelogTopics,
    }),
    metrics,
  };
}

/** Fails every send holding a record of `topic` whose key is `key`. */
class PoisonSink extends FlakySink {
  constructor(
    private readonly poisonKey: string,
    private readonly poisonTopic: string,
  ) {
    super(0);
  }
  override async send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    if (records.some((r) => r.topic === this.poisonTopic && r.key?.toString() === this.poisonKey)) {
      this.calls.push(records);
      throw new KafkaProduceError([this.poisonTopic], { cause: new Error('MESSAGE_TOO_LARGE') });
    }
    return super.send(records);
  }
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

  it('resolves with the position after the acknowledged records of each partition the records named', async () => {
    const { sender: s } = sender(new FlakySink(1), 'fail', 1);
    const acked = await s.send([
      { ...record('app-sums-changelog', 'a'), partition: 1 },
      { ...record('app-sums-changelog', 'b'), partition: 1 },
      record('out', 'c'),
    ]);
    expect(acked).toEqual(new Map([[topicPartitionId('app-sums-changelog', 1), 102]]));
  });

  it.each(['log-and-skip', 'dead-letter'] as const)(
    "under '%s', changelog records of a failed send are sent again on their own; the policy takes the other records",
    async (production) => {
      const changelog = 'app-sums-changelog';
      const sink = new PoisonSink('too-big', 'out');
      const { sender: s, metrics } = sender(sink, production, 0, new Set([changelog]));
      const acked = await s.send([
        { ...record(changelog, 'a'), partition: 0 },
        record('out', 'too-big'),
        { ...record(changelog, 'b'), partition: 0 },
      ]);
      expect(sink.delivered.filter((r) => r.topic === changelog).map((r) => r.key?.toString())).toEqual(['a', 'b']);
      expect(acked).toEqual(new Map([[topicPartitionId(changelog, 0), 102]]));
      expect(sink.delivered.some((r) => r.topic === 'out')).toBe(false);
      if (production === 'log-and-skip') expect(metrics.snapshot().skipped).toBe(1);
      else expect(sink.delivered.filter((r) => r.topic === 'app-dlq').map((r) => r.key?.toString())).toEqual(['too-big']);
    },
  );

  it('changelog records Kafka refuses again fail the send whatever the production policy (a store must not lose a write)', async () => {
    const changelog = 'app-sums-changelog';
    const { sender: s, metrics } = sender(new FlakySink(0, changelog), 'log-and-skip', 0, new Set([changelog]));
    await expect(s.send([{ ...record(changelog, 'a'), partition: 0 }, record('out', 'x')])).rejects.toBeInstanceOf(KafkaProduceError);
    expect(metrics.snapshot().skipped).toBe(0);
    expect(metrics.snapshot().errors.production.fail).toBe(1);
  });
});
