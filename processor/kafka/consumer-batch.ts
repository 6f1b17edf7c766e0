/**
 * kafkajs's `Batch` (the records of one partition from one fetch, as its consumer hands them to `eachBatch`), with
 * offsets compared as numbers. Imported (for its effect) through kafkajs-patches.ts by every module here that loads
 * kafkajs, before kafkajs itself, like record-decoding.ts.
 *
 * kafkajs 2.2.4 (`consumer/batch.js`) parses every record's decimal offset into a BigInt-backed Long to drop records
 * below the fetched offset, and copies the record list twice (that filter, then the control-record filter) even when
 * nothing is dropped. This replacement keeps its contract exactly (the same fields and methods, the same lists and
 * strings) and compares the numbers record-decoding.ts keeps (`FetchedRecord.offsetNumber`) when every offset is a
 * safe integer, reusing a list when its filter drops nothing; otherwise it compares with kafkajs's Long as kafkajs
 * does. Aborted records go through kafkajs's `filterAbortedMessages` module (aborted-transactions.ts replaces it).
 * kafkajs's consumer group captures the class when its module loads, so it is put into Node's module cache before
 * that (`installed` says whether it was in time).
 *
 * Responses decoded by fetch-decoding.ts (fetch-response.ts, every Fetch v11 with message format v2) carry record
 * batches instead of messages: their partitions become a `DecodedPartitionBatch`, whose `messages` are the visible
 * `ConsumedRecord`s, built when first read (when the runner handles the batch, not when the response arrives), with
 * the Java client's positions: `lastOffset()` is the last offset of the last record batch (records compacted away,
 * transaction markers and aborted records included), so resolving the last record moves past all of them.
 */
import type { KafkaMessage } from 'kafkajs';
import type { ConsumedRecord } from '../../common/records.js';
import { visibleRecords, type DecodedPartition } from './fetch-decoding.js';
import { toConsumedRecords } from './kafka-records.js';
import { loadKafkajsModule, replaceKafkajsModule } from './kafkajs-module.js';
import { FetchedRecord } from './record-decoding.js';

/** The fields of a fetched message the batch reads. */
export interface BatchMessage {
  readonly offset: string;
  readonly isControlRecord?: boolean;
}

interface LongValue {
  gte(other: LongValue): boolean;
  add(other: number | LongValue): LongValue;
  multiply(other: number): LongValue;
  toString(): string;
}

interface LongStatic {
  fromValue(value: string | number | LongValue): LongValue;
}

export interface PartitionData<M> {
  readonly partition: number;
  readonly highWatermark: string;
  readonly abortedTransactions?: readonly unknown[];
  readonly messages: M[];
}

type FilterAborted = <M>(args: { messages: M[]; abortedTransactions?: readonly unknown[] }) => M[];

const Long = loadKafkajsModule<LongStatic>('kafkajs/src/utils/long.js');

/** The numeric offset of `message` when it carries one, else undefined. */
function numericOffset(message: BatchMessage): number | undefined {
  return message instanceof FetchedRecord ? message.offsetNumber : undefined;
}

/** Messages at or above `fetchedOffset`; the list itself when it drops none. */
function withinOffset<M extends BatchMessage>(messages: M[], fetchedOffset: string): M[] {
  const from = Number(fetchedOffset);
  if (Number.isSafeInteger(from) && String(from) === fetchedOffset) {
    let numeric = true;
    let drops = false;
    for (const message of messages) {
      const offset = numericOffset(message);
      if (offset === undefined) {
        numeric = false;
        break;
      }
      if (offset < from) drops = true;
    }
    if (numeric) return drops ? messages.filter((m) => (numericOffset(m) as number) >= from) : messages;
  }
  const longFrom = Long.fromValue(fetchedOffset);
  return messages.filter((message) => Long.fromValue(message.offset).gte(longFrom));
}

