/**
 * Node flags every Tributary bench worker runs with: the ones the README recommends for production (section
 * "Memory"), so the bench measures what users run. Keep both in step.
 */
export const WORKER_NODE_FLAGS: readonly string[] = [];
