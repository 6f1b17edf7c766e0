/**
 * Reads an explicit set of partitions from given offsets without a consumer group: fetch requests go straight to
 * the partition leaders through kafkajs's cluster (kafkajs-cluster.ts). No group join, so no JoinGroup round and no
 * `group.initial.rebalance.delay.ms` wait (3 s on a default broker) per read, and nothing shows up as a group.
 *
 * Two modes:
 * - `until-end` (restoration, bootstrap): delivers offsets below the given end offsets, then stops and `run()`
 *   resolves. "Caught up" is `position >= end` (compaction gaps and transaction markers mean offset end-1 may never
 *   arrive), and partitions that start at or past their end are done before any fetch.
 * - `forever` (global table updates): keeps delivering until `stop()`; `caughtUp()` still reports reaching the end
 *   offsets when they are given.
 *
 * Fetch-ahead: the next fetch is sent when a response arrives, before that response's records are handed to
 * `onBatch`, so the broker round trip and decoding overlap the caller's writes. At most one fetch is in flight and one
 * response is being delivered: memory is bounded by about twice `fetch.maxBytes` (per leader broker).
 *
 * Reads are read_committed (last stable offsets; records of aborted transactions dropped by aborted-transactions.ts's
 * rule). Leader changes, unknown leaders and closed connections refresh the metadata and fetch again (backing off,
 * for up to RECOVERY_TIME_MS without progress); OFFSET_OUT_OF_RANGE (retention moved the log start past the
 * position) continues from the log start, as a consumer with `auto.offset.reset=earliest` does. Only the given
 * partitions are read: partitions added to the topic later are the caller's to add (a new reader).
 */
// Before kafkajs loads: some of its internals are replaced (see the file).
import './kafkajs-patches.js';
import type { KafkaMessage } from 'kafkajs';
import { PartitionReaderError } from '../../errors.js';
import { topicPartitionId, type ConsumedRecord, type RecordRun, type TopicPartitionId } from '../../common/records.js';
import { filterAbortedMessages } from './aborted-transactions.js';
import type { KafkaClient } from './client.js';
import { toConsumedRecord } from './kafka-records.js';
import { visibleRecords, visibleRun, type DecodedPartition } from './fetch-decoding.js';
import {
  createReaderCluster,
  fetchFrom,
  READ_COMMITTED,
  type FetchedRecord,
  type FetchRequest,
  type ReadPartition,
  type ReaderCluster,
} from './kafkajs-cluster.js';
import type { PartitionReaderOptions, PartitionReading } from './partition-reading.js';
import { releaseFrame } from './response-framing.js';

export type { FetchTuning, PartitionReaderOptions, PartitionStart } from './partition-reading.js';

/** Fetch defaults (FetchTuning documents them). */
export const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** How long fetches may keep failing with recoverable errors (leader moves, broker restarts) before the read fails. */
const RECOVERY_TIME_MS = 30_000;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1_000;

/** kafkajs error types after which fresh metadata (a new leader) lets the fetch succeed. */
const STALE_METADATA_TYPES: ReadonlySet<string> = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
]);
const STALE_METADATA_NAMES: ReadonlySet<string> = new Set([
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
]);

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly start: number;
  end: number;
  /** Next offset to deliver (what `positions()` reports: everything below it went through `onBatch`). */
  position: number;
  /** Next offset to fetch: ahead of `position` while a fetched response waits to be delivered. */
  fetchPosition: number;
  /** `onCaughtUp` was called for it. */
  reported: boolean;
}

/** One partition's share of a fetch response: its records to deliver (possibly built on first read) and the position after them. */
interface Fetched {
  readonly state: PartitionState;
  readonly records: ConsumedRecord[];
  readonly next: number;
  /** The records from `from` on, unbuilt (fetch-decoding.ts's batches only; undefined: deliver `records`). */
  readonly run?: (from: number) => RecordRun | undefined;
  /** The response it came in (fetch-decoding.ts's batches only), freed once every partition of it is released. */
  readonly response?: ResponseRelease;
}

/**
 * A fetch response whose partitions are delivered as runs: its bytes are freed (response-framing.ts `releaseFrame`)
 * once the reader of every one of them released its run (`RecordRun.release`), rather than when V8 collects the
 * last view of them (a full GC: a bootstrap's dead responses piled up until then). A partition delivered as records,
 * or not delivered at all (stopped, failed), keeps the response for the GC to collect as before.
 */
class ResponseRelease {
  #unreleased = 0;
  #kept = false;