/** Builds the class around the aborted-transaction filter kafkajs's batch uses. */
export function createBatchClass(filterAbortedMessages: FilterAborted) {
  return class Batch<M extends BatchMessage> {
    readonly fetchedOffset: string;
    readonly topic: string;
    readonly partition: number;
    readonly highWatermark: string;
    readonly rawMessages: M[];
    readonly messagesWithinOffset: M[];
    readonly messages: M[];

    constructor(topic: string, fetchedOffset: string, partitionData: PartitionData<M>) {
      this.fetchedOffset = fetchedOffset;
      const { abortedTransactions, messages } = partitionData;
      this.topic = topic;
      this.partition = partitionData.partition;
      this.highWatermark = partitionData.highWatermark;
      this.rawMessages = messages;
      this.messagesWithinOffset = withinOffset(messages, fetchedOffset);
      const visible = filterAbortedMessages({ messages: this.messagesWithinOffset, abortedTransactions });
      this.messages = visible.some((m) => m.isControlRecord) ? visible.filter((m) => !m.isControlRecord) : visible;
    }

    isEmpty(): boolean {
      return this.messages.length === 0;
    }

    isEmptyIncludingFiltered(): boolean {
      return this.messagesWithinOffset.length === 0;
    }

    isEmptyDueToFiltering(): boolean {
      return this.isEmpty() && this.rawMessages.length > 0;
    }

    isEmptyControlRecord(): boolean {
      return this.isEmpty() && this.messagesWithinOffset.some(({ isControlRecord }) => isControlRecord);
    }

    isEmptyDueToLogCompactedMessages(): boolean {
      return this.rawMessages.length > 0 && this.isEmptyIncludingFiltered();
    }

    firstOffset(): string | null {
      return this.isEmptyIncludingFiltered() ? null : (this.messagesWithinOffset[0] as M).offset;
    }

    lastOffset(): string {
      if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
      if (this.isEmptyIncludingFiltered()) return Long.fromValue(this.highWatermark).add(-1).toString();
      return (this.messagesWithinOffset[this.messagesWithinOffset.length - 1] as M).offset;
    }

    offsetLag(): string {
      const lastOffsetOfPartition = Long.fromValue(this.highWatermark).add(-1);
      const lastConsumedOffset = Long.fromValue(this.lastOffset());
      return lastOffsetOfPartition.add(lastConsumedOffset.multiply(-1)).toString();
    }

    offsetLagLow(): string {
      if (this.isEmptyIncludingFiltered()) return '0';
      const lastOffsetOfPartition = Long.fromValue(this.highWatermark).add(-1);
      const firstConsumedOffset = Long.fromValue(this.firstOffset() as string);
      return lastOffsetOfPartition.add(firstConsumedOffset.multiply(-1)).toString();
    }
  };
}

/**
 * The batch of one partition of a response decoded by fetch-decoding.ts (kafkajs's Batch contract, as its runner
 * and `eachBatch` use it). Offsets are numbers below 2^53 (fetch-decoding.ts reads them so).
 */
