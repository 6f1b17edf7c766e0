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
 */
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

function install(): boolean {
  return replaceKafkajsModule('kafkajs/src/consumer/batch.js', 'kafkajs/src/consumer/consumerGroup.js', () =>
    createBatchClass(loadKafkajsModule<FilterAborted>('kafkajs/src/consumer/filterAbortedMessages.js')),
  );
}

/** True when kafkajs's consumer builds its batches with this class. */
export const installed: boolean = install();
