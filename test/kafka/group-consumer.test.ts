/**
 * GroupConsumer + the sticky co-partitioning assignor against the real broker of the integration project.
 * The tests of the first describe block build on each other (one group that grows and shrinks), so they run in order.
 */
// First, as in the library: kafkajs's consumer then runs with Tributary's patches (its batches, its fetch decoder).
import '../../processor/kafka/kafkajs-patches.js';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoPartitioningError, StaleAssignmentError } from '../../errors.js';
import type { TaskId } from '../../common/task-id.js';
import type { TaskSpec } from '../../processor/kafka/assignor.js';
import { GroupConsumer, type GroupConsumerOptions } from '../../processor/kafka/group-consumer.js';
import type { GroupAssignment } from '../../processor/kafka/group-member.js';
import { topicPartitionId, type ConsumedRecord, type TopicPartitionId } from '../../common/records.js';
import { createTopics, kafkaBrokers, produce, testKafkaClient, uniqueName, waitUntil } from '../helpers/kafka.js';

/** Short timeouts keep rebalances quick (the test broker allows sessions down to 1 s). */
const GROUP_TIMINGS = {
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  fetch: { maxWaitTimeMs: 100 },
} satisfies Partial<GroupConsumerOptions>;

interface Member {
  readonly name: string;
  readonly url: string;
  readonly consumer: GroupConsumer;
  readonly assignments: GroupAssignment[];
  readonly rebalancingEpochs: number[];
  readonly records: ConsumedRecord[];
  readonly errors: Error[];
}

function makeMember(
  name: string,
  groupId: string,
  tasks: readonly TaskSpec[],
  overrides: Partial<Pick<GroupConsumerOptions, 'eachBatch' | 'onAssignment' | 'localTasks' | 'onPositionAdvanced'>> = {},
): Member {
  const url = `http://127.0.0.1:${name}`;
  const member: Member = { name, url, assignments: [], rebalancingEpochs: [], records: [], errors: [], consumer: undefined as never };
  const consumer = new GroupConsumer({
    client: testKafkaClient(uniqueName(name)),
    groupId,
    tasks,
    url,
    instanceId: name,
    localTasks: overrides.localTasks,
    onPositionAdvanced: overrides.onPositionAdvanced,
    ...GROUP_TIMINGS,
    eachBatch:
      overrides.eachBatch ??
      (async (records) => {
        member.records.push(...records);
      }),
    onAssignment: async (assignment) => {
      member.assignments.push(assignment);
      await overrides.onAssignment?.(assignment);
    },
    onRebalancing: ({ epoch }) => member.rebalancingEpochs.push(epoch),
    onError: (error) => member.errors.push(error),
  });
  return Object.assign(member, { consumer });
}

function latest(member: Member): GroupAssignment {
  const assignment = member.assignments.at(-1);
  if (assignment === undefined) throw new Error(`${member.name} has no assignment yet`);
  return assignment;
}

/** Every member has a flowing assignment of one generation that lists exactly these members. */
async function waitForStableGroup(members: readonly Member[]): Promise<GroupAssignment[]> {
  await waitUntil(
    () => {
      const current = members.map((m) => m.consumer.currentAssignment());
      return current.every((a) => a !== undefined && a.assignmentId === current[0]?.assignmentId && a.members.length === members.length);
    },
    { timeoutMs: 60_000, description: `a stable group of ${members.map((m) => m.name).join(', ')}` },
  );
  return members.map(latest);
}

function ownersByTask(assignment: GroupAssignment): Map<TaskId, string> {
  return new Map([...assignment.all].map(([task, owner]) => [task, owner.url]));
}

function movedTasks(before: Map<TaskId, string>, after: Map<TaskId, string>): number {
  return [...before].filter(([task, url]) => after.get(task) !== url).length;
}

