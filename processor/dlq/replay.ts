/**
 * `replayDeadLetters`: puts dead letters back on the topics they came from, once the cause is fixed.
 *
 * Reads the dead-letter topic up to its end offsets (as they are when the run starts) and sends each selected dead
 * letter's original key, value and timestamp back (see `replayRecord` for partition and headers). Per DLQ batch: the
 * replayed records are sent and acknowledged first, then the batch's progress is saved (progress-topic.ts), so a
 * crash between the two replays that one batch again on the next run (at least once), and a completed run is never
 * replayed again, whatever the filters of later runs (progress.ts).
 *
 * Each source record goes back once per run: copies of a dead letter (the same source topic, partition and offset,
 * written again after a crash) are counted as `duplicates`. Letters whose destination is an internal topic of the
 * application, or whose bytes are not the user's record, are refused (counted and listed, never sent).
 *
 * Run one replay per application at a time: two concurrent runs would both replay the same dead letters.
 */
import {
  DeadLetterReplayError,
  DeadLetterReplayOptionsError,
  DeadLetterTargetMissingError,
  DeadLetterTopicMissingError,
  TributaryError,
} from '../../errors.js';
import type { ErrorStage } from '../../common/dead-letters.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { KafkaClient, createKafkaClient } from '../kafka/client.js';
import type { KafkaClientConfig } from '../kafka/config.js';
import { PartitionReader } from '../kafka/partition-reader.js';
import { RecordProducer } from '../kafka/producer.js';
import { topicPartitionId, type ConsumedRecord, type ProducedRecord, type TopicPartitionId } from '../../common/records.js';
import { DuplicateLetters, ERROR_STAGES, parseDeadLetter, replayRecord, replayRefusal, type DeadLetter } from './dead-letter.js';
import { hasRetriableCause, retryReads } from './read-retry.js';
import { ReplayProgress, type ReplayFilter } from './progress.js';
import { PROGRESS_TOPIC_CONFIGS, progressRecord, progressTopicName, readProgressEntries } from './progress-topic.js';

/** Kafka settings; `clientId` defaults to `<applicationId>-dlq-replay`. */
export type ReplayKafkaConfig = Omit<KafkaClientConfig, 'clientId'> & { readonly clientId?: string };

export interface ReplayDeadLettersOptions {
  /** Connection settings, or an existing client. */
  readonly kafka: ReplayKafkaConfig | KafkaClient;
  readonly applicationId: string;
  /** Default `<applicationId>-dlq` (the runtime's default). */
  readonly dlqTopic?: string;
  /** Only dead letters going back to this topic (production-stage letters: the topic they were meant for). */
  readonly sourceTopic?: string;
  /** Only dead letters of this stage. */
  readonly stage?: ErrorStage;
  /** Scan and count only: nothing is sent and no progress is saved. */
  readonly dryRun?: boolean;
  /** Called after each DLQ batch was handled (sent and progress saved, unless a dry run). */
  readonly onProgress?: (event: ReplayProgressEvent) => void;
  /** Default `<applicationId>-dlq-replay-progress`. */
  readonly progressTopic?: string;
}

export interface ReplayCounts {
  /** Dead letters read by this run (from the first offset not yet handled under the filter). */
  readonly scanned: number;
  /** Sent back (a dry run: would be sent back). */
  readonly replayed: number;
  /** Not selected by `sourceTopic` / `stage`. */
  readonly skippedByFilter: number;
  /** Already replayed by an earlier run (read because another filter's position is behind). */
  readonly alreadyReplayed: number;
  /** Without the headers replay needs; never sent anywhere, listed in `malformedRecords`. */
  readonly malformed: number;
  /**
   * Copies of a dead letter already counted in this run (same source record: written again after a crash); each
   * source record is sent back once.
   */
  readonly duplicates: number;
  /** Refused: their destination is an internal topic, or their bytes are not the user's; listed in `refusedRecords`. */
  readonly refused: number;
}

export interface MalformedDeadLetter {
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
}

export interface ReplayResult extends ReplayCounts {
  readonly dlqTopic: string;
  readonly dryRun: boolean;
  /** Replayed records per destination topic. */
  readonly replayedByTopic: Readonly<Record<string, number>>;
  /** The first `MAX_MALFORMED_LISTED` malformed dead letters, with the reason. */
  readonly malformedRecords: readonly MalformedDeadLetter[];
  /** The first `MAX_MALFORMED_LISTED` refused dead letters, with the reason. */
  readonly refusedRecords: readonly MalformedDeadLetter[];
  /** DLQ partitions whose saved progress was past their end offset (the DLQ topic was recreated); read from 0. */
  readonly resetPartitions: readonly number[];
}

export interface ReplayProgressEvent extends ReplayCounts {
  readonly partition: number;
  /** Next DLQ offset of `partition` to handle. */
  readonly nextOffset: number;
  readonly endOffset: number;
}

