import { describe, expect, it } from 'vitest';
import { DeadLetterHeaders, deadLetterRecord, withoutOriginalRecord } from '../../common/dead-letters.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import { TARGET_TOPIC_HEADER } from '../../common/dead-letters.js';
import { DuplicateLetters, parseDeadLetter, REPLAYED_FROM_HEADER, replayRecord, replayRefusal, type DeadLetter } from './dead-letter.js';

const original: ConsumedRecord = {
  topic: 'orders',
  partition: 3,
  offset: 41,
  timestamp: 1_700_000_000_123,
  key: Buffer.from('k1'),
  value: Buffer.from('{not json'),
  headers: { 'trace-id': Buffer.from('abc') },
};

/** The dead letter as the engine writes it, then as read back from the DLQ topic. */
function readBack(letter: ProducedRecord, offset = 7): ConsumedRecord {
  return {
    topic: 'app-dlq',
    partition: 0,
    offset,
    timestamp: letter.timestamp,
    key: letter.key,
    value: letter.value,
    headers: letter.headers,
  };
}

describe('parseDeadLetter / replayRecord', () => {
  it('round-trips an engine dead letter to a record equal to the original (plus replayed-from)', () => {
    const dlq = readBack(deadLetterRecord('app-dlq', 'app', 'deserialization', original, new SyntaxError('bad')));
    const parsed = parseDeadLetter(dlq);
    expect(parsed).toMatchObject({ ok: true, letter: { stage: 'deserialization', topic: 'orders', sourcePartition: 3, sourceOffset: 41 } });
    if (!parsed.ok) return;
    const replay = replayRecord(parsed.letter, 6);
    expect(replay).toEqual({
      topic: 'orders',
      partition: 3,
      timestamp: original.timestamp,
      key: original.key,
      value: original.value,
      headers: { 'trace-id': Buffer.from('abc'), [REPLAYED_FROM_HEADER]: Buffer.from('app-dlq:0:7') },
    });
  });

  it('lets the key decide when the original partition no longer exists', () => {
    const parsed = parseDeadLetter(readBack(deadLetterRecord('app-dlq', 'app', 'processing', original, new Error('x'))));
    expect(parsed.ok && replayRecord(parsed.letter, 2).partition).toBeUndefined();
  });

  it('replays production dead letters to the topic they were meant for, partition by key', () => {
    const headers = {
      [DeadLetterHeaders.stage]: Buffer.from('production'),
      [TARGET_TOPIC_HEADER]: Buffer.from('enriched'),
      [DeadLetterHeaders.errorClass]: Buffer.from('KafkaProduceError'),
    };
    const parsed = parseDeadLetter({ ...original, topic: 'app-dlq', headers });
    expect(parsed).toMatchObject({ ok: true, letter: { stage: 'production', topic: 'enriched', sourcePartition: undefined } });
    if (!parsed.ok) return;
    const replay = replayRecord(parsed.letter, 4);
    expect(replay.topic).toBe('enriched');
    expect(replay.partition).toBeUndefined();
    expect(Object.keys(replay.headers)).toEqual([REPLAYED_FROM_HEADER]);
  });

  it('reports what is missing instead of guessing', () => {
    const full = deadLetterRecord('app-dlq', 'app', 'deserialization', original, new Error('x')).headers;
    const without = (name: string): ConsumedRecord => {
      const headers = { ...full };
      delete headers[name];
      return { ...original, headers };
    };
    const reason = (record: ConsumedRecord): string => {
      const parsed = parseDeadLetter(record);
      return parsed.ok ? 'ok' : parsed.reason;
    };
    expect(reason({ ...original, headers: {} })).toMatch(/no tributary.stage header/);
    expect(reason(without(DeadLetterHeaders.sourceTopic))).toMatch(/no tributary.source.topic/);
    expect(reason(without(DeadLetterHeaders.sourcePartition))).toMatch(/source.partition is missing/);
    expect(reason(without(DeadLetterHeaders.sourceOffset))).toMatch(/source.offset is missing/);
    expect(reason({ ...original, headers: { ...full, [DeadLetterHeaders.sourcePartition]: Buffer.from('-1') } })).toMatch(
      /"-1", not a partition/,
    );
    expect(reason({ ...original, headers: { ...full, [DeadLetterHeaders.stage]: Buffer.from('later') } })).toMatch(
      /unknown tributary.stage "later"/,
    );
    expect(reason({ ...original, headers: { [DeadLetterHeaders.stage]: Buffer.from('production') } })).toMatch(
      /without tributary.target.topic/,
    );
  });
});

describe('what replay refuses and recognises', () => {
  const parse = (record: ConsumedRecord): DeadLetter => {
    const parsed = parseDeadLetter(record);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.letter;
  };

  it('refuses a letter naming an internal topic of the application, or holding re-serialized bytes', () => {
    const internal = parse(
      readBack(deadLetterRecord('app-dlq', 'app', 'processing', { ...original, topic: 'app-by-customer-repartition' }, new Error('x'))),
    );
    expect(replayRefusal(internal, 'app')).toMatch(/internal topic of app/);
    expect(replayRefusal(internal, 'other-app')).toBeUndefined();
    const pending = deadLetterRecord('app-dlq', 'app', 'processing', { ...original, topic: 'app-x-repartition' }, new Error('x'), {
      source: original,
    });
    const reserialized = parse(readBack(withoutOriginalRecord(pending)));
    expect(reserialized.topic).toBe('orders');
    expect(replayRefusal(reserialized, 'app')).toMatch(/re-serialized/);
    expect(
      replayRefusal(parse(readBack(deadLetterRecord('app-dlq', 'app', 'processing', original, new Error('x')))), 'app'),
    ).toBeUndefined();
  });

  it('recognises copies of a letter for the same source record, whatever their stage or position in the DLQ', () => {
    const copies = new DuplicateLetters();
    const first = parse(readBack(deadLetterRecord('app-dlq', 'app', 'processing', original, new Error('a')), 1));
    const again = parse(readBack(deadLetterRecord('app-dlq', 'app', 'processing', original, new Error('a')), 9));
    const other = parse(readBack(deadLetterRecord('app-dlq', 'app', 'processing', { ...original, offset: 42 }, new Error('a')), 10));
    const production = parse(
      readBack(
        deadLetterRecord(
          'app-dlq',
          'app',
          'production',
          { topic: 'out', timestamp: 1, key: null, value: null, headers: {} },
          new Error('p'),
        ),
      ),
    );
    expect([first, again, other, production, production].map((l) => copies.isDuplicate(l))).toEqual([false, true, false, false, false]);
    expect(first.identity).toBe('orders:3:41');
  });
});
