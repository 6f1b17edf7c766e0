/**
 * `TopologyTestDriver` options and their check at construction. A wrong option fails there, naming the option and
 * what to pass, instead of deep inside the partitioner or a task on the first `pipe` (a per-topic map given as
 * `partitions` used to surface as `RangeError: numPartitions must be a positive integer, got [object Object]`).
 */
import { describeValue } from '../../common/describe-value.js';
import type { Logger } from '../../common/logger.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { ErrorAction } from '../../topology/nodes.js';
import type { ErrorPolicy } from '../engine/error-policy.js';

export interface TopologyTestDriverOptions {
  /** Partition count of every topic not listed in `topicPartitions`. Default 1. */
  readonly partitions?: number;
  /**
   * Per-topic partition counts of user topics (inputs and outputs). Repartition topics take theirs from the topology:
   * `repartition({ partitions })`, else the co-partitioned inputs.
   */
  readonly topicPartitions?: Readonly<Record<string, number>>;
  /** Stores to use; default in-memory (`MemoryKeyValueStore`). Plug LevelDB stores here. */
  readonly storeFactory?: (name: string, partition: number | 'global') => Promise<KeyValueStore<unknown>>;
  readonly errorPolicy?: ErrorPolicy;
  /** Initial driver clock (default timestamp of piped records). Default 0. */
  readonly startTimeMs?: number;
  readonly maxTaskIdleMs?: number;
  readonly logger?: Logger;
}

/** Every option, so a new one cannot be added without deciding how it is checked. */
const OPTION_NAMES = {
  partitions: true,
  topicPartitions: true,
  storeFactory: true,
  errorPolicy: true,
  startTimeMs: true,
  maxTaskIdleMs: true,
  logger: true,
} as const satisfies Record<keyof TopologyTestDriverOptions, true>;

const ERROR_POLICY_KEYS = {
  deserialization: true,
  processing: true,
  production: true,
  deadLetterTopic: true,
} as const satisfies Record<keyof ErrorPolicy, true>;

const ERROR_ACTIONS = {
  'dead-letter': true,
  fail: true,
  'log-and-skip': true,
} as const satisfies Record<ErrorAction, true>;

const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly (keyof Logger)[];

/** The parts of a topology the driver checks before using it. */
interface TopologyLike {
  readonly repartitionTopics: readonly { readonly topic: string }[];
}

const isPositiveInteger = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) > 0;
const isNonNegativeInteger = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** Every problem with the driver's arguments, each naming the argument or option and what to pass; empty when fine. */
export function driverArgumentProblems(topology: unknown, options: unknown): string[] {
  const problems: string[] = [];
  const isTopology =
    typeof topology === 'object' &&
    topology !== null &&
    Array.isArray((topology as { subtopologies?: unknown }).subtopologies) &&
    Array.isArray((topology as { repartitionTopics?: unknown }).repartitionTopics) &&
    typeof (topology as { partitionCounts?: unknown }).partitionCounts === 'function';
  if (!isTopology) {
    problems.push(`topology: expected the Topology that builder.build({ applicationId }) returns, got ${describeValue(topology)}`);
  }
  if (options === undefined) return problems;
  if (!isPlainObject(options)) {
    problems.push(`options: expected an object such as { partitions: 4 }, got ${describeValue(options)}`);
    return problems;
  }
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(OPTION_NAMES, key))
      problems.push(`${key}: not an option of TopologyTestDriver (options: ${Object.keys(OPTION_NAMES).join(', ')})`);
  }
  const { partitions, topicPartitions, storeFactory, errorPolicy, startTimeMs, maxTaskIdleMs, logger } = options;

  if (partitions !== undefined && !isPositiveInteger(partitions)) {
    const perTopic = isPlainObject(partitions) ? '; per-topic counts go in topicPartitions, e.g. { topicPartitions: { orders: 4 } }' : '';
    problems.push(
      `partitions: must be a positive integer (the count of every topic not in topicPartitions), got ${describeValue(partitions)}${perTopic}`,
    );
  }
  if (topicPartitions !== undefined) {
    if (!isPlainObject(topicPartitions)) {
      problems.push(
        `topicPartitions: must be an object of topic → partition count, e.g. { orders: 4 }, got ${describeValue(topicPartitions)}`,
      );
    } else {
      const repartition = new Set(isTopology ? (topology as TopologyLike).repartitionTopics.map((r) => r.topic) : []);
      for (const [topic, count] of Object.entries(topicPartitions)) {
        if (!isPositiveInteger(count))
          problems.push(`topicPartitions['${topic}']: must be a positive integer, got ${describeValue(count)}`);
        if (repartition.has(topic)) {
          problems.push(
            `topicPartitions['${topic}']: a repartition topic takes its count from the topology (repartition({ partitions }), else its co-partitioned inputs); leave it out`,
          );
        }
      }
    }
  }
  if (storeFactory !== undefined && typeof storeFactory !== 'function') {
    problems.push(`storeFactory: must be a function (name, partition) => Promise<KeyValueStore>, got ${describeValue(storeFactory)}`);
  }
  if (errorPolicy !== undefined) problems.push(...errorPolicyProblems(errorPolicy));
  if (startTimeMs !== undefined && !isNonNegativeInteger(startTimeMs)) {
    problems.push(`startTimeMs: must be an integer >= 0 (a timestamp in milliseconds), got ${describeValue(startTimeMs)}`);
  }
  if (maxTaskIdleMs !== undefined && !isNonNegativeInteger(maxTaskIdleMs)) {
    problems.push(`maxTaskIdleMs: must be an integer >= 0, got ${describeValue(maxTaskIdleMs)}`);
  }
  if (logger !== undefined) {
    const missing =
      typeof logger === 'object' && logger !== null
        ? LOGGER_METHODS.filter((method) => typeof (logger as Record<string, unknown>)[method] !== 'function')
        : LOGGER_METHODS;
    if (missing.length > 0) {
      problems.push(
        `logger: must have the methods ${LOGGER_METHODS.join(', ')} (missing: ${missing.join(', ')}); wrap pino with loggerFromPino()`,
      );
    }
  }
  return problems;
}

function errorPolicyProblems(policy: unknown): string[] {
  if (!isPlainObject(policy)) return [`errorPolicy: must be an object such as { processing: 'fail' }, got ${describeValue(policy)}`];
  const problems: string[] = [];
  for (const key of Object.keys(policy)) {
    if (!Object.hasOwn(ERROR_POLICY_KEYS, key))
      problems.push(`errorPolicy.${key}: not an error policy setting (settings: ${Object.keys(ERROR_POLICY_KEYS).join(', ')})`);
  }
  for (const stage of ['deserialization', 'processing', 'production'] as const) {
    const action = policy[stage];
    if (action !== undefined && !(typeof action === 'string' && Object.hasOwn(ERROR_ACTIONS, action))) {
      problems.push(`errorPolicy.${stage}: must be one of ${Object.keys(ERROR_ACTIONS).join(', ')}, got ${describeValue(action)}`);
    }
  }
  const topic = policy.deadLetterTopic;
  if (topic !== undefined && !(typeof topic === 'string' && topic.trim() !== '')) {
    problems.push(`errorPolicy.deadLetterTopic: must be a non-empty topic name, got ${describeValue(topic)}`);
  }
  return problems;
}
