/**
 * Snapshot files: every store of an application (all partitions, with checkpoints) in one file, streamed.
 *
 * Format (all integers big-endian):
 *   header  : "TRIBSNAP" (8 bytes) | version u32 (= 2; 1 is read too: it differs only in holding no JSON-text values)
 *   frame*  : type u8 | payload length u32 | payload | crc32(type byte + payload) u32
 * Frame types:
 *   STORE_BEGIN (1): JSON { name, partition, checkpoints: { "<topic>:<partition>": nextOffset } }
 *   ENTRIES     (2): repeated [ key length u32 | key | value length u32 | stored value bytes (value-codec.ts) ]
 *   STORE_END   (3): JSON { entries }               (entry count, checked on import)
 *   END         (4): JSON { stores }                (store count; a file without it is truncated)
 * Values are copied as stored (no decode/encode). Checkpoints are written in the same batch as the last entries of
 * a store, so an imported store carries checkpoints only once all its data is in.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { SnapshotFormatError, SnapshotTargetNotEmptyError } from '../errors.js';
import type { TopicPartitionId } from '../common/records.js';
import type { Logger } from '../common/logger.js';
import { StateDirectory } from './state-directory.js';

const MAGIC = Buffer.from('TRIBSNAP', 'latin1');
/** 2: values may be JSON text (value-codec.ts), which version-1 readers would misread, so they refuse the file. */
const FORMAT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];
const FRAME_STORE_BEGIN = 1;
const FRAME_ENTRIES = 2;
const FRAME_STORE_END = 3;
const FRAME_END = 4;
/** Entries per ENTRIES frame (and per LevelDB batch on import). */
const ENTRIES_PER_FRAME = 2000;
/** Refuse absurd frame lengths before allocating (a corrupt length field). */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

interface StoreHeader {
  readonly name: string;
  readonly partition: number | 'global';
  readonly checkpoints: Readonly<Record<string, number>>;
}

export interface SnapshotSummary {
  readonly stores: number;
  readonly entries: number;
}

function frame(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 + payload.length + 4);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  // CRC over the type byte, then the payload (a damaged length field shows up as a mismatch or a truncation).
  out.writeUInt32BE(crc32(payload, crc32(out.subarray(0, 1))), 5 + payload.length);
  return out;
}

function entriesPayload(entries: readonly (readonly [Buffer, Buffer])[]): Buffer {
  let size = 0;
  for (const [key, value] of entries) size += 8 + key.length + value.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [key, value] of entries) {
    at = out.writeUInt32BE(key.length, at);
    at += key.copy(out, at);
    at = out.writeUInt32BE(value.length, at);
    at += value.copy(out, at);
  }
  return out;
}

/**
 * Writes every store of `applicationId` under `stateDir` into `file` (via `<file>.tmp` + rename, so a crash never
 * leaves a half file under the final name). Takes the state directory lock: run it while the application is stopped.
 */
export async function exportSnapshot(stateDir: string, applicationId: string, file: string, logger?: Logger): Promise<SnapshotSummary> {
  const directory = await StateDirectory.open({ stateDir, applicationId, logger });
  const tempFile = `${file}.tmp`;
  const out = createWriteStream(tempFile, { flags: 'w' });
  const write = async (chunk: Buffer): Promise<void> => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  let stores = 0;
  let entries = 0;
  try {
    const header = Buffer.alloc(12);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(FORMAT_VERSION, 8);
    await write(header);
    for (const { name, partition } of await directory.listStores()) {
      const store = await directory.openStore(name, partition);
      const storeHeader: StoreHeader = { name, partition, checkpoints: Object.fromEntries(store.checkpoints()) };
      await write(frame(FRAME_STORE_BEGIN, Buffer.from(JSON.stringify(storeHeader), 'utf8')));
      let storeEntries = 0;
      for await (const chunk of store.scanEncoded(ENTRIES_PER_FRAME)) {
        await write(frame(FRAME_ENTRIES, entriesPayload(chunk)));
        storeEntries += chunk.length;
      }
      await write(frame(FRAME_STORE_END, Buffer.from(JSON.stringify({ entries: storeEntries }), 'utf8')));
      await store.close();
      stores++;
      entries += storeEntries;
    }
    await write(frame(FRAME_END, Buffer.from(JSON.stringify({ stores }), 'utf8')));
    out.end();
    await once(out, 'finish');
    await rename(tempFile, file);
    return { stores, entries };
  } catch (error) {
    out.destroy();
    await rm(tempFile, { force: true });
    throw error;
  } finally {
    await directory.close();
  }
}

/** Reads exact byte counts from a file handle, through a read-ahead buffer. */
class FrameReader {
  readonly #handle: FileHandle;
  readonly #file: string;
  #buffer = Buffer.alloc(0);
  #position = 0;

  constructor(handle: FileHandle, file: string) {
    this.#handle = handle;
    this.#file = file;
  }

