/**
 * read_committed for kafkajs: which fetched records belong to aborted transactions. Imported (for its effect) through
 * kafkajs-patches.ts by every module here that loads kafkajs, before kafkajs itself.
 *
 * kafkajs 2.2.4's `filterAbortedMessages` activates at most one aborted transaction per record and assumes the
 * fetch response lists them by first offset. The broker lists them in the order they were aborted, and activates
 * none before the fetch's first record: with several producers writing aborted transactions into one partition
 * (every task of a sub-topology writes to every repartition partition), records of aborted transactions reach the
 * consumer. Exactly-once then processes them (duplicates downstream). This is the Java client's rule instead: every
 * aborted transaction whose first offset is at or below a record's offset is active for its producer until that
 * producer's abort marker, and a record of a producer with an active aborted transaction is dropped.
 *
 * kafkajs captures the filter when its consumer module loads, so the replacement is put into Node's module cache
 * before that (`installed` says whether it was in time; a process that loaded kafkajs first keeps kafkajs's filter).
 */
import { replaceKafkajsModule } from './kafkajs-module.js';

/** What kafkajs passes: fetched records (with their record batch) and the response's aborted transactions. */
export interface FetchedMessage {
  readonly offset: string;
  readonly key?: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** Control record key of an abort marker: version 0, type 0 (ABORT). */
const ABORT_KEY = Buffer.from([0, 0, 0, 0]);

const isAbortMarker = (message: FetchedMessage): boolean =>
  message.isControlRecord === true && message.key != null && Buffer.from(message.key).equals(ABORT_KEY);

/** The records of `messages` (offset order) that are not part of an aborted transaction; markers are kept. */
export function filterAbortedMessages<M extends FetchedMessage>(
  messages: readonly M[],
  abortedTransactions?: readonly AbortedTransaction[],
): M[] {
  if (abortedTransactions === undefined || abortedTransactions.length === 0) return [...messages];
  const pending = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  const active = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (next < pending.length && BigInt(pending[next].firstOffset) <= offset) active.add(String(pending[next++].producerId));
    const producerId = String(message.batchContext.producerId);
    if (isAbortMarker(message)) {
      active.delete(producerId);
      return true;
    }
    return !(message.batchContext.inTransaction && active.has(producerId));
  });
}

function install(): boolean {
  // kafkajs calls it as filterAbortedMessages({ messages, abortedTransactions }).
  return replaceKafkajsModule(
    'kafkajs/src/consumer/filterAbortedMessages.js',
    'kafkajs/src/consumer/batch.js',
    () =>
      ({ messages, abortedTransactions }: { messages: FetchedMessage[]; abortedTransactions?: AbortedTransaction[] }) =>
        filterAbortedMessages(messages, abortedTransactions),
  );
}

/** True when kafkajs's consumer uses `filterAbortedMessages` above (it was not loaded before this module). */
export const installed: boolean = install();
