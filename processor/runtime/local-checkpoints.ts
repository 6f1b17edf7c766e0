/**
 * The checkpoints of task state kept on local disk while the task is neither active nor standby here (after a
 * restart, or after the task moved away): per task, the sum of its followed partitions' checkpoint offsets (Kafka
 * Streams' task offset sums). Sent in every JoinGroup so the leader's warm-up rule (warmup-assignor.ts) knows how far
 * behind that state is (`end − sum`) without this member opening a store at join time.
 *
 * Read once from disk at start (stores are closed then), and noted from the open stores whenever a task or a standby
 * closes them. In memory: one number per task.
 */
import { parseTaskId, type TaskId } from '../../common/task-id.js';
import { topicPartitionId } from '../../common/records.js';
import type { StateDirectory } from '../../state-store/state-directory.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { Topology } from '../../topology/topology.js';
import { followedStores } from './standby-tasks.js';

export class LocalCheckpoints {
  private readonly sums = new Map<TaskId, number>();

  constructor(private readonly topology: Topology) {}

  /** Reads the checkpoints of `tasks` from their stores on disk (opened and closed again); call before any opens them. */
  async readFromDisk(stateDirectory: StateDirectory, tasks: readonly TaskId[]): Promise<void> {
    const existing = new Set((await stateDirectory.listStores()).map(({ name, partition }) => `${name}/${partition}`));
    for (const id of tasks) {
      const { subtopology, partition } = parseTaskId(id);
      const stores = new Map<string, KeyValueStore<unknown>>();
      for (const { store } of followedStores(this.topology, subtopology)) {
        if (existing.has(`${store}/${partition}`)) stores.set(store, await stateDirectory.openStore<unknown>(store, partition));
      }
      this.note(id, stores);
      await Promise.all([...stores.values()].map((store) => store.close()));
    }
  }

  /** The stores of task `id` are about to close: remember their checkpoint sum (nothing when none is followed). */
  note(id: TaskId, stores: ReadonlyMap<string, KeyValueStore<unknown>>): void {
    const { subtopology, partition } = parseTaskId(id);
    let sum = 0;
    let found = false;
    for (const { store, topic } of followedStores(this.topology, subtopology)) {
      const checkpoint = stores.get(store)?.checkpoints().get(topicPartitionId(topic, partition));
      if (checkpoint === undefined) continue;
      sum += checkpoint;
      found = true;
    }
    if (found) this.sums.set(id, sum);
    else this.sums.delete(id);
  }

  /** The checkpoint sums of tasks with state on disk, except `held` (active or standby here: they report a lag). */
  offsetSums(held: ReadonlySet<TaskId>): Map<TaskId, number> {
    return new Map([...this.sums].filter(([id]) => !held.has(id)));
  }
}
