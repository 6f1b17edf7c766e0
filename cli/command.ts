/**
 * The shape every `tributary <command>` module exports. `run` gets the arguments after the command name and
 * resolves to the process exit code; it throws `TributaryError`s (usage, config) that the dispatcher prints.
 */
export interface CliCommand {
  readonly name: string;
  /** One line for `tributary --help`. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

/** Exit codes shared by the commands. */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed (Kafka unreachable, app failed, ...). */
  failed: 1,
  /** The command line or settings were wrong; nothing was done. */
  usage: 2,
  /** Stopped by SIGINT (128 + 2), as shells report it. */
  interrupted: 130,
} as const;
