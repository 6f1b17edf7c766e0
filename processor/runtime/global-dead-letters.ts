/**
 * The elected dead-letter writer for topics only global tables read (see dead-letter-ownership.ts): every instance
 * joins the group `<applicationId>-global-dead-letters`, and the member owning a partition writes its dead letters.
 *
 * A topic with one global table (the usual case) is never fetched by the group: its partitions are held
 * (group-reader.ts), and the letters come from the verdicts of the instance's own global reader, which decodes every
 * record anyway: the bootstrap and then the updater (global-tables.ts) report to `verdicts` where they start, each
 * bad record and how far they judged. The ledger (dead-letter-ledger.ts) turns those, the assignment and the group's
 * committed offset C of each owned partition into letters for the bad records at or after C, commits as soon as they
 * are acknowledged (progress over good records every `commitIntervalMs`), and "gap reads": when the reader's verdicts start after C (a takeover after the bootstrap, a store
 * restored from a checkpoint ahead of C, more bad records kept than the cap while the partition could not be
 * lettered yet), the range [C, first verdict) is read once with a bounded reader (`readers`: the restoration fetch
 * sizes) and judged here. The member joins before the bootstrap starts, so on a first start its verdicts cover the
 * whole log and nothing is read twice.
 *
 * A topic read by several global tables is still read by the group (the bootstrap judges per table, so no single
 * verdict covers all of them): its member fetches it from the committed offset and judges every record as the tables
 * would, `checkTableRecord` checking JSON values instead of parsing them. Either way the global stores are updated
 * by every instance (global-tables.ts), which skip bad records without a dead letter.
 */
import type { Logger } from '../../common/logger.js';
import { deadLetterRecord } from '../../common/dead-letters.js';
import {
  parseTopicPartitionId,
  topicPartitionId,
  type ConsumedRecord,
  type ProducedRecord,
  type TopicPartitionId,
} from '../../common/records.js';
import type { Topology } from '../../topology/topology.js';
import type { GlobalTableSpec } from '../../topology/specs.js';
import { resolveErrorPolicy, type ErrorPolicy, type ResolvedErrorPolicy } from '../engine/error-policy.js';
import type { EngineMetrics } from '../engine/metrics.js';
import { checkTableRecord } from '../engine/table-decoder.js';
import type { KafkaClient } from '../kafka/client.js';
import { GroupReader } from '../kafka/group-reader.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { PartitionReaderFactory, PartitionReading } from '../kafka/partition-reading.js';
import { DeadLetterLedger, type LedgerLimits, type LedgerWork } from './dead-letter-ledger.js';
import { electedDeadLetterTopics, globalDeadLetterGroupId } from './dead-letter-ownership.js';
import type { OutputSender } from './output-sender.js';
import type { MemberIdStore } from '../kafka/group-member.js';
import { StaleAssignmentError } from '../../errors.js';

export interface GlobalDeadLetterWriterOptions {
  readonly topology: Topology;
  readonly client: KafkaClient;
  readonly admin: Pick<KafkaAdmin, 'fetchCommittedOffsets' | 'fetchOffsetRanges'>;
  /** Gap reads (see the module comment): bounded readers outside the group. */
  readonly readers: PartitionReaderFactory;
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
  /** How often acknowledged progress is committed. Default 1,000 ms. */
  readonly commitIntervalMs?: number;
  readonly ledger?: LedgerLimits;
}

/**
 * What the instance's global reader reports for the topics whose letters come from its verdicts (`topics`), per
 * partition and in its order: where a reader starts judging every record, each record it rejects under the
 * 'dead-letter' policy, and the offset below which every record was judged.
 */
export interface GlobalVerdictSink {
  readonly topics: ReadonlySet<string>;
  readFrom(tp: TopicPartitionId, offset: number): void;
  bad(tp: TopicPartitionId, record: ConsumedRecord, error: unknown): void;
  reached(tp: TopicPartitionId, next: number): void;
}

/** What the writer did besides writing letters from verdicts: records it read again from the topic. */
export interface GlobalDeadLetterStats {
  /** Ranges read again (gap reads) and their records; 0 when every letter came from the reader's verdicts. */
  readonly rereads: number;
  readonly rereadRecords: number;
  /** Records the group fetched for topics read by several global tables. */
  readonly groupReadRecords: number;
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

  /** Topics one global table reads (its verdict is the record's). */
  get singleTableTopics(): string[] {
    const counts = new Map<string, number>();
    for (const spec of this.topology.globalTables) counts.set(spec.topic, (counts.get(spec.topic) ?? 0) + 1);
    return this.topics.filter((topic) => counts.get(topic) === 1);
  }

