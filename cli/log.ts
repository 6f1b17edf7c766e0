/**
 * The CLI's logger for the runtime, built on pino: JSON lines (for files and log collectors) or short text lines
 * through pino-pretty (for people), written through the progress display so a progress bar stays intact.
 */
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { loggerFromPino, type LogFields, type Logger } from '../common/logger.js';

export type CliLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type CliLogFormat = 'text' | 'json';

export const LOG_LEVELS: readonly CliLogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly CliLogFormat[] = ['text', 'json'];

/** A pino destination that hands each finished line (without its newline) to `writeLine`, synchronously. */
function lineDestination(writeLine: (line: string) => void, format: CliLogFormat): DestinationStream {
  if (format === 'json') return { write: (chunk: string) => writeLine(chunk.replace(/\n$/, '')) };
  const prettify = prettyFactory({
    colorize: false,
    singleLine: true,
    errorLikeObjectKeys: [],
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return { write: (chunk: string) => writeLine(prettify(chunk).replace(/\n$/, '')) };
}

/** Text lines stay one line each: an error shows its class, code and message, not its stack. */
function briefError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  return `${value.name}${code === undefined ? '' : ` [${String(code)}]`}: ${value.message}`;
}

/** A logger dropping lines below `level`. `base` fields go on every line. */
export function createCliLogger(options: {
  level: CliLogLevel;
  format: CliLogFormat;
  writeLine: (line: string) => void;
  base?: LogFields;
}): Logger {
  const instance = pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers:
        options.format === 'json' ? { error: stdSerializers.err, err: stdSerializers.err } : { error: briefError, err: briefError },
    },
    lineDestination(options.writeLine, options.format),
  );
  return loggerFromPino(instance);
}
