/**
 * kafkajs's sockets, reading each response straight into one buffer of its size. kafkajs keeps every chunk a socket
 * reads (Node allocates a new 64 KiB buffer per read) and joins them with `Buffer.concat` once the response is
 * whole: a 1 MiB fetch response is written into fresh memory twice, and both copies are external memory V8 collects
 * only in a full GC when little else is allocated (a bootstrap reading records in place). Here the socket reads
 * into a buffer of the response's size once its 4-byte size is known (Node's `onread` with a buffer per read), and
 * kafkajs gets each response whole, as one 'data' chunk: it then takes the response as it is, without a copy.
 *
 * Only for plaintext connections without SASL (TLS sockets and SASL's raw handshake keep kafkajs's own socket).
 * kafkajs keeps the (empty) rest after each response as a chunk, which would make it join the next response with it
 * (`Buffer.concat`, a copy of the whole response): its `processData` is patched to drop an empty rest first (behaviour
 * unchanged for any socket). Imported (for that patch) through kafkajs-patches.ts.
 *
 * A frame's memory is otherwise freed only when V8 collects every view of it, which for a 1 MiB response whose
 * records lived through two scavenges is a full GC: a bootstrap's dead responses piled up in glibc's heap until
 * then. `releaseFrame` takes a frame's memory back at once, for a reader that knows nothing reads it any more
 * (partition-reader.ts), and the next frames of its size reuse it.
 */
import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';
import { loadKafkajsModule } from './kafkajs-module.js';

/** kafkajs's keep-alive delay (network/socketFactory.js). */
const KEEP_ALIVE_DELAY_MS = 60_000;
/** Where reads go while no response is being filled (sizes, small responses, the start of big ones). */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Cuts a byte stream of size-prefixed frames (int32 big-endian size, then that many bytes) into whole frames, each
 * in a buffer of its own (size prefix included). `buffer()` says where the next read should go: the rest of the
 * frame being filled, or a scratch buffer when no frame is under way.
 */
export class ResponseFramer {
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  readonly #size = Buffer.alloc(4);
  #sizeFilled = 0;
  /** The frame being filled and how much of it is. */
  #frame: Buffer | undefined;
  #filled = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  /** Where the next read goes: the rest of the frame under way (never past its end), else the scratch buffer. */
  buffer(): Buffer {
    return this.#frame === undefined ? this.#scratch : this.#frame.subarray(this.#filled);
  }

  /** `nread` bytes were read into `into` (what `buffer()` returned). */
  read(nread: number, into: Buffer): void {
    if (into !== this.#scratch && this.#frame !== undefined) {
      this.#filled += nread;
      this.#emitIfWhole();
    } else this.push(into, 0, nread);
  }

