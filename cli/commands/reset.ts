/**
 * `tributary reset`: makes an application start over from its input topics. Lists what it would delete (internal
 * repartition and changelog topics, the consumer group's committed offsets, optionally the dead-letter topic and the
 * local state directory) and deletes only with `--yes`. Every instance of the application must be stopped first.
 */
import { parseTopicPartitionId } from '../../common/records.js';
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ResetGroupError } from '../../errors.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { globalDeadLetterGroupId } from '../../processor/runtime/dead-letter-ownership.js';
import { ExitCode, type CliCommand } from '../command.js';
import { KAFKA_SETTINGS, readKafkaSettings } from '../kafka-settings.js';
import { formatCount } from '../progress.js';
import { CommandLine, renderOptions, type SettingSpec } from '../settings.js';
import { loadTopology } from '../topology-module.js';

const SETTINGS: readonly SettingSpec[] = [
  {
    flag: 'application-id',
    type: 'string',
    placeholder: '<id>',
    description: "Application to reset (its consumer group id and topic prefix); default: the module's",
  },
  ...KAFKA_SETTINGS,
  { flag: 'include-dlq', type: 'boolean', env: false, description: 'Also delete the dead-letter topic' },
  {
    flag: 'dlq-topic',
    type: 'string',
    placeholder: '<topic>',
    description: 'Name of the dead-letter topic',
    defaultText: '<application-id>-dlq',
  },
  { flag: 'local-state', type: 'boolean', env: false, description: "Also delete this machine's state directory of the application" },
  { flag: 'state-dir', type: 'string', placeholder: '<dir>', description: 'State directory given to `run` (with --local-state)' },
  { flag: 'yes', type: 'boolean', env: false, description: 'Delete for real (without it, only print the plan)' },
];

const usage = `Usage: tributary reset [<module>] --application-id <id> --brokers <host:port,...> [options]

Resets an application so it reprocesses its input from the start. Prints what it deletes:
  - the internal repartition topics (from the module's topology when given, else every existing topic named
    <application-id>-...-repartition),
  - the changelog topics of aggregation and table-join stores (from the topology, else every existing topic named
    <application-id>-...-changelog): the stores are rebuilt from the input topics,
  - the consumer group <application-id> with its committed offsets (and <application-id>-global-dead-letters,
    the progress of the dead-letter writer of topics only global tables read),
  - with --include-dlq, the dead-letter topic,
  - with --local-state, <state-dir>/<application-id> on this machine.
Nothing is deleted without --yes. Stop every instance of the application first.

Options:
${renderOptions(SETTINGS)}

Examples:
  tributary reset --application-id order-enrichment --brokers 127.0.0.1:9092
  tributary reset examples/order-enrichment.ts --brokers 127.0.0.1:9092 --local-state --state-dir .state/a --yes`;

