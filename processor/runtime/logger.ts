/**
 * The runtime's logging surface: the state-store `Logger` (info/warn/error with structured fields) plus an optional
 * `debug`. Console, pino and most loggers fit it. Adapters feed kafkajs's log lines into it.
 */
import type { Logger } from '../../state-store/logger.js';
import type { KafkaLogFields, KafkaLogger } from '../kafka/client.js';

export interface RuntimeLogger extends Logger {
  debug?(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export const silentRuntimeLogger: RuntimeLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/**
 * kafkajs log lines → the runtime logger. kafkajs info lines go to debug, and its error lines to warn: it logs every
 * expected rebalance response ("The group is rebalancing") as an error, while failures that matter reach the app
 * as typed errors ('error' events, a failed state) and are logged as errors there.
 */
export function kafkaLoggerFor(logger: RuntimeLogger): KafkaLogger {
  return {
    debug: (message: string, fields: KafkaLogFields) => logger.debug?.(message, fields),
    info: (message: string, fields: KafkaLogFields) => logger.debug?.(message, fields),
    warn: (message: string, fields: KafkaLogFields) => logger.warn(message, fields),
    error: (message: string, fields: KafkaLogFields) => logger.warn(message, fields),
  };
}

/** A logger writing one JSON object per line to a stream (for the fixtures and the CLI). */
export function jsonLineLogger(write: (line: string) => void, base: Readonly<Record<string, unknown>> = {}): RuntimeLogger {
  const emit = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }, jsonReplacer)}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
