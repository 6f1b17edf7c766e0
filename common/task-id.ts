/**
 * Task identity: one partition number of one sub-topology, written `${subtopology}_${partition}` as Kafka Streams
 * names tasks (e.g. `0_3`). The only place task ids are built, parsed and validated.
 */
export type TaskId = `${number}_${number}`;

export function taskId(subtopology: number, partition: number): TaskId {
  return `${subtopology}_${partition}`;
}

export function parseTaskId(id: TaskId): { readonly subtopology: number; readonly partition: number } {
  const separator = id.indexOf('_');
  return { subtopology: Number(id.slice(0, separator)), partition: Number(id.slice(separator + 1)) };
}

/** For data from the wire (group metadata): a non-negative `<int>_<int>`. */
export function isTaskId(value: unknown): value is TaskId {
  return typeof value === 'string' && /^\d+_\d+$/.test(value);
}
