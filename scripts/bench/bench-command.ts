/**
 * The frame every `npm run bench` mode shares: parse the options (usage on error or --help), a work directory under
 * `.state/<name>/<time>/`, a local broker (or KAFKA_BROKERS) stopped at the end and on SIGINT/SIGTERM, the result as
 * JSON on stdout, in `result.json` and in `--json-out`, and a readable table on stderr. Returns the exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { openKafkaSession, type KafkaSession } from './kafka-session.js';

/** A `--name <n>` option: a positive integer (underscores allowed: 1_000_000), `fallback` when absent. */
export function positiveIntOption(name: string, text: string | undefined, fallback: number): number {
  return intOption(name, text, fallback, 1, 'a positive integer');
}

/** A `--name <n>` option: an integer of 0 or more, `fallback` when absent. */
export function nonNegativeIntOption(name: string, text: string | undefined, fallback: number): number {
  return intOption(name, text, fallback, 0, 'an integer of 0 or more');
}

function intOption(name: string, text: string | undefined, fallback: number, lowest: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < lowest) throw new Error(`--${name} needs ${what}, got "${text}"`);
  return value;
}

export interface BenchCommand<S extends { readonly jsonOut: string | undefined }, R> {
  /** Folder under `.state/` the runs of this mode go to. */
  readonly name: string;
  readonly usage: string;
  /** Throws on bad options; undefined for --help. */
  readonly parse: (argv: readonly string[]) => S | undefined;
  readonly run: (settings: S, kafka: KafkaSession, workDir: string) => Promise<R>;
  readonly printTable: (result: R) => void;
  /** Runs before the broker starts (e.g. building a side's app); a throw ends the command with exit code 1. */
  readonly before?: (settings: S, workDir: string) => Promise<void>;
  /** Progress lines on stderr. */
  readonly note: (text: string) => void;
  /** After the run, whatever happened (e.g. remove state directories, keep logs). */
  readonly cleanUp?: (workDir: string) => void;
}

export async function runBenchCommand<S extends { readonly jsonOut: string | undefined }, R>(
  command: BenchCommand<S, R>,
  argv: readonly string[],
): Promise<number> {
  let settings: S | undefined;
  try {
    settings = command.parse(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${command.usage}\n`);
    return 2;
  }
  if (settings === undefined) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  const { note } = command;
  const workDir = join(REPO_ROOT, '.state', command.name, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(workDir, { recursive: true });
  note(`bench: work dir ${workDir} (logs kept, state removed)`);
  if (command.before !== undefined) {
    try {
      await command.before(settings, workDir);
    } catch (error) {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  const kafka = await openKafkaSession({
    logFile: join(workDir, 'kafka.log'),
    onStarting: (version) => note(`bench: starting a local Kafka ${version} broker`),
  });
  const stopOnSignal = (signal: NodeJS.Signals) => {
    note(`bench: ${signal}, stopping`);
    void kafka.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const result = await command.run(settings, kafka, workDir);
    const json = JSON.stringify(result, null, 2);
    process.stdout.write(`${json}\n`);
    writeFileSync(join(workDir, 'result.json'), `${json}\n`);
    if (settings.jsonOut) writeFileSync(settings.jsonOut, `${json}\n`);
    command.printTable(result);
    return 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
    await kafka.stop();
    command.cleanUp?.(workDir);
  }
}
