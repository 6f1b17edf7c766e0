import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicPartitionId, type ConsumedRecord } from '../../common/records.js';
import { DeadLetterLedger, type LedgerWork } from './dead-letter-ledger.js';

const TP = topicPartitionId('customers', 0);

function record(offset: number): ConsumedRecord {
  return {
    topic: 'customers',
    partition: 0,
    offset,
    key: Buffer.from(`k${offset}`),
    value: Buffer.from('{nope'),
    headers: {},
    timestamp: 0,
  };
}

type Step =
  | { kind: 'read'; count: number; pumpMidBatch: boolean }
  | { kind: 'restart'; back: number; ahead: boolean }
  | { kind: 'assign'; owned: boolean }
  | { kind: 'pump' }
  | { kind: 'complete'; index: number }
  | { kind: 'commit' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), count: fc.integer({ min: 1, max: 6 }), pumpMidBatch: fc.boolean() }),
  fc.record({ kind: fc.constant('restart' as const), back: fc.integer({ min: 0, max: 8 }), ahead: fc.boolean() }),
  fc.record({ kind: fc.constant('assign' as const), owned: fc.boolean() }),
  fc.constant({ kind: 'pump' as const }),
  fc.record({ kind: fc.constant('complete' as const), index: fc.nat() }),
  fc.constant({ kind: 'commit' as const }),
);

/**
 * One partition, its log, the instance's reader, the group (its committed offset) and the writer's work in flight,
 * driven by any interleaving of reads, reader restarts, (re)assignments, work, completions and commits.
 */
function simulate(bad: readonly boolean[], steps: readonly Step[], maxKeptPerPartition: number): void {
  const end = bad.length;
  const ledger = new DeadLetterLedger({ maxKeptPerPartition });
  let readerAt = 0;
  ledger.readFrom(TP, 0);
  let groupCommitted = 0;
  let epoch = 0;
  let owns = false;
  const inFlight: LedgerWork[] = [];
  // Letters per offset and epoch, acknowledged ones only.
  const letters = new Map<number, Map<number, number>>();
  const acknowledged = (offset: number): boolean => (letters.get(offset)?.size ?? 0) > 0;
  const letter = (offset: number, e: number): void => {
    const byEpoch = letters.get(offset) ?? new Map<number, number>();
    byEpoch.set(e, (byEpoch.get(e) ?? 0) + 1);
    letters.set(offset, byEpoch);
  };
  const epochStarts = new Map<number, number>();
  // Offsets whose letter was handed out but not acknowledged when the assignment changed (they may be lettered again).
  const inFlightAtChange = new Set<number>();

  const pump = (): void => {
    for (const item of ledger.takeWork()) {
      if (item.kind === 'letters') for (const { record: r } of item.records) expect(bad[r.offset]).toBe(true);
      inFlight.push(item);
    }
  };
  const complete = (index: number): void => {
    const [item] = inFlight.splice(index % inFlight.length, 1);
    if (item.kind === 'letters') for (const { record: r } of item.records) letter(r.offset, item.epoch);
    else for (let o = item.from; o < item.to && o < end; o++) if (bad[o]) letter(o, item.epoch);
    ledger.done(item);
  };
  const commit = (): void => {
    const offsets = ledger.commits();
    if (!owns) expect(offsets.size).toBe(0);
    for (const [, offset] of offsets) {
      // Never past a bad record without an acknowledged letter.
      for (let o = 0; o < offset; o++)
        if (bad[o] && o >= groupCommitted) expect(acknowledged(o), `offset ${o} below commit ${offset}`).toBe(true);
      if (owns) groupCommitted = offset;
    }
    ledger.stored(epoch, offsets);
  };
  const read = (count: number, pumpMidBatch: boolean): void => {
    const to = Math.min(end, readerAt + count);
    for (let o = readerAt; o < to; o++) {
      if (bad[o]) ledger.bad(TP, record(o), new Error('bad'));
      if (pumpMidBatch && o === readerAt) pump();
    }
    readerAt = to;
    ledger.reached(TP, to);
  };
  const assign = (owned: boolean): void => {
    for (const item of inFlight) {
      if (item.kind === 'letters') for (const { record: r } of item.records) inFlightAtChange.add(r.offset);
      else for (let o = item.from; o < item.to; o++) inFlightAtChange.add(o);
    }
    epoch++;
    owns = owned;
    ledger.assigned(epoch, owned ? [TP] : []);
    if (owned) {
      ledger.committed(epoch, TP, groupCommitted);
      epochStarts.set(epoch, groupCommitted);
    }
  };

  for (const s of steps) {
    if (s.kind === 'read') read(s.count, s.pumpMidBatch);
    else if (s.kind === 'restart') {
      readerAt = s.ahead ? Math.min(end, readerAt + s.back) : Math.max(0, readerAt - s.back);
      ledger.readFrom(TP, readerAt);
    } else if (s.kind === 'assign') assign(s.owned);
    else if (s.kind === 'pump') pump();
    else if (s.kind === 'complete' && inFlight.length > 0) complete(s.index);
    else if (s.kind === 'commit') commit();
  }
  // Then the partition settles with this instance as its owner: everything gets its letter, the commit reaches the end.
  if (!owns) assign(true);
  const finalEpoch = epoch;
  for (let rounds = 0; rounds < 10 * end + 20; rounds++) {
    if (readerAt < end) read(3, false);
    pump();
    while (inFlight.length > 0) complete(0);
    commit();
  }
  expect(groupCommitted).toBe(end);
  for (let o = 0; o < end; o++) if (bad[o]) expect(acknowledged(o), `offset ${o} has a letter`).toBe(true);
  // Within one epoch, at most one letter per record; from the last epoch's C on, every bad record has one.
  for (const byEpoch of letters.values()) for (const count of byEpoch.values()) expect(count).toBe(1);
  for (let o = epochStarts.get(finalEpoch) ?? 0; o < end; o++) if (bad[o]) expect(acknowledged(o), `offset ${o}`).toBe(true);
  // Letters of an earlier epoch were acknowledged here: none again unless in flight at an epoch change.
  for (const [offset, byEpoch] of letters) if (byEpoch.size > 1) expect(inFlightAtChange.has(offset), `offset ${offset}`).toBe(true);
}

