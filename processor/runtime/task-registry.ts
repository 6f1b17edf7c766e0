/**
 * The tasks this instance runs now, and the read path over them. TaskManager (the write path) adds and removes
 * tasks and moves the assignment/rebalance state; queries (RuntimeQuerySource) and stats read `TaskRegistryView`
 * only: in-memory answers, no I/O except `approximateCount`, and nothing that changes a task.
 *
 * Each input topic-partition feeds the tasks listed for it (exactly one today: the compiler puts every source of
 * a topic into one sub-topology).
 */
import type { TopicPartitionId } from '../../common/records.js';
import type { TaskId } from '../../common/task-id.js';
import type { ReadOnlyKeyValueStore } from '../../state-store/types.js';
import type { GroupAssignment } from '../kafka/group-member.js';
import type { ActiveTask } from './active-task.js';
import type { TaskOwnershipView } from './runtime-query-source.js';

export interface TaskView {
  readonly id: string;
  readonly restoring: boolean;
  readonly inputPartitions: readonly string[];
}

/** What queries and stats see of the tasks. */
export interface TaskRegistryView extends TaskOwnershipView {
  taskViews(): TaskView[];
}

export class TaskRegistry implements TaskRegistryView {
  private readonly tasks = new Map<TaskId, ActiveTask>();
  private readonly byInput = new Map<TopicPartitionId, ActiveTask[]>();
  private assignment: GroupAssignment | undefined;
  private rebalancing = true;

  // Write side (TaskManager) ---------------------------------------------------------------------------------------

  add(active: ActiveTask): void {
    this.tasks.set(active.id, active);
    for (const input of active.task.inputPartitions) {
      const readers = this.byInput.get(input) ?? [];
      readers.push(active);
      this.byInput.set(input, readers);
    }
  }

  remove(id: TaskId): ActiveTask | undefined {
    const active = this.tasks.get(id);
    if (active === undefined) return undefined;
    this.tasks.delete(id);
    for (const input of active.task.inputPartitions) {
      const readers = (this.byInput.get(input) ?? []).filter((reader) => reader !== active);
      if (readers.length > 0) this.byInput.set(input, readers);
      else this.byInput.delete(input);
    }
    return active;
  }

  /** The open task `id`, if any. */
  get(id: TaskId): ActiveTask | undefined {
    return this.tasks.get(id);
  }

  /** True while `active` is one of the open tasks (not closed by a later assignment). */
  has(active: ActiveTask): boolean {
    return this.tasks.get(active.id) === active;
  }

  /** The tasks reading `tp`. */
  readersOf(tp: TopicPartitionId): readonly ActiveTask[] {
    return this.byInput.get(tp) ?? [];
  }

  all(): IterableIterator<ActiveTask> {
    return this.tasks.values();
  }

  /** Queries answer 503 from here until `assigned()`. */
  rebalanceStarted(): void {
    this.rebalancing = true;
  }

  /** The assignment being set up: its map is what `/metadata` shows from now on. */
  assignmentReceived(assignment: GroupAssignment): void {
    this.assignment = assignment;
  }

  /** The assignment's tasks are open: local queries may be answered again. */
  assigned(): void {
    this.rebalancing = false;
  }

  // Read side ------------------------------------------------------------------------------------------------------

  get isRebalancing(): boolean {
    return this.rebalancing;
  }

  currentAssignment(): GroupAssignment | undefined {
    return this.assignment;
  }

  taskViews(): TaskView[] {
    return [...this.tasks.values()].map((t) => ({ id: t.id, restoring: t.restoration.restoring, inputPartitions: t.task.inputPartitions }));
  }

  /** The open store of a local task that is caught up (see RestorationPlan), or why not. */
  localStore(task: TaskId, store: string): { store: ReadOnlyKeyValueStore<unknown> } | { reason: string } {
    if (this.rebalancing) return { reason: 'a rebalance is in progress' };
    const active = this.tasks.get(task);
    if (active === undefined) return { reason: `task ${task} is not assigned to this instance` };
    const kv = active.stores.get(store);
    if (kv === undefined) return { reason: `task ${task} has no store ${store}` };
    // Restoring or catching up: the store does not hold everything below the end offset at assignment yet.
    const notYet = active.restoration.unavailableReason(store);
    if (notYet !== undefined) return { reason: `task ${task}: ${notYet}` };
    return { store: kv.readOnly() };
  }

  localPartitions(store: string): number[] {
    return [...this.tasks.values()]
      .filter((t) => t.stores.has(store))
      .map((t) => t.partition)
      .sort((a, b) => a - b);
  }

  async approximateCount(store: string): Promise<number> {
    const counts = await Promise.all([...this.tasks.values()].map((t) => t.stores.get(store)?.approximateCount() ?? 0));
    return counts.reduce((a, b) => a + b, 0);
  }
}
