import { describe, expect, it } from 'vitest';
import {
  DeadLetterHeaders,
  deadLetterIdentity,
  deadLetterRecord,
  isInternalTopic,
  isPendingOriginal,
  pendingOriginalPosition,
  withOriginalRecord,
  withoutOriginalRecord,
} from './dead-letters.js';
import type { ConsumedRecord } from './records.js';

const text = (b: Buffer | undefined): string | undefined => b?.toString('utf8');

const userRecord: ConsumedRecord = {
  topic: 'orders',
  partition: 3,
  offset: 41,
  timestamp: 1_700_000_000_123,
  key: Buffer.from('o-1'),
  value: Buffer.from('{"id":"o-1"}'),
  headers: { trace: Buffer.from('t-1') },
};

/** What the first sub-topology wrote to the repartition topic for `userRecord`, as the second reads it. */
const repartitioned: ConsumedRecord = {
  topic: 'shop-by-customer-repartition',
  partition: 1,
  offset: 9,
  timestamp: userRecord.timestamp,
  key: Buffer.from('c-1'),
  value: Buffer.from('{"id":"o-1","reserialized":true}'),
  headers: { trace: Buffer.from('t-1') },
};

describe('isInternalTopic', () => {
  it("names the application's repartition and changelog topics, nothing else", () => {
    expect(isInternalTopic('shop', 'shop-by-customer-repartition')).toBe(true);
    expect(isInternalTopic('shop', 'shop-customers-changelog')).toBe(true);
    expect(isInternalTopic('shop', 'other-by-customer-repartition')).toBe(false);
    expect(isInternalTopic('shop', 'shop-orders')).toBe(false);
    expect(isInternalTopic('shop', 'shop-dlq')).toBe(false);
  });
});

describe('a dead letter for a record that failed after a repartition', () => {
  const pending = deadLetterRecord('shop-dlq', 'shop', 'processing', repartitioned, new RangeError('no'), { source: userRecord });

  it("names the user's record as its source and the internal record it failed on, and waits for the original", () => {
    const h = DeadLetterHeaders;
    expect(text(pending.headers[h.sourceTopic])).toBe('orders');
    expect(text(pending.headers[h.sourcePartition])).toBe('3');
    expect(text(pending.headers[h.sourceOffset])).toBe('41');
    expect(text(pending.headers[h.sourceTimestamp])).toBe(String(userRecord.timestamp));
    expect(text(pending.headers[h.failedAt])).toBe('shop-by-customer-repartition:1@9');
    expect(isPendingOriginal(pending)).toBe(true);
    expect(pendingOriginalPosition(pending)).toEqual({ topic: 'orders', partition: 3, offset: 41, timestamp: userRecord.timestamp });
  });

  it("gets the user's key, value, timestamp and headers byte for byte, keeping the failure headers", () => {
    const original = { ...userRecord, headers: { trace: Buffer.from('t-1'), other: Buffer.from('x') } };
    const letter = withOriginalRecord(pending, original);
    expect(letter).toMatchObject({ topic: 'shop-dlq', key: original.key, value: original.value, timestamp: original.timestamp });
    expect(text(letter.headers.other)).toBe('x');
    expect(text(letter.headers[DeadLetterHeaders.errorClass])).toBe('RangeError');
    expect(letter.headers[DeadLetterHeaders.bytes]).toBeUndefined();
    expect(isPendingOriginal(letter)).toBe(false);
    expect(deadLetterIdentity(letter.headers)).toBe('orders:3:41');
  });

  it('says so when the original is gone, keeping the internal bytes', () => {
    const letter = withoutOriginalRecord(pending);
    expect(text(letter.headers[DeadLetterHeaders.bytes])).toBe('re-serialized');
    expect(letter.value).toEqual(repartitioned.value);
    expect(isPendingOriginal(letter)).toBe(false);
  });
});

describe('deadLetterIdentity', () => {
  it('is the source record, whatever the stage; undefined for production letters', () => {
    const deserialization = deadLetterRecord('d', 'app', 'deserialization', userRecord, new Error('a'));
    const processing = deadLetterRecord('d', 'app', 'processing', userRecord, new Error('b'));
    expect(deadLetterIdentity(deserialization.headers)).toBe('orders:3:41');
    expect(deadLetterIdentity(processing.headers)).toBe(deadLetterIdentity(deserialization.headers));
    const output = { topic: 'out', timestamp: 1, key: null, value: Buffer.from('v'), headers: {} };
    const production = deadLetterRecord('d', 'app', 'production', output, new Error('c'));
    expect(deadLetterIdentity(production.headers)).toBeUndefined();
  });
});