describe('GroupConsumer: a group of co-partitioned consumers', () => {
  const groupId = uniqueName('gc-group');
  const left = uniqueName('gc-left');
  const right = uniqueName('gc-right');
  const side = uniqueName('gc-side');
  // Sub-topology 0 joins two co-partitioned 4-partition topics; sub-topology 1 reads a 2-partition topic: 6 tasks.
  const tasks: TaskSpec[] = [
    { subtopology: 0, topics: [left, right], partitions: 4 },
    { subtopology: 1, topics: [side], partitions: 2 },
  ];
  const running: Member[] = [];
  let twoMemberMap: Map<TaskId, string>;
  let threeMemberMap: Map<TaskId, string>;

  beforeAll(async () => {
    await createTopics([
      { topic: left, partitions: 4 },
      { topic: right, partitions: 4 },
      { topic: side, partitions: 2 },
    ]);
  });

  afterAll(async () => {
    await Promise.all(running.map((m) => m.consumer.stop()));
  });

  it('gives partition p of both topics to one member, and both members the same full map', async () => {
    const a = makeMember('a', groupId, tasks);
    const b = makeMember('b', groupId, tasks);
    running.push(a, b);
    const startedAt = Date.now();
    await a.consumer.start();
    console.log(`[group-consumer] start() -> first assignment (single member, new group): ${Date.now() - startedAt} ms`);
    const joinedAt = Date.now();
    await b.consumer.start();
    const [assignmentA, assignmentB] = await waitForStableGroup([a, b]);
    console.log(`[group-consumer] second member start() -> stable 2-member group: ${Date.now() - joinedAt} ms`);

    expect(assignmentA?.all).toEqual(assignmentB?.all);
    expect(new Set([...(assignmentA?.all.values() ?? [])].map((owner) => owner.url))).toEqual(new Set([a.url, b.url]));
    expect([assignmentA?.mine.length, assignmentB?.mine.length]).toEqual([3, 3]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);

    // Real delivery: every partition of every topic is read by the owner of its task, and only by it.
    for (const topic of [left, right]) {
      await produce(
        topic,
        [0, 1, 2, 3].map((partition) => ({ key: `k${partition}`, value: `${topic}-${partition}`, partition })),
      );
    }
    await produce(
      side,
      [0, 1].map((partition) => ({ key: `k${partition}`, value: `side-${partition}`, partition, headers: { origin: 'test' } })),
    );
    await waitUntil(() => a.records.length + b.records.length >= 10, { description: '10 records across both members' });
    twoMemberMap = ownersByTask(latest(a));
    for (const member of [a, b]) {
      for (const record of member.records) {
        const task: TaskId = `${record.topic === side ? 1 : 0}_${record.partition}`;
        expect(twoMemberMap.get(task), `${record.topic}:${record.partition} read by ${member.name}`).toBe(member.url);
      }
    }
    const sideRecord = [...a.records, ...b.records].find((r) => r.topic === side);
    expect(sideRecord?.headers.origin?.toString()).toBe('test');
    expect(typeof sideRecord?.offset).toBe('number');
    expect(typeof sideRecord?.timestamp).toBe('number');
  });

  it('moves only floor(6/3) tasks when a third member joins, all to the newcomer', async () => {
    const [a, b] = running as [Member, Member];
    const c = makeMember('c', groupId, tasks);
    running.push(c);
    const epochsBefore = [latest(a).epoch, latest(b).epoch];
    await c.consumer.start();
    const assignments = await waitForStableGroup([a, b, c]);

    threeMemberMap = ownersByTask(latest(c));
    expect(assignments.map((x) => x.mine.length)).toEqual([2, 2, 2]);
    expect(movedTasks(twoMemberMap, threeMemberMap)).toBe(2);
    for (const member of [a, b]) {
      // Old members only lose tasks: each one they have now, they had before.
      for (const task of latest(member).mine) expect(twoMemberMap.get(task)).toBe(member.url);
    }
    // Both old members were told that their assignment was being revoked.
    expect(a.rebalancingEpochs).toContain(epochsBefore[0]);
    expect(b.rebalancingEpochs).toContain(epochsBefore[1]);
  });

  it('gives the tasks of a member that stops to the survivors, moving nothing else', async () => {
    const [a, b, c] = running as [Member, Member, Member];
    const departedTasks = latest(b).mine;
    await b.consumer.stop();
    running.splice(running.indexOf(b), 1);
    const assignments = await waitForStableGroup([a, c]);

    const afterMap = ownersByTask(latest(a));
    expect(assignments.map((x) => x.mine.length)).toEqual([3, 3]);
    expect(movedTasks(threeMemberMap, afterMap)).toBe(departedTasks.length);
    for (const survivor of [a, c]) {
      for (const [task, url] of threeMemberMap) if (url === survivor.url) expect(afterMap.get(task)).toBe(survivor.url);
    }
  });

  it('gives a restarted instance back the tasks it has local state for', async () => {
    const [a, c] = running as [Member, Member];
    const stateOnDisk = latest(c).mine;
    await c.consumer.stop();
    running.splice(running.indexOf(c), 1);
    await waitForStableGroup([a]);
    expect(latest(a).mine.length).toBe(6);

    const restarted = makeMember('c', groupId, tasks, { localTasks: () => stateOnDisk });
    running.push(restarted);
    await restarted.consumer.start();
    await waitForStableGroup([a, restarted]);
    expect(latest(restarted).mine).toEqual(stateOnDisk);
  });
});

