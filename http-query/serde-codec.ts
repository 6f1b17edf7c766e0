/** Builds a `StoreCodec` from the topology's key and value serdes (what the runtime hands to the query server). */
import { isJsonSerde, isStringSerde, type Serde } from '../topology/serdes.js';
import type { JsonValue, StoreCodec } from './query-source.js';
import { toBuffer } from './keys.js';

export function storeCodecFromSerdes<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): StoreCodec {
  return {
    keyFromString: (text) => keySerde.serialize(keySerde.fromString(text)),
    // Serde.toJSON's contract is a JSON-compatible rendering.
    keyToJson: (key) => keySerde.toJSON(keySerde.deserialize(toBuffer(key))) as JsonValue,
    valueToJson: (value) => valueSerde.toJSON(value as V) as JsonValue,
    // Serdes.json()'s toJSON leaves a parsed JSON value as it is (serdes.ts jsonCompatible).
    valueJsonTextAsIs: isJsonSerde(valueSerde as Serde<unknown>),
    // Serdes.string(): fromString is the identity, serialize/deserialize UTF-8, toJSON the identity.
    keyJsonIsText: isStringSerde(keySerde as Serde<unknown>),
  };
}