  /** The dead letter of a record the topic's global table rejected (counted). */
  letter(record: ConsumedRecord, error: unknown): ProducedRecord {
    const [{ policy }] = this.tables.get(record.topic) ?? [];
    this.metrics.recordError('deserialization', 'dead-letter');
    return deadLetterRecord(policy.deadLetterTopic, this.topology.applicationId, 'deserialization', record, error);
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

export class GlobalDeadLetterWriter implements GlobalVerdictSink {
  private readonly judge: GlobalDeadLetterJudge;
  private readonly ledger: DeadLetterLedger;
  readonly topics: ReadonlySet<string>;
  private readonly readTopics: string[];
  private reader: GroupReader | undefined;
  private gapReader: PartitionReading | undefined;
  private working: Promise<void> | undefined;
  private workAgain = false;
  private committing: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rereads = 0;
  private rereadRecords = 0;
  private groupReadRecords = 0;

  constructor(private readonly options: GlobalDeadLetterWriterOptions) {
    this.judge = new GlobalDeadLetterJudge(options.topology, options.errorPolicy, options.metrics);
    this.ledger = new DeadLetterLedger(options.ledger);
    const held = this.judge.singleTableTopics;
    this.topics = new Set(held);
    this.readTopics = this.judge.topics.filter((topic) => !this.topics.has(topic));
  }

  /** Every topic this writer covers (none: `start()` does nothing). */
  get allTopics(): string[] {
    return this.judge.topics;
  }

  stats(): GlobalDeadLetterStats {
    return { rereads: this.rereads, rereadRecords: this.rereadRecords, groupReadRecords: this.groupReadRecords };
  }

  /** Joins the group; call before the global bootstrap starts, so its verdicts count. */
  async start(): Promise<void> {
    const { topology, client, sender, logger } = this.options;
    if (this.judge.topics.length === 0) return;
    const groupId = globalDeadLetterGroupId(topology.applicationId);
    this.reader = new GroupReader(client, {
      groupId,
      topics: this.readTopics,
      heldTopics: [...this.topics],
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      memberIds: this.options.memberIds,
      onBatch: async (records) => {
        this.groupReadRecords += records.length;
        await sender.send(this.judge.deadLetters(records));
      },
      onHeldAssignment: (epoch, partitions) => {
        logger.debug('dead-letter group assignment', { epoch, partitions: partitions.join(',') });
        this.ledger.assigned(epoch, partitions);
        this.gapReader?.stop().catch(() => undefined); // its epoch is over
        if (partitions.length > 0) void this.readCommitted(epoch);
      },
      onFailure: (error) => this.options.onFailure(error),
    });
    await this.reader.start();
    logger.info('joined the dead-letter group of global-only topics', {
      group: groupId,
      fromVerdicts: [...this.topics].join(','),
      read: this.readTopics.join(','),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.commitTimer !== undefined) clearTimeout(this.commitTimer);
    await this.gapReader?.stop().catch(() => undefined);
    await this.working?.catch(() => undefined);
    // Acknowledged progress is committed before leaving, so the next owner starts after it.
    await this.committing?.catch(() => undefined);
    await this.commit().catch(() => undefined);
    await this.reader?.stop();
  }

  // ---- GlobalVerdictSink (the instance's global reader) ----

  readFrom(tp: TopicPartitionId, offset: number): void {
    this.ledger.readFrom(tp, offset);
    this.kick(); // an owned partition may wait for nothing more than this (a gap below `offset`)
  }

  bad(tp: TopicPartitionId, record: ConsumedRecord, error: unknown): void {
    this.ledger.bad(tp, record, error);
  }

  reached(tp: TopicPartitionId, next: number): void {
    this.ledger.reached(tp, next);
    this.kick();
  }

  // ---- owner side ----

  /** C per owned partition: the group's committed offset, else the log start (nothing lies below it). */
  private async readCommitted(epoch: number): Promise<void> {
    for (let attempt = 1; !this.stopped && epoch === this.ledger.currentEpoch; attempt++) {
      try {
        await this.tryReadCommitted(epoch);
        return;
      } catch (error) {
        // Not fatal: the partitions wait (their verdicts are kept up to the cap) until the offsets can be read.
        this.options.logger.warn('reading the committed offsets of the dead-letter group failed; retrying', { error, attempt });
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)));
      }
    }
  }

