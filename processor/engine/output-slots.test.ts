import { describe, expect, it } from 'vitest';
import type { ProducedRecord } from '../../common/records.js';
import { TaskOutputs } from './output-slots.js';

const out = (name: string): ProducedRecord => ({ topic: name, timestamp: 0, key: null, value: null, headers: {} });
const topics = (records: readonly ProducedRecord[]): string[] => records.map((r) => r.topic);

describe('TaskOutputs', () => {
  it('a reserved slot keeps its place: what resumes later lands between the outputs around it', () => {
    const outputs = new TaskOutputs();
    outputs.begin();
    outputs.push(out('a'));
    const first = outputs.reserve();
    outputs.push(out('c'));
    const second = outputs.reserve();
    outputs.push(out('e'));

    // Resume in the opposite order; a resumed record may itself reserve a nested slot.
    outputs.enter(second);
    outputs.push(out('d'));
    outputs.enter(first);
    outputs.push(out('b1'));
    const nested = outputs.reserve();
    outputs.push(out('b3'));
    const previous = outputs.enter(nested);
    outputs.push(out('b2'));
    outputs.restore(previous);
    outputs.push(out('b4'));
    outputs.backToRoot();
    outputs.push(out('f'));

    expect(topics(outputs.flatten())).toEqual(['a', 'b1', 'b2', 'b3', 'b4', 'c', 'd', 'e', 'f']);
  });

  it('begin() starts an empty sequence', () => {
    const outputs = new TaskOutputs();
    outputs.begin();
    outputs.push(out('old'));
    outputs.begin();
    outputs.push(out('new'));
    expect(topics(outputs.flatten())).toEqual(['new']);
  });
});