describe('GroupConsumer: offsets', () => {
  it('resumes a new member from committed offsets, honours seeks made in onAssignment, and redelivers what a batch did not take', async () => {
    const groupId = uniqueName('gc-offsets');
    const topic = uniqueName('gc-offsets');
    await createTopics([{ topic, partitions: 2 }]);
    const tasks: TaskSpec[] = [{ subtopology: 0, topics: [topic], partitions: 2 }];
    await produce(
      topic,
      [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition }))),
    );

    const first = makeMember('first', groupId, tasks);
    await first.consumer.start();
    await waitUntil(() => first.records.length >= 20, { description: 'first member read all 20 records' });
    const epoch = latest(first).epoch;
    const p0 = topicPartitionId(topic, 0);
    const p1 = topicPartitionId(topic, 1);

    await expect(first.consumer.commitOffsets(new Map([[p0, 6]]), epoch + 1)).rejects.toBeInstanceOf(StaleAssignmentError);
    await expect(first.consumer.commitOffsets(new Map([[topicPartitionId(topic, 7), 1]]), epoch)).rejects.toBeInstanceOf(
      StaleAssignmentError,
    );
    await first.consumer.commitOffsets(
      new Map<TopicPartitionId, number>([
        [p0, 6],
        [p1, 3],
      ]),
      epoch,
    );
    await first.consumer.stop();

    // The second member seeks partition 1 in onAssignment, after an await (as a restoration would), and takes at most
    // 2 records per batch (backpressure).
    const second = makeMember('second', groupId, tasks, {
      onAssignment: async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        second.consumer.seek(topic, 1, 7);
      },
      eachBatch: async (records) => {
        const taken = records.slice(0, 2);
        second.records.push(...taken);
        return taken.length;
      },
    });
    await second.consumer.start();
    await waitUntil(() => second.records.length >= 4 + 3, { description: 'second member read from the committed/sought offsets' });
    await second.consumer.stop();

    const offsetsOf = (partition: number) => second.records.filter((r) => r.partition === partition).map((r) => r.offset);
    expect(offsetsOf(0)).toEqual([6, 7, 8, 9]);
    expect(offsetsOf(1)).toEqual([7, 8, 9]);
    expect(second.errors).toEqual([]);
  });

  it('rejects commits and heartbeats of a member evicted while its batch ran, and the member rejoins', async () => {
    const groupId = uniqueName('gc-evicted');
    const topic = uniqueName('gc-evicted');
    await createTopics([{ topic, partitions: 2 }]);
    const tasks: TaskSpec[] = [{ subtopology: 0, topics: [topic], partitions: 2 }];
    const survivor = makeMember('survivor', groupId, tasks);
    const outcome: { commit?: unknown; heartbeat?: unknown } = {};
    let blocked = false;
    // The first batch of the slow member blocks without heartbeats until the coordinator has evicted it (the
    // survivor then owns every task), and tries to commit and to heartbeat with its old generation.
    const slow: Member = makeMember('slow', groupId, tasks, {
      eachBatch: async (records, context) => {
        if (blocked) return;
        blocked = true;
        await waitUntil(() => survivor.consumer.currentAssignment()?.mine.length === 2, {
          timeoutMs: 60_000,
          description: 'the survivor to own both tasks',
        });
        const last = records.at(-1);
        await slow.consumer
          .commitOffsets(new Map([[topicPartitionId(context.topic, context.partition), (last?.offset ?? 0) + 1]]), context.epoch)
          .catch((error: unknown) => (outcome.commit = error));
        try {
          await context.heartbeat();
        } catch (error) {
          outcome.heartbeat = error;
          expect(context.isStale()).toBe(true);
          throw error;
        }
      },
    });
    try {
      await slow.consumer.start();
      await survivor.consumer.start();
      await waitForStableGroup([slow, survivor]);
      await produce(
        topic,
        [0, 1].map((partition) => ({ key: 'k', value: 'v', partition })),
      );
      await waitUntil(() => outcome.heartbeat !== undefined, { timeoutMs: 60_000, description: 'the evicted member to heartbeat' });
      expect(outcome.commit).toBeInstanceOf(StaleAssignmentError);
      expect(outcome.heartbeat).toBeInstanceOf(StaleAssignmentError);
      expect(slow.rebalancingEpochs.length).toBeGreaterThan(0);
      // It rejoins (kafkajs takes its UNKNOWN_MEMBER_ID path) and the group is whole again.
      const [slowAgain] = await waitForStableGroup([slow, survivor]);
      expect(slowAgain?.mine.length).toBe(1);
    } finally {
      await Promise.all([slow.consumer.stop(), survivor.consumer.stop()]);
    }
  });

  it('accepts a commit made after a heartbeat reported the rebalance, before the member rejoins', async () => {
    const groupId = uniqueName('gc-flush');
    const topic = uniqueName('gc-flush');
    await createTopics([{ topic, partitions: 2 }]);
    const tasks: TaskSpec[] = [{ subtopology: 0, topics: [topic], partitions: 2 }];
    const other = makeMember('other', groupId, tasks);
    const joiner = makeMember('joiner', groupId, tasks);
    let joinerStarted: Promise<void> | undefined;
    const outcome: { committed?: TopicPartitionId; heartbeat?: unknown; commitError?: unknown } = {};
    // The flusher holds its first batch until a heartbeat reports the rebalance the joiner causes, then commits.
    const flusher: Member = makeMember('flusher', groupId, tasks, {
      eachBatch: async (records, context) => {
        if (outcome.committed !== undefined) return;
        joinerStarted ??= joiner.consumer.start();
        await waitUntil(
          async () => {
            try {
              await context.heartbeat();
              return false;
            } catch (error) {
              outcome.heartbeat = error;
              return true;
            }
          },
          { timeoutMs: 60_000, intervalMs: 100, description: 'a heartbeat to report the rebalance' },
        );
        const id = topicPartitionId(context.topic, context.partition);
        await flusher.consumer
          .commitOffsets(new Map([[id, (records.at(-1)?.offset ?? 0) + 1]]), context.epoch)
          .then(() => (outcome.committed = id))
          .catch((error: unknown) => (outcome.commitError = error));
      },
    });
    const admin = new Kafka({ clientId: uniqueName('gc-flush'), brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING }).admin();
    try {
      await flusher.consumer.start();
      await other.consumer.start();
      await waitForStableGroup([flusher, other]);
      await produce(
        topic,
        [0, 1].map((partition) => ({ key: 'k', value: 'v', partition })),
      );
      await waitUntil(() => outcome.committed !== undefined || outcome.commitError !== undefined, {
        timeoutMs: 60_000,
        description: 'the flusher to commit',
      });
      expect(outcome.heartbeat).toBeInstanceOf(StaleAssignmentError);
      expect(outcome.commitError).toBeUndefined();
      await joinerStarted;
      await waitForStableGroup([flusher, other, joiner]);
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partition = Number(outcome.committed?.split(':').at(-1));
      expect(committed?.partitions.find((p) => p.partition === partition)?.offset).toBe('1');
    } finally {
      await admin.disconnect();
      await Promise.all([flusher.consumer.stop(), other.consumer.stop(), joiner.consumer.stop()]);
    }
  });

  it('reports moving past transaction markers and aborted records it never delivers', async () => {
    const topic = uniqueName('gc-tx');
    await createTopics([{ topic, partitions: 1 }]);
    const producer = testKafkaClient().producer({ transactionalId: uniqueName('gc-tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'c', value: 'aborted' }] });
    await aborted.abort();
    await producer.disconnect();
    // Offsets: 0, 1 data, 2 commit marker, 3 aborted, 4 abort marker: the end is 5 and no record is delivered past 1.
    const advances: number[] = [];
    const member = makeMember('tx', uniqueName('gc-tx'), [{ subtopology: 0, topics: [topic], partitions: 1 }], {
      onPositionAdvanced: (advance) => advances.push(advance.nextOffset),
    });
    await member.consumer.start();
    await waitUntil(() => advances.includes(5), { timeoutMs: 20_000, description: 'a position advance to 5' });
    await member.consumer.stop();
    expect(member.records.map((r) => r.offset)).toEqual([0, 1]);
    expect(Math.max(...advances)).toBe(5);
  });

  it('converts headers: a repeated header key keeps its last value', async () => {
    const topic = uniqueName('gc-headers');
    await createTopics([{ topic, partitions: 1 }]);
    const kafka = new Kafka({ clientId: uniqueName('gc-headers'), brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ key: null, value: 'v', headers: { trace: ['first', 'second'], bin: Buffer.from([1, 2]) } }],
    });
    await producer.disconnect();

    const member = makeMember('headers', uniqueName('gc-headers'), [{ subtopology: 0, topics: [topic], partitions: 1 }]);
    await member.consumer.start();
    await waitUntil(() => member.records.length >= 1, { description: 'the record with headers' });
    await member.consumer.stop();
    const [record] = member.records;
    expect(record?.key).toBeNull();
    expect(record?.headers.trace?.toString()).toBe('second');
    expect(record?.headers.bin).toEqual(Buffer.from([1, 2]));
  });
});

describe('GroupConsumer: co-partitioning check', () => {
  it('refuses to start when the topics of a sub-topology have different partition counts', async () => {
    const four = uniqueName('gc-four');
    const three = uniqueName('gc-three');
    await createTopics([
      { topic: four, partitions: 4 },
      { topic: three, partitions: 3 },
    ]);
    const member = makeMember('mismatch', uniqueName('gc-mismatch'), [{ subtopology: 0, topics: [four, three], partitions: 4 }]);
    await expect(member.consumer.start()).rejects.toBeInstanceOf(CoPartitioningError);
    expect(member.consumer.status()).toBe('crashed');
    await member.consumer.stop();
  });
});
