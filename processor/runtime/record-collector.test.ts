import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../common/logger.js';
import { defaultPartition } from '../../common/partitioner.js';
import { topicPartitionId, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import type { AcknowledgedOffsets } from '../kafka/produce-acks.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import { OutputPartitioner, RecordCollector, type OutputSink } from './record-collector.js';

/** A sink whose sends stay in flight until the test settles them. */
class HeldSink implements OutputSink {
  readonly calls: (readonly ProducedRecord[])[] = [];
  private readonly pending: { resolve: (acks: AcknowledgedOffsets) => void; reject: (error: unknown) => void }[] = [];

  send(records: readonly ProducedRecord[]): Promise<AcknowledgedOffsets> {
    this.calls.push(records);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  get inFlight(): number {
    return this.pending.length;
  }

  ack(acks: ReadonlyMap<TopicPartitionId, number> = new Map()): void {
    this.pending.shift()?.resolve(acks);
  }

  fail(error: unknown): void {
    this.pending.shift()?.reject(error);
  }
}

const record = (topic: string, key: string | null, value = 'v', partition?: number): ProducedRecord => ({
  topic,
  partition,
  timestamp: 1,
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from(value),
  headers: {},
});

const keysOf = (records: readonly ProducedRecord[]) => records.map((r) => r.key?.toString());
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function partitionerFor(counts: Record<string, number>): Promise<OutputPartitioner> {
  const partitioner = new OutputPartitioner();
  await partitioner.learn(Object.keys(counts), new Map(Object.entries(counts)), new FakeCluster(), silentLogger);
  return partitioner;
}

function collector(sink: OutputSink, partitioner = new OutputPartitioner(), maxQueuedBytes?: number) {
  const failures: unknown[] = [];
  return { collector: new RecordCollector({ sender: sink, partitioner, onFailure: (e) => failures.push(e), maxQueuedBytes }), failures };
}

describe('OutputPartitioner', () => {
  it('gives keyed records the murmur2 partition of their key, as the default partitioner does', async () => {
    const partitioner = await partitionerFor({ out: 7 });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 20 }), (keys) => {
        const records = keys.map((key) => ({ ...record('out', null), key: Buffer.from(key) }));
        partitioner.assign(records);
        expect(records.map((r) => r.partition)).toEqual(keys.map((key) => defaultPartition(Buffer.from(key), 7)));
      }),
    );
  });

  it('leaves explicit partitions, keyless records and topics of unknown count to the producer', async () => {
    const partitioner = await partitionerFor({ out: 4 });
    const records = [record('out', 'k', 'v', 3), record('out', null), record('elsewhere', 'k')];
    partitioner.assign(records);
    expect(records.map((r) => r.partition)).toEqual([3, undefined, undefined]);
  });

  it('asks the cluster only for counts it was not given, and carries on when that lookup fails', async () => {
    const cluster = new FakeCluster().createTopic('late', 3);
    const partitioner = new OutputPartitioner();
    await partitioner.learn(['out', 'late', 'missing'], new Map([['out', 2]]), cluster, silentLogger);
    const records = [record('out', 'k'), record('late', 'k'), record('missing', 'k')];
    partitioner.assign(records);
    expect(records.map((r) => r.partition)).toEqual([
      defaultPartition(Buffer.from('k'), 2),
      defaultPartition(Buffer.from('k'), 3),
      undefined,
    ]);

    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
    const failing = Object.assign(new FakeCluster(), {
      describeTopicPartitions: () => Promise.reject(new Error('no admin')),
    });
    const blind = new OutputPartitioner();
    await blind.learn(['late'], new Map(), failing, logger);
    expect(warnings).toHaveLength(1);
  });
});

describe('RecordCollector', () => {
  it('keeps one send in flight and sends what was added meanwhile together, in order', async () => {
    const sink = new HeldSink();
    const { collector: c } = collector(sink);
    c.add([record('out', 'a')]);
    c.add([record('out', 'b'), record('out', 'c')]);
    c.add([record('out', 'd')]);
    expect(sink.calls.map(keysOf)).toEqual([['a']]);
    sink.ack();
    await settle();
    expect(sink.calls.map(keysOf)).toEqual([['a'], ['b', 'c', 'd']]);
    expect(sink.inFlight).toBe(1);
  });

  it('flush() resolves only once everything added so far is acknowledged', async () => {
    const sink = new HeldSink();
    const { collector: c } = collector(sink);
    c.add([record('out', 'a')]);
    c.add([record('out', 'b')]);
    let flushed = false;
    const flush = c.flush().then(() => (flushed = true));
    sink.ack();
    await settle();
    expect(flushed).toBe(false);
    sink.ack();
    await flush;
    expect(sink.calls.map(keysOf)).toEqual([['a'], ['b']]);
  });

  it('makeRoom() waits for the send in flight only while more than the bound is queued behind it', async () => {
    const sink = new HeldSink();
    const { collector: c } = collector(sink, new OutputPartitioner(), 10);
    c.add([record('out', 'a', 'x')]);
    c.add([record('out', 'b', 'small')]); // 6 bytes queued
    await c.makeRoom();
    c.add([record('out', 'c', 'large value')]); // 18 bytes queued
    let roomy = false;
    const room = c.makeRoom().then(() => (roomy = true));
    await settle();
    expect(roomy).toBe(false);
    sink.ack(); // the queue goes out as the next send
    await room;
    expect(c.queuedByteCount).toBe(0);
    expect(sink.calls.map(keysOf)).toEqual([['a'], ['b', 'c']]);
  });

  it('after a failed send sends nothing more, reports the failure once and throws it from flush() and makeRoom()', async () => {
    const sink = new HeldSink();
    const { collector: c, failures } = collector(sink);
    const error = new Error('not acknowledged');
    c.add([record('out', 'a')]);
    c.add([record('out', 'b')]);
    sink.fail(error);
    await settle();
    c.add([record('out', 'c')]);
    await expect(c.flush()).rejects.toBe(error);
    await expect(c.makeRoom()).rejects.toBe(error);
    expect(failures).toEqual([error]);
    expect(sink.calls.map(keysOf)).toEqual([['a']]);
  });

  it('gathers the acknowledged positions of every send until takeAcknowledged(), the larger one per partition', async () => {
    const sink = new HeldSink();
    const { collector: c } = collector(sink);
    const p0 = topicPartitionId('app-s-changelog', 0);
    const p1 = topicPartitionId('app-s-changelog', 1);
    c.add([record('app-s-changelog', 'a', 'v', 0)]);
    c.add([record('app-s-changelog', 'b', 'v', 1)]);
    sink.ack(new Map([[p0, 5]]));
    await settle();
    sink.ack(
      new Map([
        [p0, 4],
        [p1, 9],
      ]),
    );
    await c.flush();
    expect(c.takeAcknowledged()).toEqual(
      new Map([
        [p0, 5],
        [p1, 9],
      ]),
    );
    expect(c.takeAcknowledged()).toEqual(new Map());
  });
});
