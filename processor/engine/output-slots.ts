/**
 * The ordered outputs of one `process()` call. Records go into the current slot; a record that must wait (a parked
 * join lookup, an async processor) first reserves a nested slot in place, and whatever it emits when it resumes is
 * written there. Flattening the tree yields every output in input order, however the waits resolved.
 */
import type { ProducedRecord } from '../../common/records.js';

type SlotItem = ProducedRecord | OutputSlot;

/**
 * A reserved place in the output sequence: records, and slots reserved after them. Most slots (a parked lookup's)
 * receive one item, so the first is a field and an array is made only for a second: a slot is reserved per parked
 * record, and an empty array's first push allocates room for 16.
 */
export class OutputSlot {
  first: SlotItem | undefined = undefined;
  rest: SlotItem[] | undefined = undefined;

  add(item: SlotItem): void {
    if (this.first === undefined) this.first = item;
    else if (this.rest === undefined) this.rest = [item];
    else this.rest.push(item);
  }
}

export class TaskOutputs {
  private root = new OutputSlot();
  /** Where `push` and `reserve` write now: the root, or the slot of the record being resumed. */
  current: OutputSlot = this.root;

  /** Starts the outputs of a new `process()` call. */
  begin(): void {
    this.root = new OutputSlot();
    this.current = this.root;
  }

  push(record: ProducedRecord): void {
    this.current.add(record);
  }

  /** Reserves a slot at the current position, for outputs that come later. */
  reserve(): OutputSlot {
    const slot = new OutputSlot();
    this.current.add(slot);
    return slot;
  }

  /** Makes `slot` current and returns the slot that was, to put back with `restore`. */
  enter(slot: OutputSlot): OutputSlot {
    const previous = this.current;
    this.current = slot;
    return previous;
  }

  restore(previous: OutputSlot): void {
    this.current = previous;
  }

  backToRoot(): void {
    this.current = this.root;
  }

  /** Every output of this call, in order; the slots are let go (the outputs stay with the caller only). */
  flatten(): ProducedRecord[] {
    const outputs = flattenInto(this.root, []);
    this.begin();
    return outputs;
  }
}

function flattenInto(slot: OutputSlot, into: ProducedRecord[]): ProducedRecord[] {
  const { first, rest } = slot;
  if (first === undefined) return into;
  if (first instanceof OutputSlot) flattenInto(first, into);
  else into.push(first);
  if (rest === undefined) return into;
  for (const item of rest) {
    if (item instanceof OutputSlot) flattenInto(item, into);
    else into.push(item);
  }
  return into;
}
