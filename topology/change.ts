/**
 * What flows between table nodes: the change of one row, its new and its old value (Kafka Streams' `Change<V>`).
 * `null` means absent: a new value of null deletes the row, an old value of null means there was none. Table
 * operations need both: `table.groupBy` subtracts the old row from its old group, and a filter turns an update
 * that stops matching into a deletion.
 *
 * `changeSerde` carries changes through the repartition topic of `table.groupBy`.
 */
import { SerdeError } from '../errors.js';
import type { Serde } from './serdes.js';

export interface Change {
  readonly newValue: unknown;
  readonly oldValue: unknown;
}

const NEW_ONLY = 0;
const OLD_ONLY = 1;
const BOTH = 2;

/** `[tag][value bytes]`, or `[2][new length: uint32 BE][new bytes][old bytes]` when the change carries both. */
export function changeSerde(inner: Serde<unknown>): Serde<Change> {
  const name = `change(${inner.name})`;
  const fail = (message: string): never => {
    throw new SerdeError(name, message);
  };
  return Object.freeze({
    name,
    serialize(change: Change): Buffer {
      const hasNew = change.newValue !== null && change.newValue !== undefined;
      const hasOld = change.oldValue !== null && change.oldValue !== undefined;
      if (hasNew && hasOld) {
        const newBytes = inner.serialize(change.newValue);
        const head = Buffer.allocUnsafe(5);
        head[0] = BOTH;
        head.writeUInt32BE(newBytes.length, 1);
        return Buffer.concat([head, newBytes, inner.serialize(change.oldValue)]);
      }
      if (hasNew) return Buffer.concat([Buffer.from([NEW_ONLY]), inner.serialize(change.newValue)]);
      if (hasOld) return Buffer.concat([Buffer.from([OLD_ONLY]), inner.serialize(change.oldValue)]);
      return fail('a change needs a new or an old value');
    },
    deserialize(bytes: Buffer): Change {
      if (bytes.length < 1) return fail('empty change');
      switch (bytes[0]) {
        case NEW_ONLY:
          return { newValue: inner.deserialize(bytes.subarray(1)), oldValue: null };
        case OLD_ONLY:
          return { newValue: null, oldValue: inner.deserialize(bytes.subarray(1)) };
        case BOTH: {
          if (bytes.length < 5) return fail('truncated change');
          const length = bytes.readUInt32BE(1);
          if (bytes.length < 5 + length) return fail('truncated change');
          return { newValue: inner.deserialize(bytes.subarray(5, 5 + length)), oldValue: inner.deserialize(bytes.subarray(5 + length)) };
        }
        default:
          return fail(`unknown change tag ${bytes[0]}`);
      }
    },
    fromString: () => fail('changes are internal records; they have no string form'),
    toJSON: (change: Change) => ({ newValue: change.newValue, oldValue: change.oldValue }),
  });
}
