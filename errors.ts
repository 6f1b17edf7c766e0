/**
 * Every error Tributary throws on purpose, in one place (as kafkajs does).
 *
 * Each class has a stable `code` (part of the public API: match on it, not on messages) and a message that says
 * what to do about it. Layers add their classes in their own section below; keep codes unique and prefixed
 * `TRIBUTARY_`, and document each in docs/errors.md (errors.test.ts checks both).
 */
export class TributaryError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * How a message quotes the error that caused it: an Error by its message (`withName`: `Name: message`), anything
 * else by `String()`, or not at all with `errorsOnly`.
 */
function causeText(cause: unknown, options: { readonly withName?: boolean; readonly errorsOnly?: boolean } = {}): string {
  if (!(cause instanceof Error)) return options.errorsOnly ? '' : String(cause);
  return options.withName ? `${cause.name}: ${cause.message}` : cause.message;
}

// ---------------------------------------------------------------------------------------------------------------
// topology/ (DSL, serdes, validation)
// ---------------------------------------------------------------------------------------------------------------

/** `build()` found a topology it cannot run. `node` names the offending node (as shown by `describe()`). */
export class TopologyBuildError extends TributaryError {
  readonly node: string;

  constructor(node: string, message: string) {
    super('TRIBUTARY_TOPOLOGY_INVALID', `Invalid topology at ${node}: ${message}`);
    this.node = node;
  }
}

/** A serde could not turn bytes (or a key string) into a value. The engine wraps it into `DeserializationError`. */
export class SerdeError extends TributaryError {
  readonly serde: string;

  constructor(serde: string, message: string, options?: { cause?: unknown }) {
    super('TRIBUTARY_SERDE', `Serde '${serde}': ${message}`, options);
    this.serde = serde;
  }
}

/** A serde could not turn a value into bytes (e.g. JSON of a BigInt or a cycle). */
export class SerializationError extends TributaryError {
  readonly serde: string;

  constructor(serde: string, message: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_SERIALIZATION',
      `Serde '${serde}' cannot serialize the value: ${message}. Use a serde that supports this value type.`,
      options,
    );
    this.serde = serde;
  }
}

/** Where a consumed record came from; carried by errors so users can find the bad record. */
export interface RecordLocation {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Bytes read from a topic could not be decoded (bad bytes, wrong schema, or a required key missing). */
export class DeserializationError extends TributaryError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly part: 'key' | 'value';
  /** What was wrong with the bytes, without the location or advice. */
  readonly reason: string;

  /**
   * `stoppedByFailPolicy`: the error stops processing (the 'fail' policy), so the message also says how to keep
   * going; dead letters and skips describe the record without that advice (their policy is already not 'fail').
   */
  constructor(
    location: RecordLocation,
    part: 'key' | 'value',
    reason: string,
    options?: { cause?: unknown; stoppedByFailPolicy?: boolean },
  ) {
    super(
      'TRIBUTARY_DESERIALIZATION',
      `Cannot deserialize the ${part} of ${location.topic}:${location.partition}@${location.offset}: ${reason}. ` +
        (options?.stoppedByFailPolicy === true
          ? `Fix the producer or the serde, or set the deserialization error policy to 'dead-letter' or 'log-and-skip' to keep going past bad records (it is 'fail').`
          : 'Fix the producer or the serde.'),
      options,
    );
    this.topic = location.topic;
    this.partition = location.partition;
    this.offset = location.offset;
    this.part = part;
    this.reason = reason;
  }