  constructor(private readonly bytes: Buffer) {}

  /** One more partition of the response to deliver. */
  add(): void {
    this.#unreleased++;
  }

  /** A partition's records were delivered built (they are views of the response): it stays. */
  keep(): void {
    this.#kept = true;
  }

  /** The run `run` of one of its partitions, with a `release` that frees the response when it is the last. */
  releasable(run: RecordRun): RecordRun {
    let released = false;
    return {
      ...run,
      release: () => {
        if (released) return;
        released = true;
        if (--this.#unreleased === 0 && !this.#kept) releaseFrame(this.bytes);
      },
    };
  }
}

/** A partition the metadata names no leader for (yet): refresh and fetch again. */
class MissingLeaderError extends Error {
  readonly retriable = true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PartitionReader implements PartitionReading {
  private readonly client: KafkaClient;
  private readonly options: PartitionReaderOptions;
  private readonly mode: 'until-end' | 'forever';
  private readonly states = new Map<TopicPartitionId, PartitionState>();
  private readonly request: Omit<FetchRequest, 'topics'>;
  private readonly maxBytesPerPartition: number;
  private readonly createCluster: () => ReaderCluster;
  private cluster: ReaderCluster | undefined;
  private started = false;
  private stopRequested = false;
  private running: Promise<void> | undefined;
  /** Wake-ups of waits that end early on `stop()` (a Set, not one shared promise: races on it would pile up handlers). */
  private readonly stopListeners = new Set<() => void>();
  /** Partitions whose fetch position jumped (log start moved) without a response to carry it. */
  private resets: Fetched[] = [];
  private fetchRounds = 0;
  private readonly caughtUpPromise: Promise<void>;
  private resolveCaughtUp!: () => void;
  private isCaughtUp = false;

  /**
   * `createCluster` replaces the kafkajs cluster (unit tests script one); by default each `run()` builds its own from
   * the client's kafkajs instance.
   */
  constructor(client: KafkaClient, options: PartitionReaderOptions, createCluster?: () => ReaderCluster) {
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
    this.createCluster = createCluster ?? (() => createReaderCluster(client.kafka));
    this.mode = options.mode ?? 'until-end';
    const fetch = options.fetch ?? {};
    this.maxBytesPerPartition = fetch.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION;
    this.request = {
      isolationLevel: READ_COMMITTED,
      maxWaitTime: fetch.maxWaitTimeInMs ?? (this.mode === 'until-end' ? 100 : 500),
      minBytes: fetch.minBytes ?? 1,
      maxBytes: fetch.maxBytes ?? DEFAULT_MAX_BYTES,
    };
    this.caughtUpPromise = new Promise((resolve) => {
      this.resolveCaughtUp = resolve;
    });
  }

  /**
   * Reads until done: in `until-end` mode resolves once every partition reached its end offset; in `forever` mode
   * resolves after `stop()`. Rejects with `PartitionReaderError` when a topic/partition is missing, fetching keeps
   * failing, or `onBatch` throws (that batch is not retried: the caller restarts from its own positions).
   */
  run(): Promise<void> {
    if (this.started) return Promise.reject(new PartitionReaderError('run() was already called; create a new PartitionReader'));
    this.started = true;
    this.running = this.read();
    return this.running;
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
    this.stopRequested = true;
    for (const wake of this.stopListeners) wake();
    this.stopListeners.clear();
    await this.running?.catch(() => undefined);
  }

  private async read(): Promise<void> {
    if (this.stopRequested) return;
    const cluster = this.createCluster();
    this.cluster = cluster;
    try {
      await this.resolveOffsets(cluster);
      this.checkCaughtUp();
      if (this.mode === 'until-end' && this.isCaughtUp) return;
      if (this.stopRequested) return;
      await this.readLoop();
    } finally {
      await cluster.disconnect().catch(() => undefined);
    }
  }

  /** Checks the topics and partitions exist; start (default: log start) and end (default: last stable offset) per partition. */
  private async resolveOffsets(cluster: ReaderCluster): Promise<void> {
    const topics = [...new Set(this.options.partitions.map((p) => p.topic))];
    const low = new Map<TopicPartitionId, number>();
    const high = new Map<TopicPartitionId, number>();
    try {
      await cluster.connect();
      const { topicMetadata } = await cluster.metadata();
      const existing = new Map(topicMetadata.map((t) => [t.topic, new Set(t.partitionMetadata.map((p) => p.partitionId))]));
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) throw new PartitionReaderError(`topic(s) ${missing.join(', ')} do not exist`);
      for (const p of this.options.partitions) {
        if (!existing.get(p.topic)?.has(p.partition))
          throw new PartitionReaderError(`partition ${topicPartitionId(p.topic, p.partition)} does not exist`);
      }
      await cluster.addMultipleTargetTopics(topics);
      const request = (fromBeginning: boolean) =>
        topics.map((topic) => ({
          topic,
          fromBeginning,
          partitions: this.options.partitions.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition })),
        }));
      const needsEnds = this.options.partitions.some(
        (p) => this.options.endOffsets?.get(topicPartitionId(p.topic, p.partition)) === undefined,
      );
      const needsStarts = this.options.partitions.some((p) => p.offset === undefined);
      const [starts, ends] = await Promise.all([
        needsStarts ? cluster.fetchTopicsOffset(request(true)) : [],
        needsEnds ? cluster.fetchTopicsOffset(request(false)) : [],
      ]);
      for (const t of starts) for (const o of t.partitions) low.set(topicPartitionId(t.topic, o.partition), Number(o.offset));
      for (const t of ends) for (const o of t.partitions) high.set(topicPartitionId(t.topic, o.partition), Number(o.offset));
    } catch (error) {
      if (error instanceof PartitionReaderError) throw error;
      throw new PartitionReaderError(`could not read offsets: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    for (const p of this.options.partitions) {
      const id = topicPartitionId(p.topic, p.partition);
      const start = p.offset ?? (low.get(id) as number);
      const end = this.options.endOffsets?.get(id) ?? (high.get(id) as number);
      this.states.set(id, { topic: p.topic, partition: p.partition, start, end, position: start, fetchPosition: start, reported: false });
    }
  }

  /** Fetch, then deliver; the next fetch goes out before the previous response's records are delivered. */
  private async readLoop(): Promise<void> {
    let pending = this.fetchRound();
    try {
      for (;;) {
        const fetched = await this.unlessStopped(pending);
        if (fetched === 'stopped' || this.stopRequested) return;
        pending = this.fetchRound();
        for (const item of fetched) {
          if (this.stopRequested) return;
          await this.deliver(item);
        }
        if (this.mode === 'until-end' && this.isCaughtUp) return;
      }
    } finally {
      // Its result is not wanted any more (stopping, done or failed); a later rejection must not go unhandled.
      pending.catch(() => undefined);
    }
  }

  private async deliver(fetched: Fetched): Promise<void> {
    const { state, next } = fetched;
    const unbuilt = this.options.onRun === undefined ? undefined : fetched.run?.(state.position);
    if (unbuilt === undefined) fetched.response?.keep();
    const run = unbuilt === undefined || fetched.response === undefined ? unbuilt : fetched.response.releasable(unbuilt);
    if (run !== undefined) {
      try {
        await this.options.onRun?.(run);
      } catch (error) {
        throw new PartitionReaderError(`onRun failed on ${state.topic}:${state.partition}`, { cause: error });
      }
      if (next > state.position) state.position = next;
      this.checkCaughtUp();
      return;
    }
    let records: ConsumedRecord[];
    try {
      records = fetched.records; // built now for a response fetched ahead (toFetchedBatches)
    } catch (error) {
      throw new PartitionReaderError(`decoding the records of ${state.topic}:${state.partition} failed`, { cause: error });
    }
    // After a log-start reset the fetch may restart below what was already delivered.
    const fresh = records.length > 0 && records[0].offset < state.position ? records.filter((r) => r.offset >= state.position) : records;
    if (fresh.length > 0) {
      try {
        await this.options.onBatch(fresh);
      } catch (error) {
        throw new PartitionReaderError(`onBatch failed on ${state.topic}:${state.partition}`, { cause: error });
      }
    }
    if (next > state.position) state.position = next;
    this.checkCaughtUp();
  }

  /** One fetch per leader of the partitions still to read; retries recoverable failures with backoff. */
  private async fetchRound(): Promise<Fetched[]> {
    const deadline = Date.now() + RECOVERY_TIME_MS;
    for (let attempt = 0; ; attempt++) {
      const wanted = this.partitionsToFetch();
      if (wanted.length === 0) {
        const resets = this.takeResets();
        // Everything is fetched and waits for delivery (until-end): nothing to ask the broker.
        if (resets.length === 0 && !this.stopRequested) await this.unlessStopped(sleep(this.request.maxWaitTime));
        return resets;
      }
      try {
        const fetched = await this.fetchOnce(wanted);
        return [...this.takeResets(), ...fetched];
      } catch (error) {
        if (this.stopRequested) return [];
        if (isOffsetOutOfRange(error)) {
          await this.resetToLogStart(error.topic, error.partition);
          continue;
        }
        if (!isRecoverable(error) || Date.now() >= deadline) {
          throw new PartitionReaderError(`fetching failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        this.client.logger.debug('partition reader: fetch failed, refreshing metadata and fetching again', {
          reader: this.options.groupIdPrefix,
          error: error instanceof Error ? error.message : String(error),
        });
        await this.recover(error);
        await this.unlessStopped(sleep(Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** attempt)));
      }
    }
  }

  /** `promise`'s outcome, or 'stopped' as soon as `stop()` is called. */
  private unlessStopped<T>(promise: Promise<T>): Promise<T | 'stopped'> {
    if (this.stopRequested) return Promise.resolve('stopped');
    return new Promise<T | 'stopped'>((resolve, reject) => {
      const wake = () => resolve('stopped');
      this.stopListeners.add(wake);
      promise.then(
        (value) => {
          this.stopListeners.delete(wake);
          resolve(value);
        },
        (error: unknown) => {
          this.stopListeners.delete(wake);
          reject(error);
        },
      );
    });
  }

  private partitionsToFetch(): PartitionState[] {
    const wanted: PartitionState[] = [];
    for (const state of this.states.values()) {
      if (this.mode === 'forever' || state.fetchPosition < state.end) wanted.push(state);
    }
    // A response fills up in request order (up to maxBytes): start each fetch one partition further (KIP-74 fairness).
    const first = this.fetchRounds++ % Math.max(1, wanted.length);
    return first === 0 ? wanted : [...wanted.slice(first), ...wanted.slice(0, first)];
  }

  private takeResets(): Fetched[] {
    const resets = this.resets;
    this.resets = [];
    return resets;
  }

  private async fetchOnce(wanted: readonly PartitionState[]): Promise<Fetched[]> {
    const cluster = this.cluster as ReaderCluster;
    const byTopic = new Map<string, PartitionState[]>();
    for (const state of wanted) {
      const list = byTopic.get(state.topic);
      if (list) list.push(state);
      else byTopic.set(state.topic, [state]);
    }
    const byLeader = new Map<string, FetchRequest['topics']>();
    const fetchedFrom = new Map<TopicPartitionId, number>();
    for (const [topic, states] of byTopic) {
      const leaders = cluster.findLeaderForPartitions(
        topic,
        states.map((s) => s.partition),
      );
      let found = 0;
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        found += partitions.length;
        const topics = byLeader.get(nodeId) ?? [];
        byLeader.set(nodeId, topics);
        topics.push({
          topic,
          partitions: partitions.map((partition) => {
            const state = this.states.get(topicPartitionId(topic, partition)) as PartitionState;
            fetchedFrom.set(topicPartitionId(topic, partition), state.fetchPosition);
            return { partition, fetchOffset: String(state.fetchPosition), maxBytes: this.maxBytesPerPartition };
          }),
        });
      }
      if (found < states.length) throw new MissingLeaderError(`no leader known for some partitions of ${topic}`);
    }
    const responses = await Promise.all(
      [...byLeader].map(async ([nodeId, topics]) => {
        const broker = await cluster.findBroker({ nodeId });
        return fetchFrom(broker, { ...this.request, topics });
      }),
    );
    const result: Fetched[] = [];
    for (const { responses: topics } of responses) {
      let response: ResponseRelease | undefined;
      for (const { topicName, partitions } of topics) {
        for (const data of partitions) {
          const id = topicPartitionId(topicName, data.partition);
          const state = this.states.get(id);
          const from = fetchedFrom.get(id);
          if (state === undefined || from === undefined || state.fetchPosition !== from) continue;
          if ('responseBytes' in data && data.responseBytes !== undefined) response ??= new ResponseRelease(data.responseBytes);
          const fetched = this.toFetched(state, from, data, response);
          state.fetchPosition = fetched.next;
          if (fetched.next > from || fetched.records.length > 0) {
            fetched.response?.add();
            result.push(fetched);
          }
        }
      }
    }
    return result;
  }

  /** A partition's response: the records to deliver and the next offset to fetch (past markers and aborted records). */
  private toFetched(state: PartitionState, from: number, data: ReadPartition, response?: ResponseRelease): Fetched {
    if ('batches' in data) return this.toFetchedBatches(state, from, data, response);
    const { messages } = data;
    let next = from;
    // A compressed record batch is returned whole: records below the fetch offset are skipped.
    let firstIndex = 0;
    // Records of one record batch share their context object: its end is computed once per batch.
    let lastContext: FetchedRecord['batchContext'] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as FetchedRecord;
      const context = message.batchContext as FetchedRecord['batchContext'] | undefined;
      if (context !== undefined && context === lastContext && i !== firstIndex) continue;
      const offset = Number(message.offset);
      if (offset < from) {
        firstIndex = i + 1;
        lastContext = undefined;
      } else {
        lastContext = context;
      }
      // The batch's last offset: records compacted away at its end move the position too.
      const batchEnd = context === undefined ? offset + 1 : Number(context.firstOffset) + context.lastOffsetDelta + 1;
      if (batchEnd > next) next = batchEnd;
    }
    const inRange = firstIndex === 0 ? messages : messages.slice(firstIndex);
    const visible =
      data.abortedTransactions !== undefined && data.abortedTransactions.length > 0
        ? filterAbortedMessages(inRange, data.abortedTransactions)
        : inRange;
    const limit = this.mode === 'until-end' ? state.end : Number.POSITIVE_INFINITY;
    const records: ConsumedRecord[] = [];
    for (const message of visible) {
      if (message.isControlRecord === true) continue;
      const record = toConsumedRecord(state.topic, state.partition, message as unknown as KafkaMessage);
      if (record.offset >= limit) break;
      records.push(record);
    }
    return { state, records, next };
  }

  /** The same from fetch-decoding.ts's batches. */
  private toFetchedBatches(state: PartitionState, from: number, data: DecodedPartition, response?: ResponseRelease): Fetched {
    let next = from;
    for (const batch of data.batches) if (batch.lastOffset + 1 > next) next = batch.lastOffset + 1;
    const end = this.mode === 'until-end' ? state.end : Number.POSITIVE_INFINITY;
    // The records are built when delivered (`deliver`), not when the response arrives: a response fetched ahead
    // then holds its bytes rather than three objects per record that every young-generation GC meanwhile copies.
    let records: ConsumedRecord[] | undefined;
    return {
      state,
      next,
      response,
      // After a log-start reset the fetch may restart below what was already delivered: `position` is the later one.
      run: (position) => visibleRun(state.topic, state.partition, data.batches, data.abortedTransactions, Math.max(from, position), end),
      get records(): ConsumedRecord[] {
        if (records === undefined) {
          records = visibleRecords(data.batches, data.abortedTransactions, from);
          let cut = records.length;
          while (cut > 0 && (records[cut - 1] as ConsumedRecord).offset >= end) cut--;
          if (cut < records.length) records.length = cut;
        }
        return records;
      },
    };
  }

  /** Recoverable failures: forget a closed connection's broker, reload the metadata (leaders) either way. */
  private async recover(error: unknown): Promise<void> {
    const cluster = this.cluster as ReaderCluster;
    const failed = error as { name?: string; host?: string; port?: number };
    if (failed.name === 'KafkaJSConnectionClosedError' && failed.host !== undefined && failed.port !== undefined) {
      cluster.removeBroker({ host: failed.host, port: failed.port });
    }
    await cluster.refreshMetadata().catch(() => undefined);
  }

  /** OFFSET_OUT_OF_RANGE: the log no longer holds the fetch position; continue at its start. */
  private async resetToLogStart(topic: string, partition: number): Promise<void> {
    const state = this.states.get(topicPartitionId(topic, partition));
    if (state === undefined) return;
    const cluster = this.cluster as ReaderCluster;
    const [offsets] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: true, partitions: [{ partition }] }]);
    const logStart = Number(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? state.fetchPosition);
    this.client.logger.warn('partition reader: the fetch position is no longer in the log, continuing at the log start', {
      topic,
      partition,
      position: state.fetchPosition,
      logStart,
    });
    state.fetchPosition = logStart;
    if (logStart > state.position) this.resets.push({ state, records: [], next: logStart });
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
}

function isOffsetOutOfRange(error: unknown): error is Error & { topic: string; partition: number } {
  return error instanceof Error && error.name === 'KafkaJSOffsetOutOfRange';
}

function isRecoverable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { name, type, retriable } = error as Error & { type?: string; retriable?: boolean };
  return retriable === true || STALE_METADATA_NAMES.has(name) || (type !== undefined && STALE_METADATA_TYPES.has(type));
}
