/**
 * `tributary <command> ...`: picks the command, prints help and version, and turns thrown errors into a message
 * and an exit code (2 for usage and settings errors, 1 for everything else).
 */
import { readFileSync } from 'node:fs';
import { CliConfigError, CliUsageError, TributaryError } from '../errors.js';
import { ExitCode, type CliCommand } from './command.js';
import { describeCommand } from './commands/describe.js';
import { dlqCommand } from './commands/dlq.js';
import { resetCommand } from './commands/reset.js';
import { runCommand } from './commands/run.js';

export const COMMANDS: readonly CliCommand[] = [runCommand, describeCommand, resetCommand, dlqCommand];

function packageVersion(): string {
  // ../package.json from cli/ (tsx) and from dist/cli/ (built) alike: try both.
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (parsed.name === 'tributary' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: tributary <command> [options]

Kafka Streams-style stateful stream processing for TypeScript.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run \`tributary <command> --help\` for a command's options. Settings can also come from TRIBUTARY_* variables
(e.g. --brokers from TRIBUTARY_BROKERS).
Options: --help, --version`;
}

/** Runs the CLI on `argv` (without node and the script path); resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(`${topic?.usage ?? mainUsage()}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) throw new CliUsageError(undefined, `unknown command "${name}"`);
    return await command.run(rest);
  } catch (error) {
    if (error instanceof TributaryError) {
      process.stderr.write(`tributary${command ? ` ${command.name}` : ''}: ${error.message} [${error.code}]\n`);
      return error instanceof CliUsageError || error instanceof CliConfigError ? ExitCode.usage : ExitCode.failed;
    }
    process.stderr.write(
      `tributary${command ? ` ${command.name}` : ''}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.failed;
  }
}
