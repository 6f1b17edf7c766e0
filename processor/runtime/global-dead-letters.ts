/**
 * The elected dead-letter writer for topics only global tables read (see dead-letter-ownership.ts): every instance
 * joins the group `<applicationId>-global-dead-letters`; for the partitions the group gives it, it decodes each
 * record as the global tables on its topic do and dead-letters the bad ones (at most one letter per record), then
 * the group commits its progress. Only the verdict is needed, so JSON values are checked, not parsed
 * (`checkTableRecord`). The global stores themselves are updated by every instance (global-tables.ts), which skip bad
 * records without a dead letter.
 */
import type { Logger } from '../../common/logger.js';
import { deadLetterRecord } from '../../common/dead-letters.js';
import type { ConsumedRecord, ProducedRecord } from '../../common/records.js';
import type { Topology } from '../../topology/topology.js';
import type { GlobalTableSpec } from '../../topology/specs.js';
import { resolveErrorPolicy, type ErrorPolicy, type ResolvedErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import { checkTableRecord } from '../engine/table-decoder.js';
import type { KafkaClient } from '../kafka/client.js';
import { GroupReader } from '../kafka/group-reader.js';
import { electedDeadLetterTopics, globalDeadLetterGroupId } from './dead-letter-ownership.js';
import type { OutputSender } from './output-sender.js';
import type { MemberIdStore } from '../kafka/group-member.js';

export interface GlobalDeadLetterWriterOptions {
  readonly topology: Topology;
  readonly client: KafkaClient;
  readonly errorPolicy: ErrorPolicy | undefined;
  readonly sender: Pick<OutputSender, 'send'>;
  readonly metrics: EngineMetrics;
  readonly logger: Logger;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Keeps this group's member id in the state directory (a crashed incarnation's member is removed before joining). */
  readonly memberIds?: MemberIdStore;
  /** Writing or committing failed for good: the app must fail (nothing after the failed batch is committed). */
  readonly onFailure: (error: unknown) => void;
}

/** Decides the dead letters of a batch of global-only records: one per bad record, under the 'dead-letter' policy. */
export class GlobalDeadLetterJudge {
  private readonly tables = new Map<string, { spec: GlobalTableSpec; policy: ResolvedErrorPolicy }[]>();

  constructor(
    private readonly topology: Topology,
    errorPolicy: ErrorPolicy | undefined,
    private readonly metrics: EngineMetrics,
  ) {
    const topics = new Set(electedDeadLetterTopics(topology, errorPolicy));
    for (const spec of topology.globalTables) {
      if (!topics.has(spec.topic)) continue;
      const policy = resolveErrorPolicy(topology.applicationId, errorPolicy, spec.errorPolicy);
      if (policy.deserialization !== 'dead-letter') continue;
      this.tables.set(spec.topic, [...(this.tables.get(spec.topic) ?? []), { spec, policy }]);
    }
  }

  get topics(): string[] {
    return [...this.tables.keys()].sort();
  }

  deadLetters(records: readonly ConsumedRecord[]): ProducedRecord[] {
    const letters: ProducedRecord[] = [];
    for (const record of records) {
      for (const { spec, policy } of this.tables.get(record.topic) ?? []) {
        try {
          checkTableRecord(spec, record);
        } catch (error) {
          this.metrics.recordError('deserialization', 'dead-letter');
          letters.push(deadLetterRecord(policy.deadLetterTopic, this.topology.applicationId, 'deserialization', record, error));
          break;
        }
      }
    }
    return letters;
  }
}

export class GlobalDeadLetterWriter {
  private readonly judge: GlobalDeadLetterJudge;
  private reader: GroupReader | undefined;

  constructor(private readonly options: GlobalDeadLetterWriterOptions) {
    this.judge = new GlobalDeadLetterJudge(options.topology, options.errorPolicy, options.metrics);
  }

  /** Topics this writer covers (none: `start()` does nothing). */
  get topics(): string[] {
    return this.judge.topics;
  }

  async start(): Promise<void> {
    const { topology, client, sender, logger } = this.options;
    const topics = this.judge.topics;
    if (topics.length === 0) return;
    const groupId = globalDeadLetterGroupId(topology.applicationId);
    this.reader = new GroupReader(client, {
      groupId,
      topics,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      memberIds: this.options.memberIds,
      onBatch: async (records) => {
        await sender.send(this.judge.deadLetters(records));
      },
      onFailure: (error) => this.options.onFailure(error),
    });
    await this.reader.start();
    logger.info('joined the dead-letter group of global-only topics', { group: groupId, topics: topics.join(',') });
  }

  async stop(): Promise<void> {
    await this.reader?.stop();
  }
}