  async readExact(length: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < length) {
      const chunk = Buffer.allocUnsafe(Math.max(1024 * 1024, length - this.#buffer.length));
      const { bytesRead } = await this.#handle.read(chunk, 0, chunk.length, this.#position);
      if (bytesRead === 0) {
        if (this.#buffer.length === 0) return undefined;
        throw new SnapshotFormatError(this.#file, 'the file is truncated');
      }
      this.#position += bytesRead;
      this.#buffer = this.#buffer.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([this.#buffer, chunk.subarray(0, bytesRead)]);
    }
    const out = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return out;
  }

  async readFrame(): Promise<{ type: number; payload: Buffer }> {
    const head = await this.readExact(5);
    if (head === undefined) throw new SnapshotFormatError(this.#file, 'the file is truncated (no end frame)');
    const type = head[0]!;
    const length = head.readUInt32BE(1);
    if (length > MAX_FRAME_BYTES) throw new SnapshotFormatError(this.#file, `frame length ${length} is implausible`);
    const body = await this.readExact(length + 4);
    if (body === undefined) throw new SnapshotFormatError(this.#file, 'the file is truncated');
    const payload = body.subarray(0, length);
    if (crc32(payload, crc32(head.subarray(0, 1))) !== body.readUInt32BE(length)) {
      throw new SnapshotFormatError(this.#file, 'checksum mismatch (the file is corrupt)');
    }
    return { type, payload };
  }
}

function parseEntries(payload: Buffer, file: string): Array<[Buffer, Buffer]> {
  const entries: Array<[Buffer, Buffer]> = [];
  let at = 0;
  while (at < payload.length) {
    if (at + 4 > payload.length) throw new SnapshotFormatError(file, 'malformed entries frame');
    const keyLength = payload.readUInt32BE(at);
    const key = payload.subarray(at + 4, at + 4 + keyLength);
    at += 4 + keyLength;
    if (at + 4 > payload.length) throw new SnapshotFormatError(file, 'malformed entries frame');
    const valueLength = payload.readUInt32BE(at);
    const value = payload.subarray(at + 4, at + 4 + valueLength);
    at += 4 + valueLength;
    if (key.length !== keyLength || value.length !== valueLength) throw new SnapshotFormatError(file, 'malformed entries frame');
    entries.push([key, value]);
  }
  return entries;
}

function parseJson<T>(payload: Buffer, file: string): T {
  try {
    return JSON.parse(payload.toString('utf8')) as T;
  } catch (error) {
    throw new SnapshotFormatError(file, `unreadable frame (${String(error)})`);
  }
}

/**
 * Loads a snapshot into a state directory that has no stores yet for `applicationId`.
 * @throws SnapshotTargetNotEmptyError when any store already exists there (nothing is changed).
 * @throws SnapshotFormatError for a truncated/corrupt/unknown file; stores imported so far are removed again.
 */
export async function importSnapshot(file: string, stateDir: string, applicationId: string, logger?: Logger): Promise<SnapshotSummary> {
  const directory = await StateDirectory.open({ stateDir, applicationId, logger });
  const imported: Array<{ name: string; partition: number | 'global' }> = [];
  const handle = await open(file, 'r').catch(async (error: unknown) => {
    await directory.close();
    throw error;
  });
  try {
    if ((await directory.listStores()).length > 0) throw new SnapshotTargetNotEmptyError(directory.appDir);
    const reader = new FrameReader(handle, file);
    const header = await reader.readExact(12);
    if (header === undefined || !header.subarray(0, 8).equals(MAGIC)) {
      throw new SnapshotFormatError(file, 'not a Tributary snapshot (bad magic)');
    }
    const version = header.readUInt32BE(8);
    if (!READABLE_VERSIONS.includes(version)) throw new SnapshotFormatError(file, `unsupported format version ${version}`);

    let entries = 0;
    for (;;) {
      const first = await reader.readFrame();
      if (first.type === FRAME_END) {
        const trailer = parseJson<{ stores: number }>(first.payload, file);
        if (trailer.stores !== imported.length) {
          throw new SnapshotFormatError(file, `end frame says ${trailer.stores} stores, found ${imported.length}`);
        }
        return { stores: imported.length, entries };
      }
      if (first.type !== FRAME_STORE_BEGIN) throw new SnapshotFormatError(file, `unexpected frame type ${first.type}`);
      const storeHeader = parseJson<StoreHeader>(first.payload, file);
      const store = await directory.openStore(storeHeader.name, storeHeader.partition);
      imported.push({ name: storeHeader.name, partition: storeHeader.partition });
      if ((await store.approximateCount()) > 0 || store.checkpoints().size > 0) {
        throw new SnapshotTargetNotEmptyError(directory.storePath(storeHeader.name, storeHeader.partition));
      }
      let storeEntries = 0;
      // One frame is held back so the last one can carry the checkpoints in the same batch.
      let held: Array<[Buffer, Buffer]> | undefined;
      for (;;) {
        const next = await reader.readFrame();
        if (next.type === FRAME_ENTRIES) {
          if (held !== undefined) await store.writeEncoded(held);
          held = parseEntries(next.payload, file);
          storeEntries += held.length;
          continue;
        }
        if (next.type !== FRAME_STORE_END) throw new SnapshotFormatError(file, `unexpected frame type ${next.type}`);
        const footer = parseJson<{ entries: number }>(next.payload, file);
        if (footer.entries !== storeEntries) {
          throw new SnapshotFormatError(file, `store ${storeHeader.name} should hold ${footer.entries} entries, found ${storeEntries}`);
        }
        const checkpoints = new Map(Object.entries(storeHeader.checkpoints) as Array<[TopicPartitionId, number]>);
        await store.writeEncoded(held ?? [], checkpoints);
        break;
      }
      await store.close();
      entries += storeEntries;
    }
  } catch (error) {
    // The target had no stores when we started, so everything in `imported` is ours to remove.
    for (const { name, partition } of imported) await directory.deleteStore(name, partition);
    throw error;
  } finally {
    await handle.close();
    await directory.close();
  }
}
