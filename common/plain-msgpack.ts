/**
 * msgpack maps decoded as plain objects without losing a `__proto__` key.
 *
 * msgpackr, decoding a map as an object, renames a `__proto__` key to `__proto_` (assigning it would set the
 * object's prototype instead). Data is data: a value `{"__proto__": ...}` (valid JSON, e.g. from `JSON.parse`) must
 * come back as it went in. So a buffer that holds the bytes `__proto__` anywhere (rare: a key or a string value) is
 * decoded again with maps as `Map`s and turned into objects whose keys are defined as own properties; every other
 * buffer takes msgpackr's fast path. The search is one `indexOf` over the buffer.
 */
import { Packr, type Options } from 'msgpackr';

const PROTO_KEY = Buffer.from('__proto__', 'latin1');

/** Decodes msgpack like `new Packr({ ...options, mapsAsObjects: true }).unpack`, but keeps `__proto__` keys. */
export class PlainMsgpack {
  private readonly objects: Packr;
  private readonly maps: Packr;

  constructor(options: Omit<Options, 'mapsAsObjects'>) {
    this.objects = new Packr({ ...options, mapsAsObjects: true });
    this.maps = new Packr({ ...options, mapsAsObjects: false });
  }

  pack(value: unknown): Buffer {
    return this.objects.pack(value);
  }

  unpack(bytes: Uint8Array): unknown {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buffer.indexOf(PROTO_KEY) === -1) return this.objects.unpack(buffer);
    return mapsToObjects(this.maps.unpack(buffer));
  }
}

/** Every `Map` in a decoded value as a plain object, keys as msgpackr makes them (`String(key)`), all own properties. */
function mapsToObjects(value: unknown): unknown {
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, entry] of value) {
      Object.defineProperty(object, String(key), {
        value: mapsToObjects(entry),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = mapsToObjects(value[i]);
  }
  return value;
}