  /** This error as thrown when the 'fail' policy stops processing (its message then says how to keep going). */
  underFailPolicy(): DeserializationError {
    return new DeserializationError(this, this.part, this.reason, { cause: this.cause, stoppedByFailPolicy: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// state-store/ (LevelDB stores, checkpoints, restoration, snapshots)
// ---------------------------------------------------------------------------------------------------------------

/** Another live process (or another open in this process) holds the state directory or one of its LevelDB stores. */
export class StateDirectoryLockedError extends TributaryError {
  readonly path: string;
  readonly pid: number | undefined;

  constructor(path: string, pid: number | undefined, options?: { cause?: unknown }) {
    const holder = pid === undefined ? 'another process (or another instance in this process)' : `process ${pid}`;
    super(
      'TRIBUTARY_STATE_DIRECTORY_LOCKED',
      `State directory ${path} is locked by ${holder}. Stop that process first, or give this instance its own stateDir.`,
      options,
    );
    this.path = path;
    this.pid = pid;
  }
}

/** A LevelDB store that cannot be read (LevelDB corruption, or a missing/unknown Tributary format marker). */
export class StoreCorruptedError extends TributaryError {
  readonly location: string;

  constructor(location: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_STORE_CORRUPTED',
      `Store at ${location} is unreadable: ${detail}. Open it through StateDirectory.openStore(), which moves it aside and rebuilds it from the source topic, or delete the directory.`,
      options,
    );
    this.location = location;
  }
}

/** `undefined` (or a function/symbol) given as a store value: stores hold values, deleting is how a key goes away. */
export class InvalidStoreValueError extends TributaryError {
  constructor(storeName: string, detail: string) {
    super(
      'TRIBUTARY_STORE_INVALID_VALUE',
      `Store "${storeName}": ${detail}. Store values must be msgpack-encodable plain data (objects, arrays, strings, numbers, booleans, null); use delete() to remove a key.`,
    );
  }
}

/** A store name or partition that cannot be a directory name in the state directory. */
export class InvalidStoreNameError extends TributaryError {
  constructor(detail: string) {
    super(
      'TRIBUTARY_STORE_INVALID_NAME',
      `${detail}. Store names may use letters, digits, '.', '_' and '-' (not starting with '.'); partitions are integers >= 0 or 'global'.`,
    );
  }
}

/** A StateDirectory method called after close(). */
export class StateDirectoryClosedError extends TributaryError {
  constructor(path: string) {
    super('TRIBUTARY_STATE_DIRECTORY_CLOSED', `State directory ${path} is closed. Open a new StateDirectory to use it.`);
  }
}

/** A store operation after close(). */
export class StoreClosedError extends TributaryError {
  constructor(storeName: string, partition: number | 'global') {
    super(
      'TRIBUTARY_STORE_CLOSED',
      `Store "${storeName}" (partition ${partition}) is closed. Reopen it through StateDirectory.openStore() before using it.`,
    );
  }
}

/** A record read during restoration could not be decoded and the decode-error policy said 'fail'. */
export class RestoreDecodeError extends TributaryError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;

  constructor(storeName: string, topic: string, partition: number, offset: number, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_RESTORE_DECODE_FAILED',
      `Restoring store "${storeName}": record ${topic}[${partition}]@${offset} could not be decoded. Fix the producer or the serde, or configure the decode-error policy to skip bad records.`,
      options,
    );
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/** A snapshot file that is truncated, corrupt (checksum mismatch) or of an unknown format version. */
export class SnapshotFormatError extends TributaryError {
  readonly file: string;

  constructor(file: string, detail: string) {
    super(
      'TRIBUTARY_SNAPSHOT_INVALID',
      `Snapshot ${file} cannot be read: ${detail}. Re-export it with exportSnapshot(), or restore the stores from their source topics instead.`,
    );
    this.file = file;
  }
}

/** importSnapshot() refuses to overwrite stores that already exist in the target state directory. */
export class SnapshotTargetNotEmptyError extends TributaryError {
  readonly path: string;

  constructor(path: string) {
    super(
      'TRIBUTARY_SNAPSHOT_TARGET_NOT_EMPTY',
      `Cannot import a snapshot into ${path}: stores already exist there. Import into a fresh stateDir, or delete the existing stores first.`,
    );
    this.path = path;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// processor/ (task engine, runtime, Kafka adapter, error policies)
// ---------------------------------------------------------------------------------------------------------------

/** A user function (mapper, predicate, joiner, processor) threw while processing a record. */
export class ProcessingError extends TributaryError {
  readonly node: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;

  constructor(node: string, location: RecordLocation, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause);
    super(
      'TRIBUTARY_PROCESSING',
      `${node} threw while processing ${location.topic}:${location.partition}@${location.offset}: ${reason}. ` +
        `Fix the function, or set the processing error policy to 'dead-letter' or 'log-and-skip'.`,
      options,
    );
    this.node = node;
    this.topic = location.topic;
    this.partition = location.partition;
    this.offset = location.offset;
  }
}

/** A task was used after it failed or closed, or was given records it does not own. */
export class TaskStateError extends TributaryError {
  readonly taskId: string;

  constructor(taskId: string, message: string, options?: { cause?: unknown }) {
    super('TRIBUTARY_TASK_STATE', `Task ${taskId}: ${message}`, options);
    this.taskId = taskId;
  }
}

/** The engine was started without a store the topology needs. */
export class MissingStoreError extends TributaryError {
  readonly store: string;

  constructor(store: string, where: string) {
    super('TRIBUTARY_MISSING_STORE', `Store '${store}' was not provided to ${where}. Pass one store per name the topology declares.`);
    this.store = store;
  }
}

// processor/test-driver/ (TopologyTestDriver)

/** `new TopologyTestDriver(topology, options)` was given a topology or options it cannot use; `problems` lists each one. */
export class TestDriverOptionsError extends TributaryError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('TRIBUTARY_TEST_DRIVER_OPTIONS_INVALID', `Invalid TopologyTestDriver arguments; fix these:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

// processor/kafka/ (Kafka adapter: config, admin, producer, partition reader)

/** The Kafka connection settings are invalid; `problems` lists each one. */
export class KafkaConfigError extends TributaryError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('TRIBUTARY_KAFKA_CONFIG_INVALID', `Invalid Kafka settings; fix these and restart:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** An admin operation (create/describe/delete topics, offsets, groups) failed after kafkajs's retries. */
export class KafkaAdminError extends TributaryError {
  constructor(operation: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_KAFKA_ADMIN_FAILED',
      `Kafka admin operation "${operation}" failed: ${detail}. Check that the brokers are reachable and that this client may manage these topics/groups.`,
      options,
    );
  }
}

/** Topics were created but some of their partitions still had no leader when the wait for them ran out. */
export class TopicLeadersNotAvailableError extends TributaryError {
  readonly topics: readonly string[];
  readonly waitedMs: number;

  constructor(topics: readonly string[], waitedMs: number, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_TOPIC_LEADERS_NOT_AVAILABLE',
      `Topics ${topics.join(', ')} were created, but some of their partitions still had no leader after ${waitedMs} ms. ` +
        'Check that enough brokers are running for the replication factor (internalTopicReplicationFactor, else the ' +
        "broker's default.replication.factor) and that the controller is healthy, then start again (the topics stay; a " +
        'start finds them and creates nothing).',
      options,
    );
    this.topics = topics;
    this.waitedMs = waitedMs;
  }
}

/** Records could not be written (not acknowledged by Kafka) after kafkajs's retries. */
export class KafkaProduceError extends TributaryError {
  readonly topics: readonly string[];

  constructor(topics: readonly string[], options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_KAFKA_PRODUCE_FAILED',
      `Kafka did not acknowledge records for topic(s) ${topics.join(', ')}. Check that the topics exist and the brokers are healthy; the records were not committed.`,
      options,
    );
    this.topics = topics;
  }
}

/**
 * Under exactly-once, a newer producer with the same transactional id (the task's new owner) fenced this one: the
 * task moved to another instance while this one was paused or cut off. The task is closed here without writing
 * anything more; the instance rejoins the group.
 */
export class ProducerFencedError extends TributaryError {
  readonly transactionalId: string;

  constructor(transactionalId: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_PRODUCER_FENCED',
      `The transactional producer ${transactionalId} was fenced by a newer instance owning the same task; this instance closed the task without writing its uncommitted work (the new owner processes it). Nothing to do unless it repeats: then check for instances stalling longer than the session timeout (GC pauses, CPU starvation).`,
      options,
    );
    this.transactionalId = transactionalId;
  }
}

/**
 * Under exactly-once, a transaction could not be committed (a send, the offsets or the commit itself failed, or the
 * coordinator aborted it after its timeout). It was aborted: none of its records or offsets are visible.
 */
export class TransactionFailedError extends TributaryError {
  readonly transactionalId: string;
  /** True when the broker reports the transaction timed out (or the timeout setting is refused). */
  readonly timedOut: boolean;

