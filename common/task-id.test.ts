import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTaskId, parseTaskId, taskId } from './task-id.js';

describe('task ids', () => {
  it('parse(build(s, p)) round-trips and is recognised', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(100_000), (subtopology, partition) => {
        const id = taskId(subtopology, partition);
        expect(isTaskId(id)).toBe(true);
        expect(parseTaskId(id)).toEqual({ subtopology, partition });
      }),
    );
  });

  it('rejects what is not a task id', () => {
    for (const bad of ['', '1', '1_', '_1', '-1_2', '1_2_3', 'a_b', 12, null]) expect(isTaskId(bad)).toBe(false);
  });
});
