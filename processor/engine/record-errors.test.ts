import { describe, expect, it } from 'vitest';
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { Logger, LogFields } from '../../common/logger.js';
import type { ConsumedRecord } from '../../common/records.js';
import { taskId } from '../../common/task-id.js';
import { ProcessingError } from '../../errors.js';
import type { TopologyNode } from '../../topology/nodes.js';
import type { ErrorPolicy } from './error-policy.js';
import type { InFlight, Origin } from './in-flight.js';
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
  const origin: Origin = { record: consumed, policy: errors.policyFor(undefined), deadLettered: false };
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
