/**
 * `process()` nodes: the context a processor function is called with (forward, its declared stores, where the
 * record came from) and the barrier for async processors.
 *
 * A processor may return a promise and forward after an `await`. Its outputs go to a slot reserved where it was
 * called, so they keep input order; and the task takes no further input record until every pending call settled
 * (`hasPending` / `settle`), so a processor always sees the stores as its input order left them.
 */
import type { TaskId } from '../../common/task-id.js';
import { TaskStateError } from '../../errors.js';
import type { StoreSpec } from '../../topology/specs.js';
import type { ProcessNode, ProcessorContext, ProcessorStore } from '../../topology/nodes.js';
import type { Serde } from '../../topology/serdes.js';
import type { InFlight } from './in-flight.js';
import type { TaskOutputs } from './output-slots.js';
import { TaskFailure, type RecordErrorHandler } from './record-errors.js';
import { NOT_CACHED, type TaskStoreView } from './task-store.js';

/** What running a processor needs from its task. */
export interface ProcessorHost {
  readonly taskId: TaskId;
  readonly outputs: TaskOutputs;
  readonly errors: RecordErrorHandler;
  /** Sends a record to the children of node `fromId`. */
  forward(fromId: number, record: InFlight): void;
}

/** The calls of a task's `process()` nodes, and the async ones still pending. */
export class ProcessorCalls {
  private readonly host: ProcessorHost;
  private readonly stores: ProcessorStores;
  private pending: Promise<void>[] = [];
  /** The first failure an async call raised (a 'fail' policy); `settle` throws it. */
  private failure: TaskFailure | undefined;

  constructor(host: ProcessorHost, stores: ProcessorStores) {
    this.host = host;
    this.stores = stores;
  }

  /** Whether an async call may still forward: the task must `settle` before taking its next input record. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Waits for the calls pending so far (which may start more); throws the failure one of them raised. */
  async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    if (this.failure) throw this.failure;
  }

  /** Calls `node`'s function with `record`. */
  run(node: ProcessNode, record: InFlight): void {
    const { outputs, errors, taskId } = this.host;
    const slot = outputs.reserve();
    let settled = false;
    const source = record.origin.record;
    const context: ProcessorContext<unknown, unknown> = {
      forward: (key, value, options) => {
        if (settled) throw new TaskStateError(taskId, `${node.name} called forward() after its function returned.`);
        const previous = outputs.enter(slot);
        try {
          this.host.forward(node.id, {
            key,
            value,
            timestamp: options?.timestamp ?? record.timestamp,
            headers: options?.headers ?? record.headers,
            origin: record.origin,
          });
        } catch (error) {
          if (error instanceof TaskFailure) this.failure ??= error;
          throw error;
        } finally {
          outputs.restore(previous);
        }
      },
      store: <K, V>(name: string): ProcessorStore<K, V> => this.stores.storeFor<K, V>(node, name),
      timestamp: record.timestamp,
      headers: record.headers,
      topic: source.topic,
      partition: source.partition,
      offset: source.offset,
    };
    let result: void | Promise<void>;
    try {
      result = node.fn(record.key, record.value, context);
    } catch (error) {
      settled = true;
      if (error instanceof TaskFailure) throw error;
      const previous = outputs.enter(slot);
      errors.processingFailed(node, record, error);
      outputs.restore(previous);
      return;
    }
    if (!(result instanceof Promise)) {
      settled = true;
      return;
    }
    this.pending.push(
      result.then(
        () => {
          settled = true;
        },
        (error: unknown) => {
          settled = true;
          if (this.failure) return;
          const previous = outputs.enter(slot);
          try {
            errors.processingFailed(node, record, error);
          } catch (failure) {
            this.failure = failure instanceof TaskFailure ? failure : new TaskFailure(failure);
          } finally {
            outputs.restore(previous);
          }
        },
      ),
    );
  }
}

/** Store access for processors: the task's state stores, through their views (reads see pending writes). */
export class ProcessorStores {
  private readonly taskId: TaskId;
  private readonly views: ReadonlyMap<string, TaskStoreView>;
  private readonly keySerdes = new Map<string, Serde<unknown>>();

  constructor(taskId: TaskId, views: ReadonlyMap<string, TaskStoreView>, stores: readonly StoreSpec[]) {
    this.taskId = taskId;
    this.views = views;
    for (const spec of stores) if (spec.kind === 'state') this.keySerdes.set(spec.name, spec.keySerde);
  }

  /** Store `name` for `node`, which must have declared it. */
  storeFor<K, V>(node: ProcessNode, name: string): ProcessorStore<K, V> {
    const view = this.views.get(name);
    const keySerde = this.keySerdes.get(name);
    if (!node.stores.includes(name) || !view || !keySerde) {
      throw new TaskStateError(
        this.taskId,
        `${node.name} used store '${name}' without declaring it: process(fn, { stores: ['${name}'] }).`,
      );
    }
    return {
      get: async (key: K): Promise<V | undefined> => {
        const bytes = keySerde.serialize(key);
        const hex = bytes.toString('hex');
        const known = view.peek(hex);
        if (known !== NOT_CACHED) return known as V | undefined;
        const value = await view.store.get(bytes);
        // A put made while the read was in flight wins over what the read saw.
        const after = view.peek(hex);
        if (after !== NOT_CACHED) return after as V | undefined;
        view.remember(hex, value);
        return value as V | undefined;
      },
      put: (key: K, value: V): void => {
        const bytes = keySerde.serialize(key);
        view.write(bytes.toString('hex'), { type: 'put', key: bytes, value });
      },
      delete: (key: K): void => {
        const bytes = keySerde.serialize(key);
        view.write(bytes.toString('hex'), { type: 'delete', key: bytes });
      },
    };
  }
}