export interface ResetPlan {
  readonly applicationId: string;
  /** Repartition topics that exist and will be deleted. */
  readonly repartitionTopics: readonly string[];
  /** Where the repartition and changelog topic names came from. */
  readonly repartitionSource: 'topology' | 'name-pattern';
  /** Changelog topics of derived-table stores that exist and will be deleted. */
  readonly changelogTopics: readonly string[];
  readonly dlqTopic: string | undefined;
  /** Committed offsets of the group: topic -> partitions with a commit. */
  readonly committedOffsets: ReadonlyMap<string, number>;
  readonly localStateDir: string | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Topic names that follow the runtime's repartition naming for this application. */
export function repartitionTopicsByName(applicationId: string, topics: readonly string[]): string[] {
  return internalTopicsByName(applicationId, topics, 'repartition');
}

/** Topic names that follow the runtime's changelog naming for this application (`<applicationId>-<store>-changelog`). */
export function changelogTopicsByName(applicationId: string, topics: readonly string[]): string[] {
  return internalTopicsByName(applicationId, topics, 'changelog');
}

function internalTopicsByName(applicationId: string, topics: readonly string[], suffix: 'repartition' | 'changelog'): string[] {
  const pattern = new RegExp(`^${escapeRegExp(applicationId)}-.+-${suffix}$`);
  return topics.filter((topic) => pattern.test(topic)).sort();
}

async function directorySize(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) total += await directorySize(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

function printPlan(plan: ResetPlan, localStateBytes: number | undefined): void {
  const out: string[] = [`Reset of application "${plan.applicationId}":`];
  out.push(`  Repartition topics (${plan.repartitionSource === 'topology' ? 'from the topology' : 'by name pattern'}):`);
  if (plan.repartitionTopics.length === 0) out.push('    (none exist)');
  for (const topic of plan.repartitionTopics) out.push(`    delete topic ${topic}`);
  out.push(`  Changelog topics (${plan.repartitionSource === 'topology' ? 'from the topology' : 'by name pattern'}):`);
  if (plan.changelogTopics.length === 0) out.push('    (none exist)');
  for (const topic of plan.changelogTopics) out.push(`    delete topic ${topic}`);
  out.push(`  Consumer group "${plan.applicationId}":`);
  if (plan.committedOffsets.size === 0) out.push('    (no committed offsets)');
  for (const [topic, partitions] of plan.committedOffsets)
    out.push(`    delete committed offsets of ${topic} (${partitions} partition${partitions === 1 ? '' : 's'})`);
  if (plan.dlqTopic !== undefined) out.push(`  Dead-letter topic:\n    delete topic ${plan.dlqTopic}`);
  if (plan.localStateDir !== undefined) {
    out.push('  Local state:');
    out.push(
      localStateBytes === undefined
        ? `    ${plan.localStateDir} (does not exist)`
        : `    delete directory ${plan.localStateDir} (${formatCount(localStateBytes / 1024)} KiB)`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export const resetCommand: CliCommand = {
  name: 'reset',
  summary: "Delete an application's internal topics, committed offsets (and optionally DLQ, local state)",
  usage,
  async run(argv) {
    const line = CommandLine.parse('reset', SETTINGS, argv, process.env);
    if (line.help) {
      process.stdout.write(`${usage}\n`);
      return ExitCode.ok;
    }
    line.expectPositionals(['module'], 1);
    const modulePath = line.positionals[0];
    const givenApplicationId = line.applicationId('application-id', modulePath === undefined);
    const kafka = readKafkaSettings(line);
    const includeDlq = line.boolean('include-dlq');
    const localState = line.boolean('local-state');
    const stateDir = line.string('state-dir', { required: localState, hint: 'the --state-dir the application ran with' });
    if (!localState && line.source('state-dir') === 'flag') line.problem('state-dir', 'is only used with --local-state');
    line.throwIfProblems();

    const topology = modulePath === undefined ? undefined : await loadTopology(modulePath, { applicationId: givenApplicationId });
    const applicationId = givenApplicationId ?? topology?.applicationId;
    if (applicationId === undefined) throw new Error('unreachable: application id checked above');
    if (topology !== undefined && topology.applicationId !== applicationId) {
      line.problem(
        'application-id',
        `"${applicationId}" differs from the module's "${topology.applicationId}"; make the module use the applicationId it receives`,
      );
      line.throwIfProblems();
    }
    const dlqTopic = line.string('dlq-topic') ?? `${applicationId}-dlq`;

    const admin = new KafkaAdmin(createKafkaClient({ ...kafka, clientId: `tributary-reset-${applicationId}` }));
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      const existing = new Set(topics);
      const repartitionTopics = topology
        ? topology.repartitionTopics
            .map((r) => r.topic)
            .filter((topic) => existing.has(topic))
            .sort()
        : repartitionTopicsByName(applicationId, topics);
      const changelogTopics = topology
        ? topology.changelogTopics
            .map((c) => c.topic)
            .filter((topic) => existing.has(topic))
            .sort()
        : changelogTopicsByName(applicationId, topics);
      const committed = await admin.fetchCommittedOffsets(applicationId, topics);
      const committedOffsets = new Map<string, number>();
      for (const id of committed.keys()) {
        const { topic } = parseTopicPartitionId(id);
        committedOffsets.set(topic, (committedOffsets.get(topic) ?? 0) + 1);
      }
      const plan: ResetPlan = {
        applicationId,
        repartitionTopics,
        repartitionSource: topology ? 'topology' : 'name-pattern',
        changelogTopics,
        dlqTopic: includeDlq && existing.has(dlqTopic) ? dlqTopic : undefined,
        committedOffsets,
        localStateDir: localState && stateDir !== undefined ? join(stateDir, applicationId) : undefined,
      };
      const localStateBytes =
        plan.localStateDir !== undefined && existsSync(plan.localStateDir) ? await directorySize(plan.localStateDir) : undefined;
      printPlan(plan, localStateBytes);
      if (includeDlq && plan.dlqTopic === undefined) process.stdout.write(`  (dead-letter topic ${dlqTopic} does not exist)\n`);

      if (!line.boolean('yes')) {
        process.stdout.write('Nothing was deleted. Stop every instance of the application, then run again with --yes.\n');
        return ExitCode.ok;
      }
      // The group first: it fails while instances still run, before anything else is gone.
      try {
        await admin.deleteGroups([applicationId, globalDeadLetterGroupId(applicationId)]);
      } catch (error) {
        throw new ResetGroupError(applicationId, { cause: error });
      }
      process.stdout.write(`Deleted consumer group ${applicationId} (and ${globalDeadLetterGroupId(applicationId)} if present)\n`);
      const topicsToDelete = [...plan.repartitionTopics, ...plan.changelogTopics, ...(plan.dlqTopic ? [plan.dlqTopic] : [])];
      if (topicsToDelete.length > 0) {
        await admin.deleteTopics(topicsToDelete);
        process.stdout.write(`Deleted topics ${topicsToDelete.join(', ')}\n`);
      }
      if (plan.localStateDir !== undefined && stateDir !== undefined && localStateBytes !== undefined) {
        // Taking the lock proves no local instance uses the directory (StateDirectoryLockedError otherwise).
        const directory = await StateDirectory.open({ stateDir, applicationId });
        await directory.close();
        await rm(plan.localStateDir, { recursive: true, force: true });
        process.stdout.write(`Deleted ${plan.localStateDir}\n`);
      }
      process.stdout.write('Reset done.\n');
      return ExitCode.ok;
    } finally {
      await admin.disconnect();
    }
  },
};