describe('DeadLetterLedger', () => {
  it('whatever the interleaving: one letter per bad record at or after C per owner, commits never pass an unlettered one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 0, maxLength: 40 }),
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        (bad, steps, cap) => simulate(bad, steps, cap),
      ),
      { numRuns: 3000 },
    );
  });

  it('a first start with the records already there: the bootstrap verdicts are enough, nothing is read again', () => {
    const ledger = new DeadLetterLedger();
    ledger.readFrom(TP, 0);
    ledger.bad(TP, record(3), new Error('bad'));
    ledger.reached(TP, 10);
    // The updater continues where the bootstrap ended, before the group's assignment arrived.
    ledger.readFrom(TP, 10);
    ledger.assigned(1, [TP]);
    ledger.committed(1, TP, 0);
    const work = ledger.takeWork();
    expect(work).toEqual([expect.objectContaining({ kind: 'letters', to: 10 })]);
    expect(work[0].kind === 'letters' && work[0].records.map((b) => b.record.offset)).toEqual([3]);
    expect(ledger.commits()).toEqual(new Map());
    ledger.done(work[0]);
    expect(ledger.commits()).toEqual(new Map([[TP, 10]]));
  });

  it('a takeover after the bootstrap reads the range between the committed offset and what it kept', () => {
    const ledger = new DeadLetterLedger();
    ledger.readFrom(TP, 0);
    ledger.assigned(1, []);
    ledger.bad(TP, record(3), new Error('bad'));
    ledger.reached(TP, 10);
    ledger.assigned(2, [TP]);
    ledger.committed(2, TP, 4);
    expect(ledger.takeWork()).toEqual([{ kind: 'gap', tp: TP, epoch: 2, from: 4, to: 10 }]);
  });

  it('keeps at most the cap per partition; beyond it the range is read again', () => {
    const ledger = new DeadLetterLedger({ maxKeptPerPartition: 2 });
    ledger.readFrom(TP, 0);
    for (const offset of [1, 2, 3, 5]) ledger.bad(TP, record(offset), new Error('bad'));
    ledger.reached(TP, 8);
    expect(ledger.overflows).toBe(1);
    ledger.assigned(1, [TP]);
    ledger.committed(1, TP, 0);
    const [gap] = ledger.takeWork();
    expect(gap).toEqual({ kind: 'gap', tp: TP, epoch: 1, from: 0, to: 4 });
    ledger.done(gap);
    const [letters] = ledger.takeWork();
    expect(letters.kind === 'letters' && letters.records.map((b) => b.record.offset)).toEqual([5]);
  });

  it('bytes kept count across partitions', () => {
    const ledger = new DeadLetterLedger({ maxKeptBytes: 20 });
    ledger.readFrom(TP, 0);
    ledger.bad(TP, record(1), new Error('bad'));
    ledger.bad(TP, record(2), new Error('bad'));
    expect(ledger.keptByteCount).toBe(14);
    ledger.bad(TP, record(3), new Error('bad'));
    expect(ledger.overflows).toBe(1);
    expect(ledger.keptByteCount).toBe(0);
  });
});