  constructor(transactionalId: string, step: string, timedOut: boolean, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_TRANSACTION_FAILED',
      timedOut
        ? `The transaction of ${transactionalId} failed at ${step}: the broker aborted it after transactionTimeoutMs or refused that timeout. Keep transactionTimeoutMs at most the broker's transaction.max.timeout.ms (default 900000) and longer than a commit takes; the batch is processed again.`
        : `The transaction of ${transactionalId} failed at ${step} and was aborted; the batch is processed again from the last committed offsets. Check the brokers and the transaction coordinator if it repeats.`,
      options,
    );
    this.transactionalId = transactionalId;
    this.timedOut = timedOut;
  }
}

/** A partition reader could not read the partitions it was given (missing topic/partition, consumer crash). */
export class PartitionReaderError extends TributaryError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('TRIBUTARY_PARTITION_READER_FAILED', `Reading partitions failed: ${detail}`, options);
  }
}

// processor/kafka/ group consumer and task assignor

/** The source topics of one sub-topology do not all have the same partition count, so its tasks cannot be formed. */
export class CoPartitioningError extends TributaryError {
  readonly subtopology: number;
  readonly partitionsByTopic: Readonly<Record<string, number>>;

  constructor(subtopology: number, partitionsByTopic: Readonly<Record<string, number>>, expected: number) {
    const found = Object.entries(partitionsByTopic)
      .map(([topic, count]) => `${topic}=${count}`)
      .join(', ');
    super(
      'TRIBUTARY_COPARTITIONING_MISMATCH',
      `Sub-topology ${subtopology} needs ${expected} partitions in each of its source topics, but Kafka reports ${found}. ` +
        'Co-partitioned topics must have the same partition count: repartition the input (or add partitions) so they match.',
    );
    this.subtopology = subtopology;
    this.partitionsByTopic = partitionsByTopic;
  }
}

