/**
 * Reads an explicit set of partitions from given offsets, without a real consumer group: kafkajs has no `assign()`,
 * so this joins a throwaway single-member group whose assigner hands out exactly the wanted partitions, never
 * commits, and `seek()`s each partition after `run()`.
 *
 * Two modes:
 * - `until-end` (restoration, bootstrap): delivers offsets below the given end offsets, then stops and `run()`
 *   resolves. "Caught up" is `position >= end` (compaction gaps and transaction markers mean offset end-1 may never
 *   arrive), and partitions that start at or past their end are done before any fetch.
 * - `forever` (global table updates): keeps delivering until `stop()`; `caughtUp()` still reports reaching the end
 *   offsets when they are given.
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';
import { PartitionReaderError } from '../../errors.js';
import { topicPartitionId, type ConsumedRecord, type RecordHeaders, type TopicPartitionId } from '../../common/records.js';
import type { KafkaClient } from './client.js';
import type { PartitionReaderOptions, PartitionReading } from './partition-reading.js';

export type { FetchTuning, PartitionReaderOptions, PartitionStart } from './partition-reading.js';

const ASSIGNER_NAME = 'TributaryPartitionReader';

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly start: number;
  end: number;
  /** Next offset to deliver. */
  position: number;
  /** `onCaughtUp` was called for it. */
  reported: boolean;
}

export class PartitionReader implements PartitionReading {
  private readonly client: KafkaClient;
  private readonly options: PartitionReaderOptions;
  private readonly mode: 'until-end' | 'forever';
  private readonly states = new Map<TopicPartitionId, PartitionState>();
  private consumer: Consumer | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private finished = false;
  private failure: unknown;
  private settleRun: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private readonly caughtUpPromise: Promise<void>;
  private resolveCaughtUp!: () => void;
  private isCaughtUp = false;

  constructor(client: KafkaClient, options: PartitionReaderOptions) {
    if (options.partitions.length === 0) throw new PartitionReaderError('no partitions given');
    const seen = new Set<TopicPartitionId>();
    for (const p of options.partitions) {
      const id = topicPartitionId(p.topic, p.partition);
      if (seen.has(id)) throw new PartitionReaderError(`partition ${id} is listed twice`);
      if (p.offset !== undefined && !(Number.isSafeInteger(p.offset) && p.offset >= 0)) {
        throw new PartitionReaderError(`start offset ${p.offset} of ${id} must be an integer >= 0`);
      }
      seen.add(id);
    }
    this.client = client;
    this.options = options;
    this.mode = options.mode ?? 'until-end';
    this.caughtUpPromise = new Promise((resolve) => {
      this.resolveCaughtUp = resolve;
    });
  }

  /**
   * Reads until done: in `until-end` mode resolves once every partition reached its end offset; in `forever` mode
   * resolves after `stop()`. Rejects with `PartitionReaderError` when a topic/partition is missing, the consumer
   * crashes, or `onBatch` throws (that batch is not retried: the caller restarts from its own positions).
   */
  async run(): Promise<void> {
    if (this.started) throw new PartitionReaderError('run() was already called; create a new PartitionReader');
    this.started = true;
    await this.resolveOffsets();
    this.checkCaughtUp();
    if (this.mode === 'until-end' && this.isCaughtUp) return;
    if (this.stopping) return;

    const done = new Promise<void>((resolve, reject) => {
      this.settleRun = { resolve, reject };
    });
    try {
      await this.startConsumer();
    } catch (error) {
      await this.shutdown(new PartitionReaderError('could not start the consumer', { cause: error }));
    }
    // An empty until-end read may already be complete here.
    if (!this.finished && this.mode === 'until-end' && this.isCaughtUp) void this.shutdown();
    return done;
  }

  /** Resolves once every partition's position reached its end offset (never, in `forever` mode without ends). */
  caughtUp(): Promise<void> {
    return this.caughtUpPromise;
  }

  /** Next offset to read per partition (the position to checkpoint after the delivered batches were applied). */
  positions(): Map<TopicPartitionId, number> {
    return new Map([...this.states].map(([id, state]) => [id, state.position]));
  }

  /** Stops reading; `run()` then resolves. Waits for an in-flight `onBatch` to finish. */
  async stop(): Promise<void> {
    await this.shutdown();
  }

