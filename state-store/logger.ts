/** The logging surface the state-store layer needs: the runtime passes its own logger (pino, console, ...). */
export interface Logger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Discards everything; the default when no logger is given. */
export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
