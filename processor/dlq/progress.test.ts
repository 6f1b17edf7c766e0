import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorStage } from '../../common/dead-letters.js';
import type { ConsumedRecord } from '../../common/records.js';
import { ReplayProgress, type ProgressEntry, type ReplayFilter } from './progress.js';
import { parseProgressRecord, progressRecord } from './progress-topic.js';

/** A dead letter in the model DLQ; `topic` undefined = malformed (no headers). */
interface Letter {
  readonly topic: string | undefined;
  readonly stage: ErrorStage;
}

type Step =
  | { readonly kind: 'append'; readonly partition: number; readonly letter: Letter }
  | { readonly kind: 'run'; readonly filter: ReplayFilter; readonly crashAfter: number | undefined };

const PARTITIONS = 2;
const DLQ = 'app-dlq';

const letterArb: fc.Arbitrary<Letter> = fc.record({
  topic: fc.constantFrom('orders', 'customers', undefined),
  stage: fc.constantFrom<ErrorStage>('deserialization', 'processing', 'production'),
});
const filterArb: fc.Arbitrary<ReplayFilter> = fc.record(
  { sourceTopic: fc.constantFrom('orders', 'customers'), stage: fc.constantFrom<ErrorStage>('deserialization', 'processing') },
  { requiredKeys: [] },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), partition: fc.integer({ min: 0, max: PARTITIONS - 1 }), letter: letterArb }),
  fc.record({
    kind: fc.constant('run' as const),
    filter: filterArb,
    crashAfter: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  }),
);

/** Stored progress as the compacted topic would hold it: records in write order, re-read at every run. */
function reload(stored: readonly ConsumedRecord[]): ReplayProgress {
  return new ReplayProgress(
    DLQ,
    stored.flatMap((record) => parseProgressRecord(record) ?? []),
  );
}

function store(stored: ConsumedRecord[], entry: ProgressEntry | undefined): void {
  if (entry === undefined) return;
  const produced = progressRecord('app-dlq-replay-progress', entry);
  stored.push({ ...produced, partition: 0, offset: stored.length });
}

/**
 * One replay run over the model DLQ, the way ReplayRun does it: read from `startOffset`, decide per letter, save
 * progress after each "batch" (here: each letter), and at the end save every partition at its end offset.
 * `crashAfter`: the process dies after that many saved batches (the run never finishes).
 */
function run(
  dlq: Letter[][],
  stored: ConsumedRecord[],
  filter: ReplayFilter,
  crashAfter: number | undefined,
  replays: Map<string, number>,
): void {
  const progress = reload(stored);
  let batches = 0;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const log = dlq[partition];
    for (let offset = progress.startOffset(partition, filter); offset < log.length; offset++) {
      const { topic, stage } = log[offset];
      if (topic !== undefined && progress.decide(partition, { offset, topic, stage }, filter) === 'replay') {
        expect(filter.sourceTopic ?? topic).toBe(topic);
        expect(filter.stage ?? stage).toBe(stage);
        const id = `${partition}:${offset}`;
        replays.set(id, (replays.get(id) ?? 0) + 1);
      }
      store(stored, progress.advance(partition, filter, offset + 1));
      if (crashAfter !== undefined && ++batches > crashAfter) return;
    }
  }
  for (let partition = 0; partition < PARTITIONS; partition++) store(stored, progress.advance(partition, filter, dlq[partition].length));
}

describe('ReplayProgress', () => {
  it('replays every well-formed dead letter at most once, whatever the filters and crashes; a final unfiltered run completes the set', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const dlq: Letter[][] = Array.from({ length: PARTITIONS }, () => []);
        const stored: ConsumedRecord[] = [];
        const replays = new Map<string, number>();
        for (const step of steps) {
          if (step.kind === 'append') dlq[step.partition].push(step.letter);
          else run(dlq, stored, step.filter, step.crashAfter, replays);
        }
        for (const count of replays.values()) expect(count).toBe(1);
        run(dlq, stored, {}, undefined, replays);
        const wellFormed = dlq.flatMap((log, partition) =>
          log.flatMap((l, offset) => (l.topic === undefined ? [] : [`${partition}:${offset}`])),
        );
        expect([...replays.keys()].sort()).toEqual(wellFormed.sort());
        for (const count of replays.values()) expect(count).toBe(1);
        // And a run after that finds nothing left to replay.
        const before = new Map(replays);
        run(dlq, stored, {}, undefined, replays);
        expect(replays).toEqual(before);
      }),
      { numRuns: 400 },
    );
  });

  it('a filtered run starts past what broader runs handled, and never past what it has not', () => {
    const progress = new ReplayProgress(DLQ, [
      { dlqTopic: DLQ, partition: 0, sourceTopic: null, stage: null, nextOffset: 10 },
      { dlqTopic: DLQ, partition: 0, sourceTopic: 'orders', stage: null, nextOffset: 25 },
      { dlqTopic: DLQ, partition: 0, sourceTopic: null, stage: 'processing', nextOffset: 40 },
      { dlqTopic: 'other-dlq', partition: 0, sourceTopic: null, stage: null, nextOffset: 99 },
    ]);
    expect(progress.startOffset(0, {})).toBe(10);
    expect(progress.startOffset(0, { sourceTopic: 'orders' })).toBe(25);
    expect(progress.startOffset(0, { sourceTopic: 'customers' })).toBe(10);
    expect(progress.startOffset(0, { sourceTopic: 'orders', stage: 'processing' })).toBe(40);
    expect(progress.startOffset(1, {})).toBe(0);
    expect(progress.decide(0, { offset: 30, topic: 'orders', stage: 'processing' }, {})).toBe('already-replayed');
    expect(progress.decide(0, { offset: 30, topic: 'orders', stage: 'deserialization' }, {})).toBe('replay');
    expect(progress.decide(0, { offset: 30, topic: 'customers', stage: 'deserialization' }, { sourceTopic: 'orders' })).toBe(
      'skipped-by-filter',
    );
    expect(progress.handled(0, { offset: 9 })).toBe(true);
    expect(progress.handled(0, { offset: 12 })).toBe(false);
  });

  it('forgets positions past the end offset (the DLQ topic was recreated)', () => {
    const progress = new ReplayProgress(DLQ, [
      { dlqTopic: DLQ, partition: 0, sourceTopic: null, stage: null, nextOffset: 10 },
      { dlqTopic: DLQ, partition: 1, sourceTopic: null, stage: null, nextOffset: 5 },
    ]);
    expect(
      progress.resetBeyond(
        new Map([
          [0, 3],
          [1, 5],
        ]),
      ),
    ).toEqual([0]);
    expect(progress.startOffset(0, {})).toBe(0);
    expect(progress.startOffset(1, {})).toBe(5);
  });

  it('refuses progress records it did not write instead of guessing a position', () => {
    const base: ConsumedRecord = { topic: 'p', partition: 0, offset: 3, timestamp: 0, key: null, value: null, headers: {} };
    expect(parseProgressRecord(base)).toBeUndefined();
    expect(() => parseProgressRecord({ ...base, value: Buffer.from('{') })).toThrow(/p:0@3 is not JSON/);
    expect(() =>
      parseProgressRecord({
        ...base,
        value: Buffer.from('{"version":1,"dlqTopic":"d","partition":0,"sourceTopic":null,"stage":"x","nextOffset":1}'),
      }),
    ).toThrow(expect.objectContaining({ code: 'TRIBUTARY_DLQ_REPLAY_FAILED' }));
  });
});
