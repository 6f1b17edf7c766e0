/**
 * What a task does with a record that failed to deserialize or whose user function threw: the source's error
 * policy decides between a dead letter, a logged skip, or failing the task.
 *
 * One dead letter per source record, however many source nodes read it and however many branches fail on it (the
 * record's `RecordFate` is shared by all of them); none when it already got one before a repartition (the mark in
 * the repartition record's headers). A record that fails after a repartition is dead-lettered under the user's
 * record it came from, never under the internal topic (its bytes are swapped for the original by the runtime).
 * Errors are counted once per source record and stage; dead letters are counted when Kafka acknowledges them.
 */
import type { TaskId } from '../../common/task-id.js';
import type { Logger } from '../../common/logger.js';
import { deadLetterRecord, errorClassName, errorMessageOf, type ErrorStage } from '../../common/dead-letters.js';
import { DeserializationError, ProcessingError } from '../../errors.js';
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
    const { record, fate, policy } = origin;
    const action = bypassesErrorPolicy(error) ? 'fail' : policy[stage];
    if (action === 'dead-letter' && fate.upstreamStage !== undefined) {
      // Dead-lettered before the repartition: replaying that letter re-runs this part too. Not a new error.
      if (fate.firstSuppressed()) metrics.recordNotDeadLettered('upstream');
      return;
    }
    const first = fate.firstFailure(stage);
    if (first) metrics.recordError(stage, action);
    if (action === 'fail') throw new TaskFailure(error instanceof DeserializationError ? error.underFailPolicy() : error);
    // For processing errors the user's own error describes the problem best; ours adds the location.
    const described = error instanceof ProcessingError && error.cause !== undefined ? error.cause : error;
    if (action === 'dead-letter') {
      if (fate.deadLettered) return;
      fate.markDeadLettered(stage);
      const source = fate.repartitioned ? fate.source : undefined;
      outputs.push(
        deadLetterRecord(policy.deadLetterTopic, applicationId, stage, record, described, source === undefined ? undefined : { source }),
      );
      return;
    }
    if (!first) return;
    metrics.recordSkipped(stage);
    logger?.warn(`skipping a record after a ${stage} error (error policy: log-and-skip)`, {
      task: taskId,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      errorClass: errorClassName(described),
      error: errorMessageOf(described),
    });
  }
}