  private async tryReadCommitted(epoch: number): Promise<void> {
    const wanted = this.ledger.uncommittedKnown();
    const groupId = globalDeadLetterGroupId(this.options.topology.applicationId);
    const committed = await this.options.admin.fetchCommittedOffsets(groupId, [...this.topics]);
    const starts = new Map<TopicPartitionId, number>();
    for (const topic of new Set(wanted.map((tp) => parseTopicPartitionId(tp).topic))) {
      for (const [partition, log] of await this.options.admin.fetchOffsetRanges(topic))
        starts.set(topicPartitionId(topic, partition), log.start);
    }
    for (const tp of wanted) this.ledger.committed(epoch, tp, Math.max(committed.get(tp) ?? 0, starts.get(tp) ?? 0));
    this.options.logger.debug('dead-letter group offsets read', {
      epoch,
      offsets: wanted.map((tp) => `${tp}@${committed.get(tp) ?? 'none'}`).join(','),
    });
    this.kick();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.working !== undefined) {
      this.workAgain = true;
      return;
    }
    this.working = this.work()
      .catch((error: unknown) => this.failed(error))
      .finally(() => {
        this.working = undefined;
        if (this.workAgain) {
          this.workAgain = false;
          this.kick();
        }
      });
  }

  private async work(): Promise<void> {
    // Until nothing is ready: finishing an item may make the next one ready (a gap read, then the kept letters).
    for (let items = this.ledger.takeWork(); items.length > 0 && !this.stopped; items = this.ledger.takeWork()) {
      for (const item of items) {
        if (this.stopped) return;
        if (item.kind === 'letters') {
          await this.options.sender.send(item.records.map(({ record, error }) => this.judge.letter(record, error)));
        } else if (!(await this.readGap(item))) {
          return; // its partition moved away (a newer epoch has its own work) or the writer stops
        }
        this.ledger.done(item);
      }
      // Letters are committed at once: a rebalance or a crash before the commit would make the next owner write them
      // again. Progress over good records only waits for the interval.
      await this.commitNow();
    }
    this.scheduleCommit();
  }

  /**
   * Reads [from, to) of a partition once and dead-letters its bad records, as the group reader does. False when it
   * ended early: the partition moved away (a newer epoch) or the writer stops.
   */
  private async readGap(item: LedgerWork & { kind: 'gap' }): Promise<boolean> {
    const { topic, partition } = parseTopicPartitionId(item.tp);
    this.rereads++;
    this.options.logger.info('reading a range of a global-only topic again for its dead letters', {
      topic,
      partition,
      from: item.from,
      to: item.to,
    });
    const reader = this.options.readers({
      partitions: [{ topic, partition, offset: item.from }],
      endOffsets: new Map([[item.tp, item.to]]),
      mode: 'until-end',
      groupIdPrefix: `${this.options.topology.applicationId}-global-dead-letters-gap`,
      onBatch: async (records) => {
        if (!this.ledger.isOwned(item.epoch, item.tp)) return;
        const judged = records.filter((record) => record.offset < item.to);
        this.rereadRecords += judged.length;
        await this.options.sender.send(this.judge.deadLetters(judged));
        if (judged.length > 0) this.ledger.gapProgress(item, judged[judged.length - 1].offset + 1);
      },
    });
    this.gapReader = reader;
    try {
      await reader.run();
    } finally {
      this.gapReader = undefined;
    }
    return this.ledger.isOwned(item.epoch, item.tp) && !this.stopped;
  }

  private scheduleCommit(): void {
    if (this.commitTimer !== undefined || this.stopped) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitNow().finally(() => {
        if (this.ledger.commits().size > 0) this.scheduleCommit();
      });
    }, this.options.commitIntervalMs ?? 1000);
    this.commitTimer.unref();
  }

  /** One commit at a time; a failure is logged (the next commit retries: nothing is lost, letters may repeat). */
  private async commitNow(): Promise<void> {
    while (this.committing !== undefined) await this.committing;
    this.committing = this.commit()
      .catch((error: unknown) => this.options.logger.warn('committing the dead-letter progress failed; the next commit retries', { error }))
      .finally(() => {
        this.committing = undefined;
      });
    await this.committing;
  }

  private async commit(): Promise<void> {
    const reader = this.reader;
    const offsets = this.ledger.commits();
    if (reader === undefined || offsets.size === 0) return;
    const epoch = this.ledger.currentEpoch;
    try {
      await reader.commitHeld(epoch, offsets);
    } catch (error) {
      if (error instanceof StaleAssignmentError) return; // the next owner starts at the last commit
      throw error;
    }
    this.ledger.stored(epoch, offsets);
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    this.options.onFailure(error);
  }
}
