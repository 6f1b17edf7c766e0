/**
 * Makes a co-partitioned store partition hold exactly its keys after its topic grew (key-regrouping.ts says which
 * keys and which earlier partitions). Per store of a task whose topic (a table's source topic; a derived store's
 * changelog topic) has an earlier count in its history, once per current count (a `regroupMarker` checkpoint says it
 * was done):
 * - no earlier partition can hold keys of this task besides its own (an old task of a growth by a multiple): keys that
 *   no longer hash to it are deleted, in bounded batches;
 * - otherwise (a new task, or any task after a growth by a non-multiple): the store is cleared if it holds anything
 *   (a standby's or an interrupted regrouping's records would be applied under older ones), then the earlier
 *   partitions are read one after the other (earlier counts first), keeping the records of keys that hash to this
 *   task, before the task's own partition is restored as usual.
 * Every restoration of the store's own partition keeps only its keys too (`ownKeysDecoder`): the own partition of an old
 * task holds older records of keys that moved.
 */
import type { Logger } from '../../common/logger.js';
import { topicPartitionId, type TopicPartitionId } from '../../common/records.js';
import type { KeyValueStore, KeyedWrite } from '../../state-store/types.js';
import type { TableRecordDecoder } from '../engine/table-decoder.js';
import type { LogOffsets } from '../kafka/cluster-lookups.js';
import type { ChangelogReader, ChangelogTarget } from './changelog-reader.js';
import { ancestorPartitions, ownsKey, regroupMarker } from './key-regrouping.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keys deleted per store batch when a task drops the keys that moved away. */
export const DROP_BATCH_SIZE = 1000;

/** A decoder that skips records of keys not owned by task `partition` of `count` (tombstones of them delete nothing). */
export function ownKeysDecoder(decoder: TableRecordDecoder, partition: number, count: number): TableRecordDecoder {
  return {
    decode: (record) => (record.key !== null && !ownsKey(record.key, partition, count) ? null : decoder.decode(record)),
    onDecodeError: (record, error) => decoder.onDecodeError(record, error),
  };
}

/** Deletes every key of `store` that does not hash to `partition` of `count`, DROP_BATCH_SIZE at a time; returns the count. */
export async function dropForeignKeys(
  store: KeyValueStore<unknown>,
  partition: number,
  count: number,
  batchSize = DROP_BATCH_SIZE,
): Promise<number> {
  let dropped = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const deletes: KeyedWrite<unknown>[] = [];
    let last: Uint8Array | undefined;
    let seen = 0;
    for await (const entry of store.range(after === undefined ? { limit: batchSize } : { gt: after, limit: batchSize })) {
      seen++;
      last = entry.key;
      if (!ownsKey(entry.key, partition, count)) deletes.push({ type: 'delete', key: entry.key });
    }
    if (deletes.length > 0) await store.write(deletes);
    dropped += deletes.length;
    if (seen < batchSize || last === undefined) return dropped;
    after = last;
  }
}

/** One store of a task and the topic its keys are partitioned by. */
export interface RegroupedStore {
  readonly name: string;
  readonly topic: string;
  /** Ascending counts, the current last (partition-history.ts). */
  readonly history: readonly number[];
  /** Window stores are not regrouped (their keys are not record keys). */
  readonly regroupable: boolean;
}

/** The earlier-partition reads one task still needs, in order, and what marks them done. */
export interface PendingRegroup {
  /** One target per earlier partition, in read order: run one after the other. */
  readonly targets: readonly ChangelogTarget[];
  /** Epoch ms before which the reads do not start (producers with stale metadata may still write the old partitions). */
  readonly notBefore: number;
  /** Writes the markers (after every target reached its end). */
  finish(): Promise<void>;
}

export interface RegroupContext {
  readonly partition: number;
  readonly logs: ReadonlyMap<TopicPartitionId, LogOffsets>;
  readonly logger: Logger;
  /** Deletes and reopens a store (the state directory's). */
  readonly clear: (name: string) => Promise<KeyValueStore<unknown>>;
  /** Epoch ms before which the earlier partitions of `count` partitions of `topic` are not read. Default: at once. */
  readonly notBefore?: (topic: string, count: number) => number;
  /** The decoder of the store's earlier partitions (keys filtered here). */
  readonly decoder: (name: string) => Pick<ChangelogTarget, 'decoder' | 'decodeTombstones'>;
}

