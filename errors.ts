/**
 * Every error Tributary throws on purpose, in one place (as kafkajs does).
 *
 * Each class has a stable `code` (part of the public API: match on it, not on messages) and a message that says
 * what to do about it. Layers add their classes in their own section below; keep codes unique and prefixed
 * `TRIBUTARY_`.
 */
export class TributaryError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// topology/ (DSL, serdes, validation)
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// state-store/ (LevelDB stores, checkpoints, restoration, snapshots)
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// processor/ (task engine, runtime, Kafka adapter, error policies)
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// http-query/ (query server)
// ---------------------------------------------------------------------------------------------------------------