export const MAX_MALFORMED_LISTED = 100;

function validate(options: ReplayDeadLettersOptions): ReplayFilter {
  const problems: string[] = [];
  if (typeof options.applicationId !== 'string' || options.applicationId.trim() === '')
    problems.push('applicationId: give the application id of the app whose dead letters to replay');
  if (options.dlqTopic !== undefined && options.dlqTopic.trim() === '')
    problems.push('dlqTopic: must not be empty (leave it out for <applicationId>-dlq)');
  if (options.sourceTopic !== undefined && options.sourceTopic.trim() === '')
    problems.push('sourceTopic: must not be empty (leave it out to replay every topic)');
  if (options.stage !== undefined && !ERROR_STAGES.includes(options.stage))
    problems.push(`stage: "${String(options.stage)}" is not one of ${ERROR_STAGES.join(', ')}`);
  if (problems.length > 0) throw new DeadLetterReplayOptionsError(problems);
  return { sourceTopic: options.sourceTopic, stage: options.stage };
}

function clientFor(options: ReplayDeadLettersOptions): KafkaClient {
  if (options.kafka instanceof KafkaClient) return options.kafka;
  return createKafkaClient({ ...options.kafka, clientId: options.kafka.clientId ?? `${options.applicationId}-dlq-replay` });
}

