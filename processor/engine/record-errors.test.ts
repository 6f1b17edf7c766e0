import { describe, expect, it } from 'vitest';
import { DeadLetterHeaders, isPendingOriginal } from '../../common/dead-letters.js';
import { openRepartitionValue, sealRepartitionValue } from '../../common/repartition-envelope.js';
import type { Logger, LogFields } from '../../common/logger.js';
import type { ConsumedRecord } from '../../common/records.js';
import { taskId } from '../../common/task-id.js';
import { DeserializationError, ProcessingError } from '../../errors.js';
import type { TopologyNode } from '../../topology/nodes.js';
import type { ErrorPolicy } from './error-policy.js';
import { RecordFate, type InFlight, type Origin } from './in-flight.js';
import { EngineMetrics } from './metrics.js';
import { TaskOutputs } from './output-slots.js';
import { RecordErrorHandler, TaskFailure } from './record-errors.js';

const consumed: ConsumedRecord = {
  topic: 'orders',
  partition: 2,
  offset: 41,
  timestamp: 7,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: { trace: Buffer.from('t') },
};
const node = { kind: 'process', id: 3, name: 'KSTREAM-PROCESSOR-0000000003', parents: [], stores: [], fn: () => {} } as const;

function setup(errorPolicy: ErrorPolicy) {
  const outputs = new TaskOutputs();
  outputs.begin();
  const warnings: LogFields[] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (_m, fields) => void warnings.push(fields ?? {}) };
  const metrics = new EngineMetrics();
  const errors = new RecordErrorHandler({ taskId: taskId(0, 2), applicationId: 'app', errorPolicy, metrics, logger, outputs });
  const origin: Origin = { record: consumed, policy: errors.policyFor(undefined), fate: new RecordFate(consumed, false) };
  const inFlight = (value: unknown): InFlight => ({ key: 'k', value, timestamp: 7, headers: {}, origin });
  return { outputs, warnings, metrics, errors, origin, inFlight };
}

