import { mkdtemp, rm, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { StateDirectoryLockedError, StoreClosedError, StoreCorruptedError } from '../errors.js';
import { describeKeyValueStoreConformance } from './conformance.js';
import { LevelKeyValueStore } from './level-store.js';
import type { KeyValueStore, StoreWrite } from './types.js';
import { JsonText } from './value-codec.js';

describeKeyValueStoreConformance('LevelKeyValueStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-level-'));
  const location = join(dir, 'db');
  let current: KeyValueStore<unknown> = await LevelKeyValueStore.open({ location, name: 'conf', partition: 0 });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await LevelKeyValueStore.open({ location, name: 'conf', partition: 0 });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('LevelKeyValueStore specifics', () => {
  const dirs: string[] = [];
  const stores: KeyValueStore<unknown>[] = [];
  async function tempLocation(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-level-'));
    dirs.push(dir);
    return join(dir, 'db');
  }
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips binary values and keeps them independent of the read buffer', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'bin', partition: 'global' });
    stores.push(store);
    await store.put(Buffer.from('k'), { blob: Buffer.from([1, 2, 3]) });
    const value = (await store.get(Buffer.from('k'))) as { blob: Uint8Array };
    expect(Buffer.from(value.blob)).toEqual(Buffer.from([1, 2, 3]));
    expect(store.partition).toBe('global');
  });

  it('keeps every put of a batch whose keys and values share their sizes (buffers reused between puts)', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'same-size', partition: 'global' });
    stores.push(store);
    const writes = [];
    for (let i = 0; i < 500; i++) {
      const id = String(i).padStart(4, '0');
      writes.push({ type: 'put' as const, key: Buffer.from(`k${id}`), value: new JsonText(Buffer.from(`{"id":"${id}"}`)) });
      if (i % 7 === 0) writes.push({ type: 'put' as const, key: Buffer.from(`m${id}`), value: { id } });
      if (i % 5 === 0) writes.push({ type: 'delete' as const, key: Buffer.from(`k${String(i - 1).padStart(4, '0')}`) });
    }
    writes.push({ type: 'put' as const, key: Buffer.alloc(3000, 1), value: new JsonText(Buffer.from(`"${'x'.repeat(3000)}"`)) });
    await store.write(writes);
    for (let i = 0; i < 500; i++) {
      const id = String(i).padStart(4, '0');
      const deleted = (i + 1) % 5 === 0 && i + 1 < 500;
      expect(await store.get(Buffer.from(`k${id}`))).toEqual(deleted ? undefined : { id });
      if (i % 7 === 0) expect(await store.get(Buffer.from(`m${id}`))).toEqual({ id });
    }
    expect(await store.get(Buffer.alloc(3000, 1))).toBe('x'.repeat(3000));
  });

  it('writes its memtable out as a table file on close, so the next open replays no log', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'flush', partition: 0 });
    for (let i = 0; i < 500; i++) await store.put(Buffer.from(`key-${i}`), { n: i });
    await store.close();
    const files = await readdir(location);
    expect(files.some((file) => file.endsWith('.ldb'))).toBe(true);
    const reopened = await LevelKeyValueStore.open({ location, name: 'flush', partition: 0 });
    stores.push(reopened);
    expect(await reopened.get(Buffer.from('key-0'))).toEqual({ n: 0 });
    expect(await reopened.get(Buffer.from('key-499'))).toEqual({ n: 499 });
  });

  it('writes its memtable out on flushWriteBuffer, leaving an empty log, and stays usable', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'flush', partition: 'global' });
    stores.push(store);
    await store.write(Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`key-${i}`), value: { n: i } })));
    const tableFiles = async () => (await readdir(location)).filter((file) => file.endsWith('.ldb'));
    const logBytes = async () => {
      let total = 0;
      for (const file of await readdir(location)) if (file.endsWith('.log')) total += (await stat(join(location, file))).size;
      return total;
    };
    expect(await tableFiles()).toEqual([]);
    expect(await logBytes()).toBeGreaterThan(0);
    const first = store.flushWriteBuffer();
    expect(store.flushWriteBuffer()).toBe(first); // joined, not repeated
    await first;
    expect((await tableFiles()).length).toBeGreaterThan(0);
    expect(await logBytes()).toBe(0);
    await store.put(Buffer.from('after'), 1);
    expect(await store.getMany([Buffer.from('key-0'), Buffer.from('key-499'), Buffer.from('after')])).toEqual([{ n: 0 }, { n: 499 }, 1]);
  });

  it('closes after a flush in progress settled', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'flush', partition: 'global' });
    for (let i = 0; i < 200; i++) await store.put(Buffer.from(`key-${i}`), i);
    const flushing = store.flushWriteBuffer();
    await store.close();
    await flushing;
    expect(() => store.flushWriteBuffer()).toThrow(StoreClosedError);
    const reopened = await LevelKeyValueStore.open({ location, name: 'flush', partition: 'global' });
    stores.push(reopened);
    expect(await reopened.get(Buffer.from('key-199'))).toBe(199);
  });

  it('extrapolates approximateCount for stores larger than the exact-count sample', async () => {
    const location = await tempLocation();
    // A tiny write buffer forces SST files, which approximateSize can see.
    const store = await LevelKeyValueStore.open({
      location,
      name: 'count',
      partition: 0,
      tuning: { writeBufferSize: 64 * 1024 },
    });
    stores.push(store);
    const total = 40_000;
    for (let start = 0; start < total; start += 5000) {
      const writes = [];
      for (let i = start; i < start + 5000; i++) {
        const key = Buffer.alloc(4);
        key.writeUInt32BE(i);
        writes.push({ type: 'put' as const, key, value: { id: i, name: `customer-${i}`, balance: i * 3 } });
      }
      await store.write(writes);
    }
    const estimate = await store.approximateCount();
    expect(estimate).toBeGreaterThan(total * 0.5);
    expect(estimate).toBeLessThan(total * 1.5);
  });

  it('reports a second open of the same LevelDB as StateDirectoryLockedError', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'lock', partition: 1 });
    stores.push(store);
    const second = LevelKeyValueStore.open({ location, name: 'lock', partition: 1 });
    await expect(second).rejects.toBeInstanceOf(StateDirectoryLockedError);
    await expect(second).rejects.toMatchObject({ code: 'TRIBUTARY_STATE_DIRECTORY_LOCKED' });
  });

  it('refuses a LevelDB without the Tributary format marker', async () => {
    const location = await tempLocation();
    const foreign = new ClassicLevel<string, string>(location);
    await foreign.put('someone', 'else');
    await foreign.close();
    await expect(LevelKeyValueStore.open({ location, name: 'x', partition: 0 })).rejects.toBeInstanceOf(StoreCorruptedError);
  });

  it('reads a version-1 store as it is, moves its marker to version 2, and refuses unknown markers', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'x', partition: 0 });
    await store.put(Buffer.from('a'), { n: 1 });
    await store.close();
    const formatKey = Buffer.concat([Buffer.from([0]), Buffer.from('format')]);
    const setMarker = async (marker: string): Promise<void> => {
      const raw = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await raw.put(formatKey, Buffer.from(marker));
      await raw.close();
    };
    const readMarker = async (): Promise<string | undefined> => {
      const raw = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const marker = await raw.get(formatKey);
      await raw.close();
      return marker?.toString();
    };
    await setMarker('tributary-kv/1');
    const reopened = await LevelKeyValueStore.open({ location, name: 'x', partition: 0 });
    expect(await reopened.get(Buffer.from('a'))).toEqual({ n: 1 });
    await reopened.close();
    expect(await readMarker()).toBe('tributary-kv/2');
    await setMarker('tributary-kv/3');
    await expect(LevelKeyValueStore.open({ location, name: 'x', partition: 0 })).rejects.toBeInstanceOf(StoreCorruptedError);
  });

  it('stores JsonText as the text and reads it back parsed, next to msgpack values', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'x', partition: 0 });
    await store.write([
      { type: 'put', key: Buffer.from('j'), value: new JsonText(Buffer.from('{"a":[1,"é",null]}')) },
      { type: 'put', key: Buffer.from('m'), value: { a: 2 } },
    ]);
    expect(await store.get(Buffer.from('j'))).toEqual({ a: [1, 'é', null] });
    expect([...(await store.getMany([Buffer.from('j'), Buffer.from('m')]))]).toEqual([{ a: [1, 'é', null] }, { a: 2 }]);
    const entries = [];
    for await (const entry of store.range()) entries.push(entry.value);
    expect(entries).toEqual([{ a: [1, 'é', null] }, { a: 2 }]);
    await store.close();
  });

  it('reports damaged LevelDB files as StoreCorruptedError', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'x', partition: 0 });
    await store.put(Buffer.from('a'), 1);
    await store.close();
    for (const file of await readdir(location)) {
      if (file.startsWith('MANIFEST-') || file === 'CURRENT') await writeFile(join(location, file), 'garbage\n');
    }
    await expect(LevelKeyValueStore.open({ location, name: 'x', partition: 0 })).rejects.toBeInstanceOf(StoreCorruptedError);
  });

  it('rejects writes after close with a typed error', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'closed', partition: 0 });
    await store.close();
    await expect(store.put(Buffer.from('a'), 1)).rejects.toMatchObject({ code: 'TRIBUTARY_STORE_CLOSED' });
  });

  it('writes a prepared write only on commit, with its checkpoints and meta, and nothing of a discarded one', async () => {
    const location = await tempLocation();
    const store = await LevelKeyValueStore.open({ location, name: 'prepared', partition: 'global' });
    stores.push(store);
    await store.put(Buffer.from('old'), 'stays');
    const prepared = store.prepareWrite();
    prepared.add({ type: 'put', key: Buffer.from('a'), value: new JsonText(Buffer.from('{"n":1}')) });
    prepared.add({ type: 'delete', key: Buffer.from('old') });
    expect(await store.get(Buffer.from('a'))).toBeUndefined();
    expect(await store.get(Buffer.from('old'))).toBe('stays');
    await prepared.commit(new Map([['t:0', 7]]), new Map([['mode', 'fast']]));
    expect(await store.get(Buffer.from('a'))).toEqual({ n: 1 });
    expect(await store.get(Buffer.from('old'))).toBeUndefined();
    expect(store.checkpoints()).toEqual(new Map([['t:0', 7]]));
    expect(store.meta('mode')).toBe('fast');
    await expect(prepared.commit()).rejects.toThrow(StoreClosedError);
    // Records read in place go to the native batch directly: once committed, nothing may land in it any more.
    const json = Buffer.from('{"n":2}');
    expect(() => prepared.putJsonTextAt?.(Buffer.from('late'), 0, 4, json, 0, json.length)).toThrow(StoreClosedError);
    expect(() => prepared.deleteAt?.(Buffer.from('a'), 0, 1)).toThrow(StoreClosedError);

    const dropped = store.prepareWrite();
    dropped.add({ type: 'put', key: Buffer.from('b'), value: 2 });
    await dropped.discard();
    expect(await store.get(Buffer.from('b'))).toBeUndefined();
    await store.close();
    expect(() => store.prepareWrite()).toThrow(StoreClosedError);
  });

  it('leaves the same contents through a prepared write as through write(), clears included', async () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd').map((k) => Buffer.from(k));
    const write: fc.Arbitrary<StoreWrite<unknown>> = fc.oneof(
      fc.record({ type: fc.constant('put' as const), key, value: fc.integer() }),
      fc.record({ type: fc.constant('delete' as const), key }),
      fc.constant({ type: 'clear' as const }),
    );
    const viaWrite = await LevelKeyValueStore.open({ location: await tempLocation(), name: 'w', partition: 0 });
    const viaPrepared = await LevelKeyValueStore.open({ location: await tempLocation(), name: 'p', partition: 0 });
    stores.push(viaWrite, viaPrepared);
    const contents = async (store: KeyValueStore<unknown>) => {
      const entries: [string, unknown][] = [];
      for await (const entry of store.range()) entries.push([entry.key.toString(), entry.value]);
      return entries;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(write, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), async (batches) => {
        let offset = 0;
        for (const batch of batches) {
          offset += batch.length + 1;
          await viaWrite.write(batch, new Map([['t:0', offset]]));
          const prepared = viaPrepared.prepareWrite();
          for (const w of batch) prepared.add(w);
          await prepared.commit(new Map([['t:0', offset]]));
        }
        expect(await contents(viaPrepared)).toEqual(await contents(viaWrite));
        expect(viaPrepared.checkpoints()).toEqual(viaWrite.checkpoints());
      }),
      { numRuns: 60 },
    );
  });
});
