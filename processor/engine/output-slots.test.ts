import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProducedRecord } from '../../common/records.js';
import { OutputSlot, TaskOutputs } from './output-slots.js';

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

  it('flattens like nested lists of records and slots, whatever the pushes, reservations and re-entries', () => {
    type Op = { kind: 'push' } | { kind: 'reserve' } | { kind: 'enter'; which: number } | { kind: 'root' };
    const op = fc.oneof(
      fc.constant<Op>({ kind: 'push' }),
      fc.constant<Op>({ kind: 'reserve' }),
      fc.nat().map((which): Op => ({ kind: 'enter', which })),
      fc.constant<Op>({ kind: 'root' }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const outputs = new TaskOutputs();
        outputs.begin();
        // The model: every slot as a list of record names and slots.
        type Model = (string | Model)[];
        const root: Model = [];
        const slots: { slot: OutputSlot; model: Model }[] = [];
        let current = root;
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const name = `r${n++}`;
            outputs.push(out(name));
            current.push(name);
          } else if (o.kind === 'reserve') {
            const model: Model = [];
            slots.push({ slot: outputs.reserve(), model });
            current.push(model);
          } else if (o.kind === 'enter' && slots.length > 0) {
            const target = slots[o.which % slots.length];
            outputs.enter(target.slot);
            current = target.model;
          } else if (o.kind === 'root') {
            outputs.backToRoot();
            current = root;
          }
        }
        const flat = (model: Model): string[] => model.flatMap((item) => (typeof item === 'string' ? [item] : flat(item)));
        expect(topics(outputs.flatten())).toEqual(flat(root));
      }),
    );
  });
});