/**
 * A topic's partition count went down while the application ran (or since the layout it started with): Kafka cannot
 * remove partitions, so the topic was deleted and recreated. Tasks, stores and committed offsets of the missing
 * partitions would silently stop being read.
 */
export class PartitionCountDecreasedError extends TributaryError {
  /** Topic → `{ before, now }`. */
  readonly changes: Readonly<Record<string, { readonly before: number; readonly now: number }>>;

  constructor(changes: Readonly<Record<string, { readonly before: number; readonly now: number }>>) {
    const found = Object.entries(changes)
      .map(([topic, { before, now }]) => `${topic}: ${before} → ${now}`)
      .join(', ');
    super(
      'TRIBUTARY_PARTITION_COUNT_DECREASED',
      `Partition counts went down (${found}). Partitions can only be added: a topic with fewer partitions was deleted and ` +
        'recreated, and the state and offsets of the missing partitions cannot be served or continued. Stop every instance, ' +
        'reset the application (`tributary reset --local-state`) and start again, or recreate the topic with at least the old count.',
    );
    this.changes = changes;
  }
}

/** A group member sent metadata or an assignment this version cannot read (another application or version in the group). */
export class GroupMetadataError extends TributaryError {
  readonly groupId: string;

  constructor(groupId: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_GROUP_METADATA_INVALID',
      `Consumer group "${groupId}": ${detail}. Every member of the group must run a compatible Tributary version with the same topology; use a distinct application id (group id) per application.`,
      options,
    );
    this.groupId = groupId;
  }
}

/**
 * A seek, pause or commit named a partition this member no longer owns, or was made for an assignment a rebalance
 * has replaced (the coordinator rejects commits of an old generation). Drop the work of the revoked tasks and
 * continue with the tasks of the newest assignment.
 */
export class StaleAssignmentError extends TributaryError {
  readonly topicPartitions: readonly string[];

  constructor(detail: string, topicPartitions: readonly string[], options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_STALE_ASSIGNMENT',
      `${detail}${topicPartitions.length > 0 ? ` (${topicPartitions.join(', ')})` : ''}. A rebalance moved these partitions or is in progress: do not commit or seek them; wait for the next assignment.`,
      options,
    );
    this.topicPartitions = topicPartitions;
  }
}

/** A group consumer method was called in a state that does not allow it (before start, after stop, started twice). */
export class GroupConsumerStateError extends TributaryError {
  constructor(detail: string) {
    super('TRIBUTARY_GROUP_CONSUMER_STATE', `Group consumer: ${detail}`);
  }
}

/** Committing consumer-group offsets failed for a reason other than a rebalance (see `StaleAssignmentError`). */
export class OffsetCommitError extends TributaryError {
  readonly groupId: string;

  constructor(groupId: string, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause);
    super(
      'TRIBUTARY_OFFSET_COMMIT_FAILED',
      `Committing offsets of group "${groupId}" failed: ${reason}. Nothing was lost: the records after the last successful commit will be processed again; check the brokers and retry the commit.`,
      options,
    );
    this.groupId = groupId;
  }
}

/** The group consumer stopped for good (kafkajs crashed with an error it does not retry). */
export class GroupConsumerCrashedError extends TributaryError {
  readonly groupId: string;

  constructor(groupId: string, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause, { withName: true });
    super(
      'TRIBUTARY_GROUP_CONSUMER_CRASHED',
      `Consumer of group "${groupId}" crashed and will not restart: ${reason}. Check the brokers and the topics, then restart the application.`,
      options,
    );
    this.groupId = groupId;
  }
}

// processor/runtime/ (TributaryApp: lifecycle, validation against the cluster)

