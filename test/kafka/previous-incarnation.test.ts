/**
 * Removing a previous incarnation's group member against the real broker: a restarted member removes the id it saved
 * before it joins, and does so on the first attempt (kafkajs's consumer has no cluster metadata right after connect;
 * a coordinator lookup without it fails to find the broker and retries after kafkajs's backoff, ~300 ms of every
 * restart).
 */
import '../../processor/kafka/kafkajs-patches.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger, LogFields } from '../../common/logger.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import type { MemberIdStore } from '../../processor/kafka/group-member.js';
import { GroupReader } from '../../processor/kafka/group-reader.js';
import { createTopics, kafkaBrokers, produce, uniqueName, waitUntil } from '../helpers/kafka.js';

function capturingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, fields?: LogFields): void => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

function memoryStore(): MemberIdStore & { saved: string[] } {
  const saved: string[] = [];
  return {
    saved,
    load: () => Promise.resolve(saved.at(-1)),
    save: (memberId) => {
      saved.push(memberId);
      return Promise.resolve();
    },
  };
}

const readers: GroupReader[] = [];
afterAll(async () => {
  await Promise.all(readers.map((reader) => reader.stop().catch(() => undefined)));
});

describe('previous incarnation removal', () => {
  it('removes the member a crashed incarnation left, on the first coordinator lookup', async () => {
    const topic = uniqueName('incarnation');
    const groupId = uniqueName('incarnation-group');
    await createTopics([{ topic, partitions: 2 }]);
    await produce(topic, [{ key: 'a', value: '1', partition: 0 }]);
    const memberIds = memoryStore();
    const failures: unknown[] = [];
    const start = async (logger?: Logger): Promise<{ reader: GroupReader; records: string[] }> => {
      const records: string[] = [];
      const client = createKafkaClient(
        { brokers: kafkaBrokers().split(','), clientId: uniqueName('incarnation-client'), logLevel: 'debug' },
        { logger },
      );
      const reader = new GroupReader(client, {
        groupId,
        topics: [topic],
        memberIds,
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 1_000,
        maxWaitTimeInMs: 100,
        onBatch: async (batch) => void records.push(...batch.map((record) => String(record.value))),
        onFailure: (error) => failures.push(error),
      });
      readers.push(reader);
      await reader.start();
      return { reader, records };
    };

    const first = await start();
    await waitUntil(() => memberIds.saved.length === 1 && first.records.length === 1, {
      description: 'the first incarnation joined and read',
    });
    // The first incarnation leaves here; after a crash it would still be in the group. Either way the next one looks
    // the coordinator up and sends LeaveGroup for the saved id first (here answered UNKNOWN_MEMBER_ID).
    await first.reader.stop();

    const logger = capturingLogger();
    const second = await start(logger);
    await waitUntil(() => memberIds.saved.length === 2, { description: 'the second incarnation joined' });
    const retries = logger.lines.filter((line) => /not found in the cached metadata|refreshing metadata and trying again/.test(line));
    expect(retries).toEqual([]);
    expect(logger.lines.some((line) => line.includes('removing the previous incarnation') && line.includes('timed out'))).toBe(false);
    await produce(topic, [{ key: 'b', value: '2', partition: 1 }]);
    await waitUntil(() => second.records.includes('2'), { description: 'the second incarnation reads' });
    expect(failures).toEqual([]);
  });
});
