/**
 * The CLI's logger for the runtime: JSON lines (for files and log collectors) or short text lines (for people),
 * written through the progress display so a progress bar stays intact.
 */
import type { RuntimeLogger } from '../processor/runtime/logger.js';
import { jsonLineLogger } from '../processor/runtime/logger.js';

export type CliLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type CliLogFormat = 'text' | 'json';

export const LOG_LEVELS: readonly CliLogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly CliLogFormat[] = ['text', 'json'];

const RANK: Readonly<Record<CliLogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

type Fields = Readonly<Record<string, unknown>>;

function formatField(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(`${value.name}: ${value.message}`);
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function textLogger(writeLine: (line: string) => void): RuntimeLogger {
  const emit = (level: string) => (message: string, fields?: Fields) => {
    const time = new Date().toISOString().slice(11, 23);
    const extra = fields === undefined ? '' : Object.entries(fields).map(([k, v]) => ` ${k}=${formatField(v)}`).join('');
    writeLine(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extra}`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger dropping lines below `level`. */
export function createCliLogger(options: { level: CliLogLevel; format: CliLogFormat; writeLine: (line: string) => void; base?: Fields }): RuntimeLogger {
  const inner =
    options.format === 'json'
      ? jsonLineLogger((line) => options.writeLine(line.replace(/\n$/, '')), options.base)
      : textLogger(options.writeLine);
  const min = RANK[options.level];
  const pass = (level: CliLogLevel, fn: ((message: string, fields?: Fields) => void) | undefined) =>
    RANK[level] >= min && fn !== undefined ? fn : () => {};
  return {
    debug: pass('debug', inner.debug),
    info: pass('info', inner.info),
    warn: pass('warn', inner.warn),
    error: pass('error', inner.error),
  };
}