  /** Bytes `bytes[start, end)` of the stream, wherever they are (copied where a frame needs them). */
  push(bytes: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      if (this.#frame === undefined) {
        while (this.#sizeFilled < 4 && pos < end) this.#size[this.#sizeFilled++] = bytes[pos++] as number;
        if (this.#sizeFilled < 4) return;
        this.#sizeFilled = 0;
        // A negative size is no Kafka frame: handed on as its 4 bytes, for kafkajs to fail on as it would.
        const frame = allocateFrame(4 + Math.max(0, this.#size.readInt32BE(0)));
        this.#size.copy(frame, 0);
        this.#frame = frame;
        this.#filled = 4;
        if (this.#emitIfWhole()) continue;
      }
      const frame = this.#frame as Buffer;
      const n = Math.min(end - pos, frame.length - this.#filled);
      bytes.copy(frame, this.#filled, pos, pos + n);
      this.#filled += n;
      pos += n;
      this.#emitIfWhole();
    }
  }

  #emitIfWhole(): boolean {
    const frame = this.#frame;
    if (frame === undefined || this.#filled < frame.length) return false;
    this.#frame = undefined;
    this.#filled = 0;
    this.onFrame(frame);
    return true;
  }
}

/** Frames at least this big get memory of their own, in whole granules, which `releaseFrame` takes back. */
const OWN_FRAME_BYTES = SCRATCH_BYTES;
const FRAME_GRANULE = 64 * 1024;
/** Released frames' memory kept for the next frames of the same size in granules (one reader's fetches are alike). */
const SPARE_FRAMES = 4;

/** The memory of the frames `ResponseFramer` allocated on their own, until `releaseFrame` takes it back. */
const ownFrames = new WeakSet<ArrayBufferLike>();
const spareFrames: ArrayBuffer[] = [];

interface Transferable {
  transfer(newByteLength?: number): ArrayBuffer;
}

/** A frame of `length` bytes: spare memory of its size in granules, else new memory (Node's pool for small frames). */
function allocateFrame(length: number): Buffer {
  if (length < OWN_FRAME_BYTES) return Buffer.allocUnsafe(length);
  const capacity = Math.ceil(length / FRAME_GRANULE) * FRAME_GRANULE;
  const spare = spareFrames.findIndex((memory) => memory.byteLength === capacity);
  const memory = spare >= 0 ? (spareFrames.splice(spare, 1)[0] as ArrayBuffer) : Buffer.allocUnsafeSlow(capacity).buffer;
  ownFrames.add(memory);
  return Buffer.from(memory, 0, length);
}

/**
 * Takes back the memory of the frame `bytes` is a view of, if `ResponseFramer` allocated it on its own (else nothing
 * happens: false), for the next frames. The memory moves to a new ArrayBuffer (`ArrayBuffer.prototype.transfer`, no
 * copy): every view of the old one (the frame, kafkajs's slices, records' keys and values) is empty from then on, so
 * a view read by mistake throws or reads `undefined`, never a later response's bytes. Only for a caller that knows
 * nothing reads the frame any more.
 */
export function releaseFrame(bytes: Uint8Array): boolean {
  const memory = bytes.buffer;
  if (!ownFrames.delete(memory)) return false;
  const transfer = (memory as ArrayBufferLike & Partial<Transferable>).transfer;
  if (typeof transfer !== 'function') return false; // Node 22 has it; kept for other runtimes
  if (spareFrames.length >= SPARE_FRAMES) {
    transfer.call(memory, 0); // frees it now
    return true;
  }
  spareFrames.push(transfer.call(memory));
  return true;
}

/**
 * kafkajs's socket factory (the same connect and keep-alive) with sockets that emit whole responses. Only its
 * `data` events differ, and only in how the bytes are cut.
 */
export function framedSocketFactory(): ISocketFactory {
  return ({ host, port, onConnect }) => {
    // Frames come only from reads, so after `socket` is set.
    const framer = new ResponseFramer((frame) => socket.emit('data', frame));
    const socket = net.connect(
      {
        host,
        port,
        onread: {
          buffer: () => framer.buffer(),
          callback: (nread, buffer) => {
            try {
              framer.read(nread, buffer as Buffer);
            } catch (error) {
              // E.g. a size past Buffer's limit: the connection fails (kafkajs rejects its requests), not the process.
              socket.destroy(error instanceof Error ? error : new Error(String(error)));
              return false;
            }
            return true; // keep reading
          },
        },
      },
      onConnect,
    );
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}

interface ConnectionLike {
  chunks: Buffer[];
  processData(rawData: Buffer): unknown;
}

function install(): boolean {
  let Connection: { prototype: ConnectionLike };
  try {
    Connection = loadKafkajsModule('kafkajs/src/network/connection.js');
  } catch {
    return false;
  }
  const processData = Connection.prototype.processData;
  Connection.prototype.processData = function (this: ConnectionLike, rawData: Buffer): unknown {
    // An empty rest from the previous response is no data: without it a whole response is one chunk, taken as is.
    if (this.chunks.length === 1 && (this.chunks[0] as Buffer).length === 0) this.chunks = [];
    return processData.call(this, rawData);
  };
  return true;
}

/** True when kafkajs's connections drop an empty rest before taking the next chunk. */
export const installed: boolean = install();
