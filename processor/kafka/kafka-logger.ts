/**
 * kafkajs log lines → a Tributary `Logger`. kafkajs info lines go to debug, and its error lines to warn: it logs every
 * expected rebalance response ("The group is rebalancing") as an error, while failures that matter reach the app
 * as typed errors ('error' events, a failed state) and are logged as errors there.
 */
import type { Logger } from '../../common/logger.js';

export function kafkaLoggerFor(logger: Logger): Logger {
  return {
    debug: (message, fields) => logger.debug(message, fields),
    info: (message, fields) => logger.debug(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    error: (message, fields) => logger.warn(message, fields),
  };
}