/** The options given to `new TributaryApp(...)` are invalid; `problems` lists each one. */
export class RuntimeConfigError extends TributaryError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('TRIBUTARY_RUNTIME_CONFIG_INVALID', `Invalid TributaryApp options; fix these and start again:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Input topics the topology reads (streams, tables, global tables) do not exist on the cluster. */
export class MissingSourceTopicsError extends TributaryError {
  readonly topics: readonly string[];

  constructor(topics: readonly string[]) {
    super(
      'TRIBUTARY_SOURCE_TOPICS_MISSING',
      `The topology reads topic(s) that do not exist: ${topics.join(', ')}. Create them (Tributary only creates its internal repartition and dead-letter topics), or fix the topic names.`,
    );
    this.topics = topics;
  }
}

/**
 * An existing changelog topic of an aggregation or table-join store cannot serve as its changelog: its partition count
 * is not the task count of the store's sub-topology (each task writes and restores the partition numbered like it),
 * or it is not compacted (restoration would have to read every update ever written, and retention would drop rows).
 */
export class ChangelogTopicMismatchError extends TributaryError {
  readonly topic: string;
  readonly store: string;
  /** What the topology needs: the task count and a cleanup policy including `compact`. */
  readonly expected: { readonly partitions: number; readonly cleanupPolicy: string };
  /** What the cluster has. */
  readonly actual: { readonly partitions: number; readonly cleanupPolicy: string };

  constructor(
    topic: string,
    store: string,
    expected: { readonly partitions: number; readonly cleanupPolicy: string },
    actual: { readonly partitions: number; readonly cleanupPolicy: string },
  ) {
    const problems: string[] = [];
    if (actual.partitions !== expected.partitions)
      problems.push(`it has ${actual.partitions} partition(s), but store "${store}" has ${expected.partitions} task(s)`);
    if (!actual.cleanupPolicy.split(',').includes('compact'))
      problems.push(`its cleanup.policy is "${actual.cleanupPolicy}", not compacted (expected "${expected.cleanupPolicy}")`);
    super(
      'TRIBUTARY_CHANGELOG_TOPIC_MISMATCH',
      `Changelog topic ${topic} of store "${store}" cannot be used: ${problems.join('; ')}. ` +
        'It was created by hand or for an earlier topology (input topics with another partition count). Stop every ' +
        'instance, reset the application (`tributary reset` deletes its changelog topics and committed offsets, so the ' +
        'stores are rebuilt from the input topics) and start again.',
    );
    this.topic = topic;
    this.store = store;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Internal topics of the application that this topology no longer reads still hold records its group never read
 * (an internal topic got another name), and the app was told to refuse that (`orphanedInternalTopics: 'fail'`).
 */
export class OrphanedInternalTopicsError extends TributaryError {
  readonly topics: readonly { readonly topic: string; readonly unreadRecords: number }[];

  constructor(topics: readonly { readonly topic: string; readonly unreadRecords: number }[]) {
    super(
      'TRIBUTARY_ORPHANED_INTERNAL_TOPICS',
      `Internal topic(s) this topology no longer reads hold records the application never processed: ${topics
        .map((t) => `${t.topic} (${t.unreadRecords} unread)`)
        .join(', ')}. Run the previous version until its lag on them is 0, give the renamed repartition topic its old name ` +
        `(repartition({ name }) / join(..., { repartitionName })), or delete the topics to drop the records; then start again.`,
    );
    this.topics = topics;
  }
}

/** A TributaryApp method was called in a state that does not allow it (e.g. `start()` twice). */
export class AppStateError extends TributaryError {
  readonly state: string;

  constructor(state: string, detail: string) {
    super('TRIBUTARY_APP_STATE', `TributaryApp is ${state}: ${detail}`);
    this.state = state;
  }
}

/** The app failed for a reason that has no Tributary error of its own (reported through the app's 'error' event). */
export class AppFailedError extends TributaryError {
  constructor(options: { cause: unknown }) {
    const reason = causeText(options.cause, { withName: true });
    super(
      'TRIBUTARY_APP_FAILED',
      `TributaryApp failed and stopped processing (uncommitted work will be processed again after a restart): ${reason}. Fix the cause and restart the application.`,
      options,
    );
  }
}

/** The app stopped or failed before reaching the state a caller was waiting for (`waitUntilRunning()`). */
export class AppNotRunningError extends TributaryError {
  readonly state: string;

  constructor(state: string, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause, { errorsOnly: true });
    super(
      'TRIBUTARY_APP_NOT_RUNNING',
      `TributaryApp ended up ${state} instead of running${reason && `: ${reason}`}. Check the 'error' events and the log, fix the cause and start a new app.`,
      options,
    );
    this.state = state;
  }
}

// dlq (processor/dlq/: dead-letter replay)

/** `replayDeadLetters` was given options it cannot use (unknown stage, empty topic name, ...). */
export class DeadLetterReplayOptionsError extends TributaryError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      'TRIBUTARY_DLQ_REPLAY_OPTIONS_INVALID',
      `Invalid dead-letter replay options; fix these and run it again:\n  - ${problems.join('\n  - ')}`,
    );
    this.problems = problems;
  }
}

/** The dead-letter topic to replay does not exist. */
export class DeadLetterTopicMissingError extends TributaryError {
  readonly dlqTopic: string;

  constructor(dlqTopic: string) {
    super(
      'TRIBUTARY_DLQ_TOPIC_MISSING',
      `Dead-letter topic "${dlqTopic}" does not exist. Check the application id (the default topic is <applicationId>-dlq) or pass the topic the app was configured with (dlqTopic / --dlq-topic).`,
    );
    this.dlqTopic = dlqTopic;
  }
}

/** Dead letters point at topics that no longer exist, so they cannot be replayed; nothing of that batch was sent. */
export class DeadLetterTargetMissingError extends TributaryError {
  readonly topics: readonly string[];

  constructor(topics: readonly string[]) {
    super(
      'TRIBUTARY_DLQ_REPLAY_TARGET_MISSING',
      `Dead letters name topic(s) that do not exist: ${topics.join(', ')}. Create them again, or replay the other topics only (sourceTopic / --source-topic); progress up to here is saved.`,
    );
    this.topics = topics;
  }
}

/** Replaying failed (reading the DLQ, producing, or recording progress); progress up to the last saved batch is kept. */
export class DeadLetterReplayError extends TributaryError {
  constructor(detail: string, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause, { errorsOnly: true });
    super(
      'TRIBUTARY_DLQ_REPLAY_FAILED',
      `Dead-letter replay failed: ${detail}${reason && `: ${reason}`}. Run the replay again once the cause is fixed: it resumes after the last batch whose progress was saved (that batch may be replayed twice).`,
      options,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// http-query/ (query server)
// ---------------------------------------------------------------------------------------------------------------

/** `createQueryServer` was given an option it cannot use (e.g. a timeout that is not a positive integer). */
export class QueryServerOptionsError extends TributaryError {
  constructor(detail: string) {
    super('TRIBUTARY_QUERY_SERVER_OPTIONS_INVALID', `Invalid query server options: ${detail}. Fix the option and start again.`);
  }
}

/**
 * A query the HTTP server refuses or cannot answer right now. `statusCode` is the HTTP status the server replies
 * with; `retryAfterSeconds` (503 only) becomes the `Retry-After` header. The JSON body is
 * `{ error: { code, message } }` with the stable `code` below.
 */
export class QueryServerError extends TributaryError {
  readonly statusCode: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.statusCode = statusCode;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** 404: the store name is not served by this application. */
export class UnknownStoreError extends QueryServerError {
  constructor(store: string) {
    super(
      'TRIBUTARY_QUERY_UNKNOWN_STORE',
      404,
      `No queryable store named "${store}". List the stores this application serves with GET /stores.`,
    );
  }
}

/** 404: the key is not in the store (a normal answer, rendered as an error body so clients can match on it). */
export class KeyNotFoundError extends QueryServerError {
  constructor(store: string) {
    super('TRIBUTARY_QUERY_KEY_NOT_FOUND', 404, `The key is not in store "${store}".`);
  }
}

/** 400: the key (or a key bound such as `prefix`/`from`/`to`) is rejected by the store's key serde. */
export class InvalidQueryKeyError extends QueryServerError {
  constructor(store: string, keySerde: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_QUERY_INVALID_KEY',
      400,
      `The key cannot be encoded with store "${store}"'s key serde (${keySerde}): ${detail}. ` +
        'Send the key as its string form, URL-encoded.',
      options,
    );
  }
}