  private async resolveOffsets(): Promise<void> {
    const admin = this.client.admin();
    try {
      await admin.connect();
      const topics = [...new Set(this.options.partitions.map((p) => p.topic))];
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) throw new PartitionReaderError(`topic(s) ${missing.join(', ')} do not exist`);
      const watermarks = new Map<TopicPartitionId, { low: number; high: number }>();
      for (const topic of topics) {
        for (const o of await admin.fetchTopicOffsets(topic)) {
          watermarks.set(topicPartitionId(topic, o.partition), { low: Number(o.low), high: Number(o.high) });
        }
      }
      for (const p of this.options.partitions) {
        const id = topicPartitionId(p.topic, p.partition);
        const marks = watermarks.get(id);
        if (marks === undefined) throw new PartitionReaderError(`partition ${id} does not exist`);
        const start = p.offset ?? marks.low;
        const end = this.options.endOffsets?.get(id) ?? marks.high;
        this.states.set(id, { topic: p.topic, partition: p.partition, start, end, position: start, reported: false });
      }
    } catch (error) {
      if (error instanceof PartitionReaderError) throw error;
      throw new PartitionReaderError(`could not read offsets: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      await admin.disconnect();
    }
  }

  private async startConsumer(): Promise<void> {
    const fetch = this.options.fetch ?? {};
    const wanted = new Map<string, number[]>();
    for (const state of this.states.values()) {
      const list = wanted.get(state.topic) ?? [];
      list.push(state.partition);
      wanted.set(state.topic, list);
    }
    const consumer = this.client.consumer({
      groupId: `${this.options.groupIdPrefix ?? 'tributary-reader'}-${randomUUID()}`,
      partitionAssigners: [exactAssigner(wanted)],
      allowAutoTopicCreation: false,
      readUncommitted: false,
      maxBytesPerPartition: fetch.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: fetch.maxBytes ?? 32 * 1024 * 1024,
      minBytes: fetch.minBytes ?? 1,
      maxWaitTimeInMs: fetch.maxWaitTimeInMs ?? (this.mode === 'until-end' ? 100 : 500),
      // A restarted consumer would rejoin from the earliest offsets: fail instead, the caller owns positions.
      retry: { restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      void this.shutdown(new PartitionReaderError('the consumer crashed', { cause: event.payload.error }));
    });
    // Batches made only of transaction markers or aborted records never reach eachBatch; this moves past them.
    // Only those (no deliverable record): a batch eachBatch skipped (stale, stopping) must not move the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      if (event.payload.batchSize !== 0 || this.finished) return;
      const state = this.states.get(topicPartitionId(event.payload.topic, event.payload.partition));
      const last = Number(event.payload.lastOffset);
      if (state !== undefined && Number.isFinite(last) && last + 1 > state.position) {
        state.position = last + 1;
        this.afterProgress();
      }
    });
    // A rejoin (e.g. after a missed heartbeat) would fall back to the earliest offsets: seek to our positions again.
    consumer.on(consumer.events.GROUP_JOIN, () => this.seekToPositions());

    await consumer.connect();
    await consumer.subscribe({ topics: [...wanted.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.seekToPositions();
  }

  private seekToPositions(): void {
    const consumer = this.consumer;
    if (consumer === undefined || this.finished) return;
    for (const state of this.states.values()) {
      try {
        consumer.seek({ topic: state.topic, partition: state.partition, offset: String(state.position) });
      } catch {
        // Not running yet (GROUP_JOIN during run()): the seek after run() covers it.
      }
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isStale, isRunning }: EachBatchPayload): Promise<void> {
    if (this.finished || this.stopping || !isRunning() || isStale()) return;
    const state = this.states.get(topicPartitionId(batch.topic, batch.partition));
    if (state === undefined) return;
    const limit = this.mode === 'until-end' ? state.end : Number.POSITIVE_INFINITY;
    const records: ConsumedRecord[] = [];
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      // Skip anything before our position (a fetch that raced the seek) and, until-end, at or past the end.
      if (offset < state.position || offset >= limit) continue;
      records.push({
        topic: batch.topic,
        partition: batch.partition,
        offset,
        timestamp: Number(message.timestamp),
        key: message.key ?? null,
        value: message.value ?? null,
        headers: toHeaders(message.headers),
      });
    }
    if (records.length > 0) {
      try {
        await this.options.onBatch(records);
      } catch (error) {
        void this.shutdown(new PartitionReaderError(`onBatch failed on ${batch.topic}:${batch.partition}`, { cause: error }));
        return;
      }
    }
    const lastOffset = batch.lastOffset();
    resolveOffset(lastOffset);
    const next = Number(lastOffset) + 1;
    if (next > state.position) state.position = next;
    if (this.mode === 'until-end' && state.position >= state.end) {
      // Done with this one while others still read: stop fetching it.
      this.consumer?.pause([{ topic: state.topic, partitions: [state.partition] }]);
    }
    this.afterProgress();
    if (!this.finished && !this.stopping) await heartbeat();
  }

  private afterProgress(): void {
    this.checkCaughtUp();
    if (this.mode === 'until-end' && this.isCaughtUp && !this.finished) {
      // Not awaited: disconnecting from inside eachBatch would wait for this very batch.
      void this.shutdown();
    }
  }

  private checkCaughtUp(): void {
    if (this.isCaughtUp) return;
    let all = true;
    for (const [id, state] of this.states) {
      if (state.position < state.end) {
        all = false;
      } else if (!state.reported) {
        state.reported = true;
        this.options.onCaughtUp?.(id, state.position);
      }
    }
    if (!all) return;
    this.isCaughtUp = true;
    this.resolveCaughtUp();
  }

  private shutdown(error?: unknown): Promise<void> {
    if (error !== undefined && this.failure === undefined) this.failure = error;
    if (this.stopping) return this.stopping;
    this.finished = true;
    this.stopping = (async () => {
      try {
        await this.consumer?.disconnect();
      } catch (disconnectError) {
        if (this.failure === undefined) this.failure = new PartitionReaderError('disconnect failed', { cause: disconnectError });
      }
      if (this.failure !== undefined) this.settleRun?.reject(this.failure);
      else this.settleRun?.resolve();
    })();
    return this.stopping;
  }
}

/** Header values arrive as Buffer, string, arrays or undefined; keep the first Buffer-able value per name. */
function toHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): RecordHeaders {
  const result: Record<string, Buffer> = {};
  if (headers === undefined) return result;
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) result[name] = Buffer.isBuffer(value) ? value : Buffer.from(value);
  }
  return result;
}

/** An assigner for a single-member group: the member gets exactly `wanted` (topic -> partitions). */
function exactAssigner(wanted: ReadonlyMap<string, readonly number[]>): PartitionAssigner {
  return () => ({
    name: ASSIGNER_NAME,
    version: 1,
    async assign({ members }) {
      const assignment: Record<string, number[]> = {};
      for (const [topic, partitions] of wanted) assignment[topic] = [...partitions];
      return members.map((member, index) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          // Only one member is expected (unique group id); any other gets nothing.
          assignment: index === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}
