import { describe, expect, it } from 'vitest';
import { ProducerFencedError, TransactionFailedError } from '../../errors.js';
import { topicPartitionId } from '../../common/records.js';
import { transactionError, transactionalIdOf } from './transactional-producer.js';
import { FakeCluster } from './testing/fake-cluster.js';

describe('transactional producer port', () => {
  it('derives the transactional id from the application id and the task id', () => {
    expect(transactionalIdOf('shop', '1_3')).toBe('shop-1_3');
  });

  it('maps kafkajs errors: fencing types anywhere in the chain, timeouts, everything else a failed transaction', () => {
    const fenced = transactionError('t', 'commit', { type: 'UNKNOWN', originalError: { type: 'INVALID_PRODUCER_EPOCH' } });
    expect(fenced).toBeInstanceOf(ProducerFencedError);
    expect(fenced.code).toBe('TRIBUTARY_PRODUCER_FENCED');
    expect(transactionError('t', 'send', { errors: [{ type: 'PRODUCER_FENCED' }] })).toBeInstanceOf(ProducerFencedError);
    const timedOut = transactionError('t', 'init', { type: 'INVALID_TRANSACTION_TIMEOUT' });
    expect(timedOut).toBeInstanceOf(TransactionFailedError);
    expect((timedOut as TransactionFailedError).timedOut).toBe(true);
    expect(timedOut.message).toMatch(/transaction\.max\.timeout\.ms/);
    const other = transactionError('t', 'sendOffsets', new Error('socket closed'));
    expect(other).toBeInstanceOf(TransactionFailedError);
    expect((other as TransactionFailedError).timedOut).toBe(false);
  });

  it('fake cluster: records and offsets land together at commit (then a marker), nothing on abort, older producers fenced', async () => {
    const cluster = new FakeCluster().createTopic('out', 1).createTopic('in', 1);
    const first = cluster.transactionalProducer('app-0_0');
    await first.init();
    const aborted = await first.begin();
    await aborted.send([{ topic: 'out', partition: 0, key: null, value: Buffer.from('a'), timestamp: 1, headers: {} }]);
    await aborted.abort();
    expect(cluster.records('out', 0)).toEqual([]);

    const txn = await first.begin();
    await txn.send([{ topic: 'out', partition: 0, key: null, value: Buffer.from('b'), timestamp: 1, headers: {} }]);
    await txn.sendOffsets('app', new Map([[topicPartitionId('in', 0), 5]]));
    expect(cluster.committed('app').size).toBe(0);
    expect(await txn.commit()).toEqual(new Map([[topicPartitionId('out', 0), 1]]));
    expect(cluster.records('out', 0).map((r) => r.value?.toString())).toEqual(['b']);
    expect(cluster.endOffset('out', 0)).toBe(2);
    expect(cluster.committed('app').get(topicPartitionId('in', 0))).toBe(5);

    const open = await first.begin();
    await open.send([{ topic: 'out', partition: 0, key: null, value: Buffer.from('c'), timestamp: 1, headers: {} }]);
    const second = cluster.transactionalProducer('app-0_0');
    await second.init();
    await expect(open.commit()).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(first.begin()).rejects.toBeInstanceOf(ProducerFencedError);
    expect(cluster.records('out', 0).map((r) => r.value?.toString())).toEqual(['b']);
    expect(cluster.transactions.map((t) => t.outcome)).toEqual(['aborted', 'committed', 'aborted']);
  });
});