describe('RecordErrorHandler', () => {
  it('writes one dead letter per source record, with the original bytes, however many of its records fail', () => {
    const { outputs, errors, inFlight } = setup({});
    const failing: TopologyNode = node;
    errors.processingFailed(failing, inFlight('a'), new Error('first'));
    errors.processingFailed(failing, inFlight('b'), new Error('second'));
    const letters = outputs.flatten();
    expect(letters).toHaveLength(1);
    expect(letters[0].topic).toBe('app-dlq');
    expect(letters[0].key).toEqual(consumed.key);
    expect(letters[0].value).toEqual(consumed.value);
    expect(letters[0].headers[DeadLetterHeaders.stage]?.toString()).toBe('processing');
    expect(letters[0].headers[DeadLetterHeaders.errorMessage]?.toString()).toBe('first'); // the user's error, not ours
    expect(letters[0].headers[DeadLetterHeaders.sourceOffset]?.toString()).toBe('41');
  });

  it("'fail' throws a TaskFailure carrying the typed error; a TaskFailure passing through is re-thrown as is", () => {
    const { errors, origin, inFlight } = setup({ processing: 'fail', deserialization: 'fail' });
    let thrown: unknown;
    try {
      errors.processingFailed(node, inFlight('a'), new Error('boom'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TaskFailure);
    expect((thrown as TaskFailure).error).toBeInstanceOf(ProcessingError);
    expect((thrown as TaskFailure).error).toMatchObject({ code: 'TRIBUTARY_PROCESSING', node: node.name, offset: 41 });
    expect(() => errors.processingFailed(node, inFlight('a'), thrown)).toThrow(thrown as TaskFailure);
    expect(() => errors.deserializationFailed(origin, new Error('bad bytes'))).toThrow(TaskFailure);
  });

  it("'log-and-skip' logs where the record came from and writes nothing", () => {
    const { outputs, warnings, metrics, errors, origin } = setup({ deserialization: 'log-and-skip' });
    errors.deserializationFailed(origin, new TypeError('bad bytes'));
    expect(outputs.flatten()).toEqual([]);
    expect(warnings).toEqual([{ task: '0_2', topic: 'orders', partition: 2, offset: 41, errorClass: 'TypeError', error: 'bad bytes' }]);
    expect(metrics.snapshot().errors.deserialization['log-and-skip']).toBe(1);
  });

  it("a source's own policy overrides the application's", () => {
    const { errors } = setup({ processing: 'fail', deadLetterTopic: 'dead' });
    expect(errors.policyFor({ processing: 'log-and-skip' })).toMatchObject({ processing: 'log-and-skip', deadLetterTopic: 'dead' });
  });
});

describe('RecordErrorHandler: one dead letter per source record, across source nodes, branches and repartitions', () => {
  const repartitionRecord = (deadLettered?: 'processing'): ConsumedRecord => ({
    topic: 'app-by-customer-repartition',
    partition: 0,
    offset: 5,
    timestamp: 7,
    key: Buffer.from('c'),
    value: sealRepartitionValue(Buffer.from('re-serialized'), consumed, deadLettered),
    headers: { trace: Buffer.from('t') },
  });

  it('a record read by two source nodes of the task and failing in both gets one letter; its error counts once', () => {
    const { outputs, metrics, errors } = setup({});
    const fate = new RecordFate(consumed, false);
    const policy = errors.policyFor(undefined);
    errors.deserializationFailed({ record: consumed, policy, fate }, new TypeError('as a table'));
    errors.deserializationFailed({ record: consumed, policy, fate }, new TypeError('as a stream'));
    errors.processingFailed(
      node,
      { key: 'k', value: 1, timestamp: 7, headers: {}, origin: { record: consumed, policy, fate } },
      new Error('x'),
    );
    expect(outputs.flatten()).toHaveLength(1);
    expect(metrics.snapshot().errors.deserialization['dead-letter']).toBe(1);
    expect(metrics.snapshot().errors.processing['dead-letter']).toBe(1);
  });

  it("after a repartition, the letter names the user's record and waits for its original bytes", () => {
    const { outputs, errors } = setup({});
    const fate = new RecordFate(repartitionRecord(), true);
    const origin: Origin = { record: fate.record, policy: errors.policyFor(undefined), fate };
    errors.processingFailed(node, { key: 'c', value: 1, timestamp: 7, headers: {}, origin }, new RangeError('downstream'));
    const [letter] = outputs.flatten();
    expect(letter.headers[DeadLetterHeaders.sourceTopic]?.toString()).toBe('orders');
    expect(letter.headers[DeadLetterHeaders.sourceOffset]?.toString()).toBe('41');
    expect(letter.headers[DeadLetterHeaders.failedAt]?.toString()).toBe('app-by-customer-repartition:0@5');
    expect(isPendingOriginal(letter)).toBe(true);
    expect(letter.value?.toString()).toBe('re-serialized'); // the internal record's payload until the runtime swaps it
  });

  it('a record already dead-lettered before the repartition gets none; counted once as upstream, not as an error', () => {
    const { outputs, metrics, errors } = setup({});
    const fate = new RecordFate(repartitionRecord('processing'), true);
    const origin: Origin = { record: fate.record, policy: errors.policyFor(undefined), fate };
    errors.processingFailed(node, { key: 'c', value: 1, timestamp: 7, headers: {}, origin }, new RangeError('again'));
    errors.processingFailed(node, { key: 'c', value: 2, timestamp: 7, headers: {}, origin }, new RangeError('and again'));
    expect(outputs.flatten()).toEqual([]);
    expect(metrics.snapshot().notDeadLettered.upstream).toBe(1);
    expect(metrics.snapshot().errors.processing['dead-letter']).toBe(0);
  });

  it('marks the repartition records a record wrote before one of its branches failed', () => {
    const { errors } = setup({});
    const fate = new RecordFate(consumed, false);
    const emitted = fate.repartitionValue(Buffer.from('v'));
    const fannedOut = [fate.repartitionValue(Buffer.from('w')), fate.repartitionValue(null)];
    expect(openRepartitionValue(emitted)).toEqual({
      value: Buffer.from('v'),
      origin: { topic: 'orders', partition: 2, offset: 41, timestamp: 7 },
      deadLettered: undefined,
    });
    errors.processingFailed(
      node,
      { key: 'k', value: 1, timestamp: 7, headers: {}, origin: { record: consumed, policy: errors.policyFor(undefined), fate } },
      new Error('later branch'),
    );
    expect(openRepartitionValue(emitted).deadLettered).toBe('processing');
    for (const value of fannedOut) expect(openRepartitionValue(value).deadLettered).toBe('processing');
    expect(openRepartitionValue(fate.repartitionValue(null)).deadLettered).toBe('processing');
  });

  it("'log-and-skip' counts and logs a record once, however many branches fail on it", () => {
    const { warnings, metrics, errors, inFlight } = setup({ processing: 'log-and-skip' });
    errors.processingFailed(node, inFlight('a'), new Error('one'));
    errors.processingFailed(node, inFlight('b'), new Error('two'));
    expect(warnings).toHaveLength(1);
    expect(metrics.snapshot()).toMatchObject({ skipped: 1, skippedBy: { processing: 1 } });
  });

  it("'fail' on a deserialization error says how to keep going; a dead letter's message does not", () => {
    const { errors, origin } = setup({ deserialization: 'fail' });
    const error = new DeserializationError(consumed, 'value', 'not JSON');
    expect(error.message).toBe('Cannot deserialize the value of orders:2@41: not JSON. Fix the producer or the serde.');
    try {
      errors.deserializationFailed(origin, error);
      expect.unreachable();
    } catch (thrown) {
      expect((thrown as TaskFailure).error).toBeInstanceOf(DeserializationError);
      expect(((thrown as TaskFailure).error as Error).message).toMatch(
        /set the deserialization error policy to 'dead-letter' or 'log-and-skip'.*it is 'fail'/,
      );
    }
  });
});