export class DecodedPartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly fetchedOffset: string;
  /** The partition's last stable offset (read_committed: where records stop being visible for now). */
  readonly lastStableOffset: string;
  readonly #data: DecodedPartition;
  readonly #from: number;
  /** Index of the first record batch ending at or after the fetched offset (the broker returns whole batches). */
  readonly #firstWithin: number;
  #records: ConsumedRecord[] | undefined;

  constructor(topic: string, fetchedOffset: string, data: DecodedPartition) {
    this.topic = topic;
    this.partition = data.partition;
    this.highWatermark = data.highWatermark;
    this.fetchedOffset = fetchedOffset;
    this.lastStableOffset = data.lastStableOffset;
    this.#data = data;
    this.#from = Number(fetchedOffset);
    let first = 0;
    while (first < data.batches.length && (data.batches[first] as DecodedBatchEntry).lastOffset < this.#from) first++;
    this.#firstWithin = first;
  }

  /** True when the response held no record batch for the partition (nothing to resolve). */
  fetchedNothing(): boolean {
    return this.#data.batches.length === 0;
  }

  /** The visible records at or after the fetched offset (transaction markers and aborted records dropped). */
  get messages(): ConsumedRecord[] {
    return (this.#records ??= visibleRecords(this.#data.batches, this.#data.abortedTransactions, this.#from));
  }

  /**
   * Lets go of the records once the batch is handled (they are built again if read again). kafkajs keeps a response's
   * batches until every one of them is handled: without this, the records of the partitions handled first would stay
   * alive (and be promoted to V8's old generation) while the later ones are processed.
   */
  releaseRecords(): void {
    this.#records = undefined;
  }

  isEmpty(): boolean {
    return this.messages.length === 0;
  }

  isEmptyIncludingFiltered(): boolean {
    return this.#firstWithin >= this.#data.batches.length;
  }

  isEmptyDueToFiltering(): boolean {
    return this.#data.batches.length > 0 && this.isEmpty();
  }

  isEmptyControlRecord(): boolean {
    return this.isEmpty() && this.#data.batches.slice(this.#firstWithin).some((batch) => batch.control);
  }

  isEmptyDueToLogCompactedMessages(): boolean {
    return this.#data.batches.length > 0 && this.isEmptyIncludingFiltered();
  }

  firstOffset(): string | null {
    if (this.isEmptyIncludingFiltered()) return null;
    const first = this.messages[0];
    if (first !== undefined) return String(first.offset);
    return String(Math.max(this.#from, (this.#data.batches[this.#firstWithin] as DecodedBatchEntry).baseOffset));
  }

  lastOffset(): string {
    const { batches } = this.#data;
    if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
    if (this.isEmptyIncludingFiltered()) return String(Number(this.highWatermark) - 1);
    return String((batches[batches.length - 1] as DecodedBatchEntry).lastOffset);
  }

  offsetLag(): string {
    return String(Number(this.highWatermark) - 1 - Number(this.lastOffset()));
  }

  offsetLagLow(): string {
    if (this.isEmptyIncludingFiltered()) return '0';
    return String(Number(this.highWatermark) - 1 - Number(this.firstOffset()));
  }
}

type DecodedBatchEntry = DecodedPartition['batches'][number];

/** A consumer batch's records as `ConsumedRecord`s (built by fetch-decoding.ts already, or converted from kafkajs's). */
export function batchRecords(batch: { topic: string; partition: number; messages: readonly unknown[] }): ConsumedRecord[] {
  if (batch instanceof DecodedPartitionBatch) return batch.messages;
  return toConsumedRecords(batch.topic, batch.partition, batch.messages as readonly KafkaMessage[]);
}

/** After `eachBatch` handled `batch` (its offsets resolved): its records are not needed any more. */
export function releaseBatchRecords(batch: unknown): void {
  if (batch instanceof DecodedPartitionBatch) batch.releaseRecords();
}

/** The kafkajs batch fields the position after a batch depends on. */
export interface ConsumerBatch {
  readonly topic: string;
  readonly partition: number;
  readonly fetchedOffset: string;
  readonly highWatermark: string;
  readonly rawMessages?: readonly unknown[];
  lastOffset(): string;
}

/**
 * The partition's next fetch offset once `batch` has been handled whole: kafkajs's runner resolves nothing for a
 * batch the response held nothing for, and the batch's last offset otherwise (its last record's, which kafkajs maps to
 * `lastOffset()`, or `lastOffset()` itself for batches of markers and aborted records only).
 */
export function nextFetchOffset(batch: ConsumerBatch): string {
  const nothing = batch instanceof DecodedPartitionBatch ? batch.fetchedNothing() : (batch.rawMessages?.length ?? 0) === 0;
  if (nothing) return batch.fetchedOffset;
  return Long.fromValue(batch.lastOffset()).add(1).toString();
}

/** True when the broker holds records of the partition past `next` (its last stable offset, else high watermark). */
export function moreAvailable(batch: ConsumerBatch, next: string): boolean {
  const end = batch instanceof DecodedPartitionBatch && Number(batch.lastStableOffset) >= 0 ? batch.lastStableOffset : batch.highWatermark;
  return Number(end) > Number(next);
}

/** kafkajs's `new Batch(topic, fetchedOffset, partitionData)`: a DecodedPartitionBatch for decoded record batches. */
export function createConsumerBatch(filterAbortedMessages: FilterAborted) {
  const MessageBatch = createBatchClass(filterAbortedMessages);
  // Called with `new`: the object returned is the batch.
  return function Batch(topic: string, fetchedOffset: string, data: PartitionData<BatchMessage> | DecodedPartition) {
    return 'batches' in data ? new DecodedPartitionBatch(topic, fetchedOffset, data) : new MessageBatch(topic, fetchedOffset, data);
  };
}

function install(): boolean {
  return replaceKafkajsModule('kafkajs/src/consumer/batch.js', 'kafkajs/src/consumer/consumerGroup.js', () =>
    createConsumerBatch(loadKafkajsModule<FilterAborted>('kafkajs/src/consumer/filterAbortedMessages.js')),
  );
}

/** True when kafkajs's consumer builds its batches with this class. */
export const installed: boolean = install();