/** 400: the key is longer than the server accepts. */
export class QueryKeyTooLongError extends QueryServerError {
  constructor(maxBytes: number) {
    super(
      'TRIBUTARY_QUERY_KEY_TOO_LONG',
      400,
      `The key is longer than ${maxBytes} bytes once encoded; no stored key can be that long. Send a shorter key.`,
    );
  }
}

/** 400: a query parameter or path is malformed or out of range. */
export class InvalidQueryParameterError extends QueryServerError {
  constructor(detail: string) {
    super('TRIBUTARY_QUERY_INVALID_PARAMETER', 400, `Invalid request: ${detail}. See GET /openapi.json.`);
  }
}

/** 400: the `cursor` is not one this server issued for a scan in this direction. */
export class InvalidQueryCursorError extends QueryServerError {
  constructor(detail: string) {
    super(
      'TRIBUTARY_QUERY_INVALID_CURSOR',
      400,
      `Invalid cursor: ${detail}. Pass back the "nextCursor" of the previous page unchanged, with the same "reverse".`,
    );
  }
}

/** 401: auth is on and the bearer token is missing or wrong. */
export class QueryUnauthorizedError extends QueryServerError {
  constructor() {
    super(
      'TRIBUTARY_QUERY_UNAUTHORIZED',
      401,
      'Missing or wrong bearer token. Send "Authorization: Bearer <token>" with the token the server was started with.',
    );
  }
}

