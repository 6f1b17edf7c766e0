/**
 * What a task does with a record that failed to deserialize or whose user function threw: the source's error
 * policy decides between a dead letter (at most one per source record, however many nodes fail on it), a logged
 * skip, or failing the task.
 */
import type { TaskId } from '../../common/task-id.js';
import type { Logger } from '../../common/logger.js';
import { deadLetterRecord, errorClassName, errorMessageOf, type ErrorStage } from '../../common/dead-letters.js';
import { ProcessingError } from '../../errors.js';
import type { SourceErrorPolicy, TopologyNode } from '../../topology/nodes.js';
import { bypassesErrorPolicy } from './formatted-table-decoder.js';
import { resolveErrorPolicy, type ErrorPolicy, type ResolvedErrorPolicy } from './error-policy.js';
import type { InFlight, Origin } from './in-flight.js';
import type { EngineMetrics } from './metrics.js';
import type { TaskOutputs } from './output-slots.js';

/** Thrown through the node graph when the 'fail' policy stops the task; carries the typed error. */
export class TaskFailure {
  constructor(readonly error: unknown) {}
}

export interface RecordErrorHandlerOptions {
  readonly taskId: TaskId;
  readonly applicationId: string;
  /** The application's policy; a source's own policy overrides it. */
  readonly errorPolicy: ErrorPolicy | undefined;
  readonly metrics: EngineMetrics;
  readonly logger: Logger | undefined;
  /** Dead letters are written here, in the place of the record that failed. */
  readonly outputs: TaskOutputs;
}

export class RecordErrorHandler {
  private readonly options: RecordErrorHandlerOptions;

  constructor(options: RecordErrorHandlerOptions) {
    this.options = options;
  }

  /** The policy for records read by a source with this override (resolved once per source node). */
  policyFor(source: SourceErrorPolicy | undefined): ResolvedErrorPolicy {
    return resolveErrorPolicy(this.options.applicationId, this.options.errorPolicy, source);
  }

  deserializationFailed(origin: Origin, error: unknown): void {
    this.handle('deserialization', origin, error);
  }

  /** A user function of `node` threw on `record`. Re-throws a `TaskFailure` passing through untouched. */
  processingFailed(node: TopologyNode, record: InFlight, cause: unknown): void {
    if (cause instanceof TaskFailure) throw cause;
    this.handle('processing', record.origin, new ProcessingError(node.name, record.origin.record, { cause }));
  }

  /** Applies the source's policy for `stage`. Throws `TaskFailure` under 'fail'. */
  private handle(stage: ErrorStage, origin: Origin, error: unknown): void {
    const { metrics, logger, outputs, applicationId, taskId } = this.options;
    const action = bypassesErrorPolicy(error) ? 'fail' : origin.policy[stage];
    metrics.recordError(stage, action);
    // For processing errors the user's own error describes the problem best; ours adds the location.
    const described = error instanceof ProcessingError && error.cause !== undefined ? error.cause : error;
    const { record } = origin;
    if (action === 'fail') throw new TaskFailure(error);
    if (action === 'dead-letter') {
      if (origin.deadLettered) return;
      origin.deadLettered = true;
      outputs.push(deadLetterRecord(origin.policy.deadLetterTopic, applicationId, stage, record, described));
      return;
    }
    logger?.warn(`skipping record after a ${stage} error`, {
      task: taskId,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      errorClass: errorClassName(described),
      error: errorMessageOf(described),
    });
  }
}
