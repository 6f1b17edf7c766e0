/**
 * At start, for every table fed by Kafka Connect (a table `format`): reads the last few records of each partition of
 * its topic and checks that routing by key agrees with where Connect put the rows, before the instance joins the
 * group. Two things must hold on every sampled record with a key:
 *
 * 1. the Connect key serde reproduces the key bytes byte for byte from the unwrapped key (so a lookup of `42`
 *    builds the bytes Connect hashed, and a repartition for a join writes them);
 * 2. for a partitioned table, the record's partition is murmur2 of those bytes (Connect used Kafka's default
 *    partitioner; a custom partitioner or a partition-routing transform breaks key routing).
 *
 * Otherwise `ConnectKeyRoutingError` says which record and why. Reading the keys also teaches the serdes the key
 * form (wrapper, schema, field order), so every instance can route lookups for partitions it does not own.
 */
import { ConnectKeyRoutingError, SerdeError } from '../../errors.js';
import { defaultPartition } from '../../common/partitioner.js';
import type { Logger } from '../../common/logger.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import type { Topology } from '../../topology/topology.js';
import { isConnectKeySerde, type ConnectKeySerde } from '../../topology/formats/connect-key.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { PartitionReader } from '../kafka/partition-reader.js';

export interface ConnectKeyCheckOptions {
  readonly topology: Topology;
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  readonly partitions: ReadonlyMap<string, number>;
  readonly logger: Logger;
  /** Records read from the end of each partition. Default 20. */
  readonly samplePerPartition?: number;
}

interface ConnectTable {
  readonly topic: string;
  readonly serde: ConnectKeySerde<unknown>;
  /** Co-partitioned (routing by partition matters) rather than global. */
  readonly partitioned: boolean;
}

/** Tables whose key serde is a Connect key serde, one entry per topic (partitioned wins over global). */
export function connectTables(topology: Topology): ConnectTable[] {
  const byTopic = new Map<string, ConnectTable>();
  const add = (topic: string, serde: unknown, partitioned: boolean): void => {
    if (!isConnectKeySerde(serde as ConnectKeySerde<unknown>)) return;
    const previous = byTopic.get(topic);
    if (previous === undefined || (partitioned && !previous.partitioned)) {
      byTopic.set(topic, { topic, serde: serde as ConnectKeySerde<unknown>, partitioned });
    }
  };
  for (const sub of topology.subtopologies) for (const t of sub.tableSources) add(t.topic, t.keySerde, true);
  for (const g of topology.globalTables) add(g.topic, g.keySerde, false);
  return [...byTopic.values()];
}

export async function checkConnectKeyRouting(options: ConnectKeyCheckOptions): Promise<void> {
  const tables = connectTables(options.topology);
  if (tables.length === 0) return;
  const sample = options.samplePerPartition ?? 20;
  for (const table of tables) {
    const records = await sampleTopic(options, table.topic, sample);
    const count = options.partitions.get(table.topic) ?? 1;
    let checked = 0;
    for (const record of records) {
      if (record.key === null) continue;
      const at = `${record.topic}:${record.partition}@${record.offset}`;
      let reproduced: Buffer;
      try {
        reproduced = table.serde.serialize(table.serde.deserialize(record.key));
      } catch (error) {
        if (error instanceof SerdeError) {
          // A bad key is the error policy's business when the record is processed; it says nothing about routing.
          options.logger.warn('sampled record of a Connect-fed table has an unreadable key', { record: at, error: error.message });
          continue;
        }
        throw error;
      }
      if (!reproduced.equals(record.key)) {
        throw new ConnectKeyRoutingError(
          table.topic,
          `the key bytes of record ${at} (${preview(record.key)}) cannot be rebuilt from its unwrapped key (rebuilt: ${preview(reproduced)})`,
        );
      }
      if (table.partitioned && defaultPartition(record.key, count) !== record.partition) {
        throw new ConnectKeyRoutingError(
          table.topic,
          `record ${at} is on partition ${record.partition}, but murmur2 of its key bytes gives partition ${defaultPartition(record.key, count)} of ${count}: the connector does not partition with Kafka's default partitioner`,
        );
      }
      checked++;
    }
    options.logger.info('checked key routing of a Connect-fed table', {
      topic: table.topic,
      sampledRecords: checked,
      keyForm: table.serde.form?.kind ?? 'unknown (no record yet)',
    });
  }
}

/** The last `sample` records of each partition of `topic` (fewer when the partition holds fewer). */
async function sampleTopic(options: ConnectKeyCheckOptions, topic: string, sample: number): Promise<ConsumedRecord[]> {
  const ranges = await options.admin.fetchOffsetRanges(topic);
  const starts = [...ranges]
    .filter(([, range]) => range.end > range.start)
    .map(([partition, range]) => ({ topic, partition, offset: Math.max(range.start, range.end - sample) }));
  if (starts.length === 0) return [];
  const endOffsets = new Map<TopicPartitionId, number>();
  for (const start of starts)
    endOffsets.set(topicPartitionId(topic, start.partition), (ranges.get(start.partition) as { end: number }).end);
  const records: ConsumedRecord[] = [];
  const reader = new PartitionReader(options.client, {
    partitions: starts,
    endOffsets,
    mode: 'until-end',
    groupIdPrefix: `${options.topology.applicationId}-connect-key-check`,
    onBatch: async (batch) => {
      for (const record of batch) records.push(record);
    },
  });
  try {
    await reader.run();
  } finally {
    await reader.stop().catch(() => undefined);
  }
  return records;
}

function preview(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