/** 404: no such route. */
export class QueryRouteNotFoundError extends QueryServerError {
  constructor(method: string, path: string) {
    super('TRIBUTARY_QUERY_ROUTE_NOT_FOUND', 404, `No route ${method} ${path}. See GET /openapi.json for the routes this server offers.`);
  }
}

/**
 * 400: the request asks a route for something it never serves, so retrying it cannot succeed: an internal
 * partition scan of a global store, or a full scan sent with the forwarded header.
 */
export class QueryWrongRouteError extends QueryServerError {
  constructor(code: 'TRIBUTARY_QUERY_STORE_KIND_MISMATCH' | 'TRIBUTARY_QUERY_FORWARDED_SCAN', message: string) {
    super(code, 400, message);
  }
}

/** 405: the path is a route, but not for this method (every route is `GET`/`HEAD`); `allow` lists the methods. */
export class QueryMethodNotAllowedError extends QueryServerError {
  readonly allow: readonly string[];

  constructor(method: string, path: string, allow: readonly string[]) {
    super(
      'TRIBUTARY_QUERY_METHOD_NOT_ALLOWED',
      405,
      `${path} does not answer ${method}; it answers ${allow.join(', ')}. Every route of this server is read-only.`,
    );
    this.allow = allow;
  }
}

/** 400/413: the request has a body the server cannot take (malformed JSON, over the size limit); no route reads one. */
export class QueryRequestBodyError extends QueryServerError {
  constructor(code: 'TRIBUTARY_QUERY_MALFORMED_BODY' | 'TRIBUTARY_QUERY_BODY_TOO_LARGE', statusCode: 400 | 413, detail: string) {
    super(code, statusCode, `${detail}. No route of this server reads a request body: send GET requests without one.`);
  }
}

/**
 * 400/408/431: Node's HTTP parser refused the request before it reached a route (not HTTP/1.1, headers over the size
 * limit, or not received in time); the server answers and closes the connection.
 */
export class QueryMalformedRequestError extends QueryServerError {
  constructor(
    code: 'TRIBUTARY_QUERY_MALFORMED_REQUEST' | 'TRIBUTARY_QUERY_REQUEST_TIMEOUT' | 'TRIBUTARY_QUERY_HEADERS_TOO_LARGE',
    statusCode: 400 | 408 | 431,
    message: string,
  ) {
    super(code, statusCode, message);
  }
}

/** Any other 4xx the framework refuses a request with, at the status it chose. */
export class QueryRequestRejectedError extends QueryServerError {
  constructor(statusCode: number, detail: string) {
    super('TRIBUTARY_QUERY_REQUEST_REJECTED', statusCode, `The request was refused: ${detail}. See GET /openapi.json.`);
  }
}

/**
 * 503: the data cannot be served correctly right now (partition moving or restoring, ownership views disagree,
 * the owning instance is unreachable, this instance is shutting down, the dead-letter topic cannot be read). Retry after `retryAfterSeconds`; never an empty or partial answer.
 */
export class QueryUnavailableError extends QueryServerError {
  constructor(
    code:
      | 'TRIBUTARY_QUERY_UNAVAILABLE'
      | 'TRIBUTARY_QUERY_NOT_LOCAL'
      | 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE'
      | 'TRIBUTARY_QUERY_REMOTE_FAILED'
      | 'TRIBUTARY_QUERY_STORE_READ_FAILED'
      | 'TRIBUTARY_QUERY_SHUTTING_DOWN'
      | 'TRIBUTARY_QUERY_DEAD_LETTERS_UNAVAILABLE',
    message: string,
    retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(code, 503, message, { ...options, retryAfterSeconds });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// cli/ (the `tributary` command)
// ---------------------------------------------------------------------------------------------------------------

/** A command line the CLI cannot run: unknown command or flag, missing argument, malformed value. */
export class CliUsageError extends TributaryError {
  readonly command: string | undefined;

  constructor(command: string | undefined, detail: string) {
    const help = command === undefined ? 'tributary --help' : `tributary ${command} --help`;
    super('TRIBUTARY_CLI_USAGE', `${detail}. Run \`${help}\` for the usage.`);
    this.command = command;
  }
}

/** Settings given by flags or TRIBUTARY_* environment variables are invalid; `problems` lists each one. */
export class CliConfigError extends TributaryError {
  readonly problems: readonly string[];

  constructor(command: string, problems: readonly string[]) {
    super(
      'TRIBUTARY_CLI_CONFIG_INVALID',
      `Invalid settings for \`tributary ${command}\`; fix these (flag or TRIBUTARY_* variable) and run it again:\n  - ${problems.join('\n  - ')}`,
    );
    this.problems = problems;
  }
}

/** The module given to `run`/`describe`/`reset` could not be loaded or does not provide a topology. */
export class TopologyModuleError extends TributaryError {
  readonly modulePath: string;

  constructor(modulePath: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_CLI_TOPOLOGY_MODULE',
      `Cannot get a topology from ${modulePath}: ${detail}. The module must export a Topology (default export or \`topology\`) or a function returning one (it may be async and receives { applicationId }).`,
      options,
    );
    this.modulePath = modulePath;
  }
}

/** `tributary reset` could not delete the consumer group, usually because instances of the application still run. */
export class ResetGroupError extends TributaryError {
  readonly groupId: string;