/** Replays the dead letters of one application; see the module comment for the guarantees. */
export async function replayDeadLetters(options: ReplayDeadLettersOptions): Promise<ReplayResult> {
  const filter = validate(options);
  const dlqTopic = options.dlqTopic ?? `${options.applicationId}-dlq`;
  const progressTopic = options.progressTopic ?? progressTopicName(options.applicationId);
  const dryRun = options.dryRun ?? false;
  const client = clientFor(options);
  const admin = new KafkaAdmin(client);
  const producer = new RecordProducer(client);
  try {
    await admin.connect();
    const { missing } = await admin.describeTopicPartitions([dlqTopic]);
    if (missing.length > 0) throw new DeadLetterTopicMissingError(dlqTopic);
    const endOffsets = await admin.fetchEndOffsets(dlqTopic);
    const stored = await retryReads(() => readProgressEntries(client, admin, progressTopic), hasRetriableCause);
    const progress = new ReplayProgress(dlqTopic, stored);
    const resetPartitions = progress.resetBeyond(endOffsets);
    if (!dryRun) {
      await admin.ensureTopics([{ topic: progressTopic, partitions: 1, configs: PROGRESS_TOPIC_CONFIGS }]);
      await producer.connect();
    }
    const run = new ReplayRun({
      applicationId: options.applicationId,
      admin,
      producer,
      progress,
      filter,
      dlqTopic,
      progressTopic,
      dryRun,
      endOffsets,
      onProgress: options.onProgress,
    });
    await run.readAll(client);
    await run.finish();
    return {
      ...run.counts,
      dlqTopic,
      dryRun,
      replayedByTopic: Object.fromEntries(run.replayedByTopic),
      malformedRecords: run.malformedRecords,
      refusedRecords: run.refusedRecords,
      resetPartitions,
    };
  } catch (error) {
    if (error instanceof TributaryError) throw error;
    throw new DeadLetterReplayError('unexpected failure', { cause: error });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

interface ReplayRunOptions {
  readonly applicationId: string;
  readonly admin: KafkaAdmin;
  readonly producer: RecordProducer;
  readonly progress: ReplayProgress;
  readonly filter: ReplayFilter;
  readonly dlqTopic: string;
  readonly progressTopic: string;
  readonly dryRun: boolean;
  readonly endOffsets: ReadonlyMap<number, number>;
  readonly onProgress: ((event: ReplayProgressEvent) => void) | undefined;
}

/** The mutable state of one run: counts, the destination topics' partition counts, the per-batch work. */
class ReplayRun {
  counts = { scanned: 0, replayed: 0, skippedByFilter: 0, alreadyReplayed: 0, malformed: 0, duplicates: 0, refused: 0 };
  readonly replayedByTopic = new Map<string, number>();
  readonly malformedRecords: MalformedDeadLetter[] = [];
  readonly refusedRecords: MalformedDeadLetter[] = [];
  private readonly copies = new DuplicateLetters();
  private readonly partitionCounts = new Map<string, number>();
  /** The error a batch failed with: the reader wraps it, the caller should see it as is. */
  private batchFailure: unknown;

  constructor(private readonly options: ReplayRunOptions) {}

  /**
   * Reads every partition from its first unhandled offset to its end. A reader that fails for a retriable Kafka
   * reason (e.g. the group coordinator still loading on a fresh broker) is started again from the progress made so
   * far, up to READ_ATTEMPTS times; a failing batch is never retried here (its error is thrown as is).
   */
  async readAll(client: KafkaClient): Promise<void> {
    const { dlqTopic, endOffsets, progress, filter } = this.options;
    const readOnce = async (): Promise<void> => {
      const starts = [...endOffsets]
        .map(([partition, end]) => ({ topic: dlqTopic, partition, offset: progress.startOffset(partition, filter), end }))
        .filter((start) => start.offset < start.end);
      if (starts.length === 0) return;
      const reader = new PartitionReader(client, {
        partitions: starts.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
        endOffsets: new Map<TopicPartitionId, number>(starts.map((s) => [topicPartitionId(dlqTopic, s.partition), s.end])),
        groupIdPrefix: `${dlqTopic}-replay`,
        onBatch: (records) => this.handleBatch(records),
      });
      await reader.run();
    };
    try {
      await retryReads(readOnce, (error) => this.batchFailure === undefined && hasRetriableCause(error));
    } catch (error) {
      if (this.batchFailure !== undefined) throw this.batchFailure;
      throw new DeadLetterReplayError(`could not read the dead-letter topic ${dlqTopic}`, { cause: error });
    }
  }

  /** Saves every partition's position at its end offset (batches may end before it: markers, filtered records). */
  async finish(): Promise<void> {
    const { progress, filter, endOffsets } = this.options;
    const changed = [...endOffsets].flatMap(([partition, end]) => progress.advance(partition, filter, end) ?? []);
    await this.saveProgress(changed.map((entry) => progressRecord(this.options.progressTopic, entry)));
  }

  private async handleBatch(records: ConsumedRecord[]): Promise<void> {
    try {
      await this.replayBatch(records);
    } catch (error) {
      this.batchFailure ??= error;
      throw error;
    }
  }

  private async replayBatch(records: ConsumedRecord[]): Promise<void> {
    const { progress, filter, producer, dryRun } = this.options;
    const partition = records[0].partition;
    const letters: DeadLetter[] = [];
    for (const record of records) {
      this.counts.scanned++;
      const parsed = parseDeadLetter(record);
      if (!parsed.ok) {
        // Only an unfiltered run moves past a malformed dead letter; until then every run reports it.
        if (progress.handled(partition, { offset: record.offset })) this.counts.alreadyReplayed++;
        else this.noteMalformed(partition, record.offset, parsed.reason);
        continue;
      }
      const { letter } = parsed;
      const decision = progress.decide(partition, { offset: record.offset, topic: letter.topic, stage: letter.stage }, filter);
      if (decision === 'already-replayed') this.counts.alreadyReplayed++;
      else if (decision === 'skipped-by-filter') this.counts.skippedByFilter++;
      else {
        const refusal = replayRefusal(letter, this.options.applicationId);
        if (refusal !== undefined) {
          this.counts.refused++;
          if (this.refusedRecords.length < MAX_MALFORMED_LISTED)
            this.refusedRecords.push({ partition, offset: record.offset, reason: refusal });
        } else if (this.copies.isDuplicate(letter)) this.counts.duplicates++;
        else letters.push(letter);
      }
    }

    await this.loadPartitionCounts(letters.map((letter) => letter.topic));
    const replays: ProducedRecord[] = letters.map((letter) => replayRecord(letter, this.partitionCounts.get(letter.topic) as number));
    if (!dryRun) await producer.send(replays);
    for (const replay of replays) {
      this.counts.replayed++;
      this.replayedByTopic.set(replay.topic, (this.replayedByTopic.get(replay.topic) ?? 0) + 1);
    }

    const nextOffset = records[records.length - 1].offset + 1;
    const entry = progress.advance(partition, filter, nextOffset);
    if (entry !== undefined) await this.saveProgress([progressRecord(this.options.progressTopic, entry)]);
    this.options.onProgress?.({ ...this.counts, partition, nextOffset, endOffset: this.options.endOffsets.get(partition) ?? nextOffset });
  }

  private noteMalformed(partition: number, offset: number, reason: string): void {
    this.counts.malformed++;
    if (this.malformedRecords.length < MAX_MALFORMED_LISTED) this.malformedRecords.push({ partition, offset, reason });
  }

  /** Partition counts of destination topics not seen yet; a missing topic fails the batch before anything is sent. */
  private async loadPartitionCounts(topics: readonly string[]): Promise<void> {
    const unknown = [...new Set(topics)].filter((topic) => !this.partitionCounts.has(topic));
    if (unknown.length === 0) return;
    const { partitions, missing } = await this.options.admin.describeTopicPartitions(unknown);
    if (missing.length > 0) throw new DeadLetterTargetMissingError(missing);
    for (const [topic, count] of partitions) this.partitionCounts.set(topic, count);
  }

  private async saveProgress(records: readonly ProducedRecord[]): Promise<void> {
    if (this.options.dryRun || records.length === 0) return;
    await this.options.producer.send(records);
  }
}