/**
 * Prepares the regrouping of a task's stores (see the file comment): drops foreign keys now where that is all there is
 * to do, clears stores that must be rebuilt (updating `stores`), and returns the reads still to run, or undefined.
 */
export async function prepareRegroup(
  stores: Map<string, KeyValueStore<unknown>>,
  regrouped: readonly RegroupedStore[],
  context: RegroupContext,
): Promise<PendingRegroup | undefined> {
  const { partition, logs, logger } = context;
  const targets: ChangelogTarget[] = [];
  const markers: { name: string; marker: TopicPartitionId }[] = [];
  let notBefore = 0;
  for (const { name, topic, history, regroupable } of regrouped) {
    let store = stores.get(name);
    const count = history[history.length - 1];
    if (store === undefined || history.length <= 1 || !regroupable) continue;
    const marker = regroupMarker(topic, count);
    if (store.checkpoints().has(marker)) continue;
    const ancestors = ancestorPartitions(partition, history);
    if (ancestors.length === 0) {
      const dropped = await dropForeignKeys(store, partition, count);
      await store.write([], new Map([[marker, count]]));
      logger.info(`store ${name} partition ${partition} keeps only its keys for ${count} partitions of ${topic}: ${dropped} moved away`, {
        store: name,
        partition,
        dropped,
      });
      continue;
    }
    if (store.checkpoints().size > 0) {
      logger.info(`store ${name} partition ${partition} is rebuilt: its keys are read again from earlier partitions of ${topic}`);
      store = await context.clear(name);
      stores.set(name, store);
    }
    for (const source of ancestors) {
      const tp = topicPartitionId(topic, source);
      const log = logs.get(tp);
      if (log === undefined) continue;
      targets.push({
        label: `${name}[${partition}] from ${tp}`,
        store,
        partitions: new Map([[tp, { from: log.start, to: log.end }]]),
        ...context.decoder(name),
      });
    }
    markers.push({ name, marker });
    notBefore = Math.max(notBefore, context.notBefore?.(topic, count) ?? 0);
    logger.info(
      `store ${name} partition ${partition}: reading the keys it owns now from earlier partitions ${ancestors.join(',')} of ${topic} (${history.join(' → ')})`,
    );
  }
  if (markers.length === 0) return undefined;
  return {
    targets,
    notBefore,
    finish: async () => {
      for (const { name, marker } of markers) {
        const store = stores.get(name);
        if (store !== undefined) await store.write([], new Map([[marker, Number(marker.slice(marker.lastIndexOf(':') + 1))]]));
      }
    },
  };
}

/**
 * Runs `pending` one target at a time, each read to the end offset of its partition when its turn comes (`endOffset`:
 * records written to the old partition since the assignment are read too); false when `current.stopped` said so first
 * (nothing marked then).
 */
export async function runRegroup(
  pending: PendingRegroup,
  reader: (target: ChangelogTarget) => ChangelogReader,
  current: { reader?: ChangelogReader; stopped: boolean },
  endOffset: (tp: TopicPartitionId) => Promise<number | undefined>,
): Promise<boolean> {
  while (!current.stopped && Date.now() < pending.notBefore) await sleep(Math.min(200, pending.notBefore - Date.now()));
  for (const planned of pending.targets) {
    if (current.stopped) return false;
    const spans = new Map<TopicPartitionId, { from: number; to: number }>();
    for (const [tp, span] of planned.partitions)
      spans.set(tp, { from: span.from, to: Math.max(span.to, (await endOffset(tp)) ?? span.to) });
    const target: ChangelogTarget = { ...planned, partitions: spans };
    const job = reader(target);
    current.reader = job;
    const results = await job.run();
    current.reader = undefined;
    const result = results.get(target);
    if (current.stopped || (result !== undefined && !result.caughtUp)) return false;
  }
  if (current.stopped) return false;
  await pending.finish();
  return true;
}