  constructor(groupId: string, options?: { cause?: unknown }) {
    const reason = causeText(options?.cause);
    super(
      'TRIBUTARY_CLI_RESET_GROUP_FAILED',
      `Could not delete the committed offsets of consumer group "${groupId}": ${reason}. Stop every instance of the application (a group with live members cannot be deleted), then run the reset again.`,
      options,
    );
    this.groupId = groupId;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Database change formats (Debezium, outbox) and the change feed
// ---------------------------------------------------------------------------------------------------------------

/**
 * A table fed by Kafka Connect cannot route keys the way Connect partitioned them: the key bytes cannot be reproduced
 * from the unwrapped key, or the connector does not partition with Kafka's default partitioner. Thrown at start.
 */
export class ConnectKeyRoutingError extends TributaryError {
  readonly topic: string;

  constructor(topic: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TRIBUTARY_CONNECT_KEY_ROUTING',
      `Table topic ${topic}: ${detail}. Lookups by key and co-partitioned joins would miss rows, so the application does not start. Use a globalTable for this topic (it needs no routing), or make the connector use Kafka's default partitioner and the JsonConverter for keys.`,
      options,
    );
    this.topic = topic;
  }
}

/** A key of a Connect-fed table was serialized before any record of its topic showed the key format. */
export class ConnectKeyUnknownError extends TributaryError {
  readonly topic: string;

  constructor(topic: string) {
    super(
      'TRIBUTARY_CONNECT_KEY_UNKNOWN',
      `The key format of ${topic} is not known yet: no record of the topic has been read, so the bytes Kafka Connect would write for this key (schema wrapper or not) cannot be reproduced. Retry once the topic holds a record.`,
    );
    this.topic = topic;
  }
}

/** A Debezium truncate event reached a table whose truncate handling is `fail` (the default). */
export class TableTruncatedError extends TributaryError {
  readonly store: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;

  constructor(store: string, location: RecordLocation) {
    super(
      'TRIBUTARY_TABLE_TRUNCATED',
      `The source table of store '${store}' was truncated (Debezium op 't' at ${location.topic}:${location.partition}@${location.offset}); the task stops instead of keeping rows the database no longer has. Set the table's format to debezium({ truncate: 'clear' }) on a global table to clear it, or reset the table's state and restart.`,
    );
    this.store = store;
    this.topic = location.topic;
    this.partition = location.partition;
    this.offset = location.offset;
  }
}

/** 410: a change-feed client asked to resume from a position older than what this instance can replay. */
export class ChangeFeedPositionTooOldError extends QueryServerError {
  constructor(store: string, detail: string) {
    super(
      'TRIBUTARY_QUERY_CHANGES_POSITION_TOO_OLD',
      410,
      `Cannot resume the change feed of store "${store}" from the given position: ${detail}. Reload the store (GET /stores/${store}/entries) and subscribe again without Last-Event-ID.`,
    );
  }
}

/** 429: this instance already serves its maximum number of change-feed subscribers. */
export class ChangeFeedSubscriberLimitError extends QueryServerError {
  constructor(limit: number) {
    super(
      'TRIBUTARY_QUERY_CHANGES_TOO_MANY_SUBSCRIBERS',
      429,
      `This instance already serves ${limit} change-feed subscribers (its limit). Retry later, subscribe through another instance, or raise changeFeed.maxSubscribers.`,
    );
  }
}

/** 400: the store has no change feed (only table and global-table stores have one). */
export class ChangeFeedUnsupportedError extends QueryServerError {
  constructor(store: string) {
    super(
      'TRIBUTARY_QUERY_CHANGES_UNSUPPORTED',
      400,
      `Store "${store}" has no change feed: only stores materialized from a topic (tables and global tables) have one.`,
    );
  }
}
