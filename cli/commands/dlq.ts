/**
 * `tributary dlq replay`: sends dead letters back to the topics they came from (processor/dlq/replay.ts), printing
 * what it did. Registered by cli/main.ts.
 */
import { CliUsageError } from '../../errors.js';
import { ERROR_STAGES } from '../../processor/dlq/dead-letter.js';
import { replayDeadLetters, type ReplayDeadLettersOptions, type ReplayResult } from '../../processor/dlq/replay.js';
import { ExitCode, type CliCommand } from '../command.js';
import { KAFKA_SETTINGS, readKafkaSettings } from '../kafka-settings.js';
import { CommandLine, renderOptions, type SettingSpec } from '../settings.js';

const PROGRESS_EVERY = 10_000;

const SETTINGS: readonly SettingSpec[] = [
  { flag: 'application-id', type: 'string', placeholder: '<id>', description: 'Application whose dead letters to replay' },
  ...KAFKA_SETTINGS,
  {
    flag: 'dlq-topic',
    type: 'string',
    placeholder: '<topic>',
    description: 'Dead-letter topic the app was configured with',
    defaultText: '<application-id>-dlq',
  },
  { flag: 'source-topic', type: 'string', env: false, placeholder: '<topic>', description: 'Only dead letters going back to this topic' },
  { flag: 'stage', type: 'string', env: false, placeholder: `<${ERROR_STAGES.join('|')}>`, description: 'Only dead letters of this stage' },
  { flag: 'dry-run', type: 'boolean', env: false, description: 'Count what would be replayed; send nothing, save no progress' },
  { flag: 'json', type: 'boolean', env: false, description: 'Print the result as one JSON object' },
];

export const summary = 'Replay dead letters back to the topics they came from';

export const usage = `Usage: tributary dlq replay --application-id <id> --brokers <host:port,...> [options]

Reads <application-id>-dlq up to its current end and sends each dead letter's original key, value, timestamp and
headers (minus tributary.*, plus tributary.replayed-from) back to its source topic, on its original partition
(production-stage dead letters: to the topic they were meant for). Progress is saved per batch in the compacted
topic <application-id>-dlq-replay-progress, so running it again replays only dead letters not replayed yet, whatever
the filters of earlier runs (a batch interrupted by a crash may be replayed twice). Dead letters without the
tributary.* headers are listed as malformed and never sent. Run one replay per application at a time, after fixing
the cause (serde, code or policy) and while the application runs or before it starts again.

Options:
${renderOptions(SETTINGS)}

Exit codes: 0 done (malformed dead letters are listed, not fatal), 1 replay failed, 2 bad command line.

Examples:
  tributary dlq replay --application-id order-enrichment --brokers 127.0.0.1:9092 --dry-run
  tributary dlq replay --application-id order-enrichment --brokers 127.0.0.1:9092 --source-topic orders`;

/** Where the command writes; the CLI passes process streams, tests pass collectors. */
export interface CommandOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const processOutput: CommandOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export interface ParsedReplayCommand {
  readonly help: boolean;
  readonly json: boolean;
  readonly options: Omit<ReplayDeadLettersOptions, 'onProgress'>;
}

/**
 * Parses the words after `dlq` (`replay --flag ...`). Throws `CliUsageError` (unknown flag, missing subcommand) or
 * `CliConfigError` (every bad setting at once).
 */
export function parseReplayArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedReplayCommand {
  const line = CommandLine.parse('dlq', SETTINGS, argv, env);
  if (line.help) return { help: true, json: false, options: { applicationId: '', kafka: { brokers: [] } } };
  if (line.positionals[0] !== 'replay') {
    throw new CliUsageError(
      'dlq',
      line.positionals.length === 0
        ? 'missing subcommand (the only one is `replay`)'
        : `unknown subcommand "${line.positionals[0]}" (the only one is \`replay\`)`,
    );
  }
  line.expectPositionals(['subcommand']);
  const applicationId = line.applicationId('application-id', true) ?? '';
  const kafka = readKafkaSettings(line);
  const dlqTopic = line.string('dlq-topic');
  const sourceTopic = line.string('source-topic');
  const stage = line.string('stage') === undefined ? undefined : line.oneOf('stage', ERROR_STAGES, 'deserialization');
  line.throwIfProblems();
  return {
    help: false,
    json: line.boolean('json'),
    options: { applicationId, kafka: { ...kafka, logLevel: 'error' }, dlqTopic, sourceTopic, stage, dryRun: line.boolean('dry-run') },
  };
}

export function formatReplayResult(result: ReplayResult): string[] {
  const verb = result.dryRun ? 'Would replay' : 'Replayed';
  const lines = [
    `${result.dryRun ? '[dry run] ' : ''}Scanned ${result.scanned} dead letter(s) in ${result.dlqTopic}.`,
    `${verb} ${result.replayed}; skipped by filter ${result.skippedByFilter}; already replayed ${result.alreadyReplayed}; malformed ${result.malformed}; duplicates ${result.duplicates}; refused ${result.refused}.`,
  ];
  for (const [topic, count] of Object.entries(result.replayedByTopic).sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`  ${topic}: ${count}`);
  if (result.resetPartitions.length > 0) {
    lines.push(
      `Saved progress was past the end of partition(s) ${result.resetPartitions.join(', ')} (the DLQ topic was recreated): read them from the start.`,
    );
  }
  for (const m of result.malformedRecords) lines.push(`  malformed ${result.dlqTopic}:${m.partition}@${m.offset}: ${m.reason}`);
  if (result.malformed > result.malformedRecords.length)
    lines.push(`  ... and ${result.malformed - result.malformedRecords.length} more malformed`);
  if (result.malformed > 0) lines.push('Malformed dead letters lack the tributary.* headers replay needs; they were not sent anywhere.');
  for (const r of result.refusedRecords) lines.push(`  refused ${result.dlqTopic}:${r.partition}@${r.offset}: ${r.reason}`);
  if (result.refused > result.refusedRecords.length) lines.push(`  ... and ${result.refused - result.refusedRecords.length} more refused`);
  if (result.duplicates > 0)
    lines.push(
      'Duplicates are copies of a dead letter for the same source record (written again after a crash); each record was counted once.',
    );
  return lines;
}

/**
 * `tributary dlq <argv...>`: prints the result and resolves to the exit code; usage, settings and replay errors are
 * thrown as `TributaryError`s for the dispatcher to print (exit 2 or 1).
 */
export async function runDlqCommand(
  argv: readonly string[],
  output: CommandOutput = processOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const command = parseReplayArgs(argv, env);
  if (command.help) {
    output.out(usage);
    return ExitCode.ok;
  }
  let reported = 0;
  const result = await replayDeadLetters({
    ...command.options,
    // Big replays stay visibly alive: one line per PROGRESS_EVERY dead letters scanned, on stderr.
    onProgress: (event) => {
      if (command.json || event.scanned - reported < PROGRESS_EVERY) return;
      reported = event.scanned;
      output.err(
        `... ${event.scanned} scanned (partition ${event.partition} at ${event.nextOffset}/${event.endOffset}), ${event.replayed} replayed`,
      );
    },
  });
  if (command.json) output.out(JSON.stringify(result));
  else for (const line of formatReplayResult(result)) output.out(line);
  return ExitCode.ok;
}

export const dlqCommand: CliCommand = {
  name: 'dlq',
  summary,
  usage,
  run: (argv) => runDlqCommand(argv),
};
