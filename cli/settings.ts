/**
 * Flags with environment fallbacks: every setting `--some-flag` can also come from `TRIBUTARY_SOME_FLAG` (a flag
 * wins over the variable). Parsing (node:util parseArgs, strict) and typed reading with every problem collected
 * at once, named the way the user gave the value (`--port` or `TRIBUTARY_PORT`).
 */
import { parseArgs } from 'node:util';
import { CliConfigError, CliUsageError } from '../errors.js';

export interface SettingSpec {
  /** Long flag name without dashes, e.g. `application-id`. */
  readonly flag: string;
  readonly type: 'string' | 'boolean';
  /** `false`: flag only. Default: `TRIBUTARY_` + the flag in upper snake case. */
  readonly env?: string | false;
  /** Value placeholder in the help, e.g. `<host:port,...>`. */
  readonly placeholder?: string;
  readonly description: string;
  /** Shown as "(default ...)" in the help. */
  readonly defaultText?: string;
}

export type SettingSource = 'flag' | 'env';

interface RawSetting {
  readonly value: string | boolean;
  readonly source: SettingSource;
}

export function envNameOf(spec: SettingSpec): string | undefined {
  if (spec.env === false) return undefined;
  return spec.env ?? `TRIBUTARY_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

const HELP_SPEC: SettingSpec = { flag: 'help', type: 'boolean', env: false, description: 'Show this help' };

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

/** The command line of one command: positionals and settings, read through typed getters that collect problems. */
export class CommandLine {
  readonly command: string;
  readonly positionals: readonly string[];
  readonly help: boolean;
  private readonly raw: ReadonlyMap<string, RawSetting>;
  private readonly specs: ReadonlyMap<string, SettingSpec>;
  private readonly problems: string[] = [];

  private constructor(command: string, specs: readonly SettingSpec[], raw: Map<string, RawSetting>, positionals: string[], help: boolean) {
    this.command = command;
    this.specs = new Map(specs.map((spec) => [spec.flag, spec]));
    this.raw = raw;
    this.positionals = positionals;
    this.help = help;
  }

  /** Parses `argv` (strict: unknown flags are usage errors), then fills unset settings from `env`. */
  static parse(command: string, specs: readonly SettingSpec[], argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine {
    const all = [...specs, HELP_SPEC];
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: Object.fromEntries(all.map((spec) => [spec.flag, { type: spec.type, ...(spec.flag === 'help' ? { short: 'h' } : {}) }])),
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new CliUsageError(command, error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
    }
    const raw = new Map<string, RawSetting>();
    const problems: string[] = [];
    for (const spec of specs) {
      const fromFlag = parsed.values[spec.flag];
      if (fromFlag !== undefined) {
        if (Array.isArray(fromFlag)) continue; // not configured as `multiple`, never happens
        raw.set(spec.flag, { value: fromFlag, source: 'flag' });
        continue;
      }
      const envName = envNameOf(spec);
      const fromEnv = envName === undefined ? undefined : env[envName];
      if (fromEnv === undefined) continue;
      if (spec.type === 'boolean') {
        const word = fromEnv.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) raw.set(spec.flag, { value: true, source: 'env' });
        else if (!FALSE_WORDS.has(word)) problems.push(`${envName}: "${fromEnv}" is not a boolean (use true/false, 1/0, yes/no)`);
      } else if (fromEnv !== '') {
        raw.set(spec.flag, { value: fromEnv, source: 'env' });
      }
    }
    const line = new CommandLine(command, specs, raw, parsed.positionals, parsed.values.help === true);
    line.problems.push(...problems);
    return line;
  }

  /** `--flag` or `TRIBUTARY_FLAG`, whichever the value came from (for error messages). */
  label(flag: string): string {
    const spec = this.spec(flag);
    const setting = this.raw.get(flag);
    const envName = envNameOf(spec);
    if (setting?.source === 'env' && envName !== undefined) return envName;
    if (setting?.source === 'flag' || envName === undefined) return `--${flag}`;
    return `--${flag} (or ${envName})`;
  }

  source(flag: string): SettingSource | undefined {
    return this.raw.get(flag)?.source;
  }

  string(flag: string, options: { required?: boolean; hint?: string } = {}): string | undefined {
    const setting = this.raw.get(this.spec(flag).flag);
    if (setting === undefined || typeof setting.value !== 'string' || setting.value.trim() === '') {
      if (setting !== undefined && typeof setting.value === 'string') this.problem(flag, 'is empty');
      else if (options.required) this.problem(flag, `is required${options.hint ? `: ${options.hint}` : ''}`);
      return undefined;
    }
    return setting.value.trim();
  }

  boolean(flag: string): boolean {
    return this.raw.get(this.spec(flag).flag)?.value === true;
  }

  integer(flag: string, bounds: { min: number; max: number }, fallback: number): number {
    const text = this.string(flag);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
      this.problem(flag, `"${text}" must be an integer in ${bounds.min}..${bounds.max}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(flag: string, choices: readonly T[], fallback: T): T {
    const text = this.string(flag);
    if (text === undefined) return fallback;
    if (!(choices as readonly string[]).includes(text)) {
      this.problem(flag, `"${text}" is not one of ${choices.join(', ')}`);
      return fallback;
    }
    return text as T;
  }

  /** Comma-separated `host:port` list. */
  brokers(flag: string, required: boolean): string[] {
    const text = this.string(flag, { required, hint: 'give the Kafka bootstrap servers, e.g. 127.0.0.1:9092' });
    if (text === undefined) return [];
    const brokers = text
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    for (const broker of brokers) {
      const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(broker);
      const port = match ? Number(match[2]) : 0;
      if (!match || port < 1 || port > 65535) this.problem(flag, `"${broker}" is not a host:port address`);
    }
    if (brokers.length === 0) this.problem(flag, 'names no broker');
    return brokers;
  }

  /** An application id: letters, digits, '.', '_' and '-' (it names topics, the group and a directory). */
  applicationId(flag: string, required: boolean): string | undefined {
    const text = this.string(flag, { required, hint: 'the consumer group id and internal topic prefix' });
    if (text !== undefined && !/^[A-Za-z0-9._-]+$/.test(text)) {
      this.problem(flag, `"${text}" may only use letters, digits, '.', '_' and '-'`);
    }
    return text;
  }

  httpUrl(flag: string): string | undefined {
    const text = this.string(flag);
    if (text === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
      this.problem(flag, `"${text}" must be an http(s) base URL such as http://10.0.0.7:7070`);
      return undefined;
    }
    return text.replace(/\/$/, '');
  }

  /** Records a problem found by the caller (cross-setting checks). */
  problem(flag: string, detail: string): void {
    this.problems.push(`${this.label(flag)}: ${detail}`);
  }

  /** Throws `CliConfigError` with every problem collected so far. */
  throwIfProblems(): void {
    if (this.problems.length > 0) throw new CliConfigError(this.command, this.problems);
  }

  /** Exactly `count` positionals expected (`names` for the message). */
  expectPositionals(names: readonly string[], optional = 0): void {
    const min = names.length - optional;
    if (this.positionals.length < min)
      throw new CliUsageError(
        this.command,
        `missing ${names
          .slice(this.positionals.length)
          .map((n) => `<${n}>`)
          .join(' ')}`,
      );
    if (this.positionals.length > names.length) {
      throw new CliUsageError(this.command, `unexpected argument "${this.positionals[names.length]}"`);
    }
  }

  private spec(flag: string): SettingSpec {
    const spec = this.specs.get(flag);
    if (spec === undefined) throw new Error(`CommandLine: no setting "${flag}" declared for ${this.command}`);
    return spec;
  }
}

/** The "Options:" block of a command's help: flag, its variable, description, default. */
export function renderOptions(specs: readonly SettingSpec[]): string {
  const rows = [...specs, HELP_SPEC].map((spec) => {
    const left = `--${spec.flag}${spec.type === 'string' ? ` ${spec.placeholder ?? '<value>'}` : ''}${spec.flag === 'help' ? ', -h' : ''}`;
    const envName = envNameOf(spec);
    const details = [spec.description];
    if (spec.defaultText !== undefined) details.push(`(default ${spec.defaultText})`);
    if (envName !== undefined) details.push(`[env ${envName}]`);
    return { left, right: details.join(' ') };
  });
  const width = Math.min(34, Math.max(...rows.map((row) => row.left.length)) + 2);
  return rows
    .map(({ left, right }) => (left.length + 2 > width ? `  ${left}\n  ${' '.repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`))
    .join('\n');
}
