/**
 * The typed listener API of `TributaryApp`: `app.on('state', listener)` returns an unsubscribe function. Listeners
 * run synchronously; one that throws is logged and does not stop the others or the runtime.
 */
import type { TributaryError } from '../../errors.js';
import type { AppState, RestorationPhase } from '../../http-query/query-source.js';
import type { Logger } from '../../common/logger.js';

export interface StateChangeEvent {
  readonly from: AppState;
  readonly to: AppState;
}

/** Progress of one store partition being restored (global stores: partition 'global'). */
export interface RestorationEvent {
  readonly store: string;
  readonly partition: number | 'global';
  /** Topic partitions the entry covers: 1 for a co-partitioned store partition, the topic's count for a global store. */
  readonly partitions: number;
  /** Records restored into the store so far (records the task processes while catching up are not counted). */
  readonly restoredRecords: number;
  /**
   * Offset the store holds everything below (summed over partitions for a global store) and the end offset it must
   * reach (taken at bootstrap or assignment).
   */
  readonly restoredOffset: number;
  readonly endOffset: number;
  /** Caught up: the partition is served and counts as ready. */
  readonly done: boolean;
  /** restoring → catching-up (co-partitioned tables restored to the committed offset) → caught-up. */
  readonly phase: RestorationPhase;
}

export interface AssignmentEvent {
  /** Local counter of assignments received (see GroupAssignment.epoch). */
  readonly epoch: number;
  /** Tasks this instance now runs, e.g. `0_3`. */
  readonly tasks: readonly string[];
  /** Tasks this instance did not have before this assignment. */
  readonly added: readonly string[];
  /** Tasks it had before and lost. */
  readonly removed: readonly string[];
  readonly members: number;
}

export interface TributaryAppEvents {
  state: StateChangeEvent;
  restoration: RestorationEvent;
  assignment: AssignmentEvent;
  /** Errors the app could not handle itself; when the app then fails, a `state` event to 'failed' follows. */
  error: TributaryError;
}

export type TributaryAppEventName = keyof TributaryAppEvents;
export type TributaryAppListener<E extends TributaryAppEventName> = (event: TributaryAppEvents[E]) => void;

export class TypedEvents {
  private readonly listeners: { [E in TributaryAppEventName]: Set<TributaryAppListener<E>> } = {
    state: new Set(),
    restoration: new Set(),
    assignment: new Set(),
    error: new Set(),
  };

  constructor(private readonly logger: Logger) {}

  on<E extends TributaryAppEventName>(event: E, listener: TributaryAppListener<E>): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<E extends TributaryAppEventName>(event: E, listener: TributaryAppListener<E>): void {
    this.listeners[event].delete(listener);
  }

  emit<E extends TributaryAppEventName>(event: E, payload: TributaryAppEvents[E]): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        listener(payload);
      } catch (error) {
        this.logger.error(`a '${event}' listener threw`, { error });
      }
    }
  }
}
