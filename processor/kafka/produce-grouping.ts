/**
 * Linear grouping of produced messages by partition for kafkajs. Imported (for its effect) through kafkajs-patches.ts
 * by every module here that loads kafkajs, before kafkajs itself, like aborted-transactions.ts.
 *
 * kafkajs 2.2.4's `groupMessagesPerPartition` copies a partition's whole message array for every message it adds
 * (`[...current, message]`): quadratic in the messages of one partition per request, and most of the garbage a
 * producing process made. This replacement keeps its contract (an object from partition to that partition's messages
 * in input order, `{}` without partition metadata, the partitioner called once per message in order) and pushes
 * instead. kafkajs's producer captures the function when its module loads, so it is put into Node's module cache
 * before that (`installed` says whether it was in time; a process that loaded kafkajs first keeps the original,
 * which is only slower).
 */
import { replaceKafkajsModule } from './kafkajs-module.js';

export interface GroupingInput<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** `groupMessagesPerPartition` of kafkajs, in linear time. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupingInput<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

function install(): boolean {
  return replaceKafkajsModule(
    'kafkajs/src/producer/groupMessagesPerPartition.js',
    'kafkajs/src/producer/sendMessages.js',
    () => groupMessagesPerPartition,
  );
}

/** True when kafkajs's producer uses `groupMessagesPerPartition` above (it was not loaded before this module). */
export const installed: boolean = install();
