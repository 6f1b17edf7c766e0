import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotFormatError, SnapshotTargetNotEmptyError } from '../errors.js';
import { exportSnapshot, importSnapshot } from './snapshot.js';
import { StateDirectory } from './state-directory.js';
import type { KeyValueStore } from './types.js';

async function dump(store: KeyValueStore<unknown>): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  for await (const entry of store.range()) out.push([entry.key.toString('hex'), entry.value]);
  return out;
}

describe('snapshots', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tributary-snapshot-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function seed(stateDir: string): Promise<void> {
    const directory = await StateDirectory.open({ stateDir, applicationId: 'app' });
    try {
      const orders0 = await directory.openStore('orders', 0);
      const big = Array.from({ length: 4500 }, (_, i) => ({
        type: 'put' as const,
        key: Buffer.from(`order-${String(i).padStart(5, '0')}`),
        value: { i, items: [i, `sku-${i}`], paid: i % 2 === 0, note: null },
      }));
      await orders0.write(big, new Map([['orders:0', 4500]]));
      await orders0.delete(Buffer.from('order-00007'));
      const orders1 = await directory.openStore('orders', 1);
      await orders1.write([{ type: 'put', key: Uint8Array.from([0, 255]), value: 'binary key' }], new Map([['orders:1', 3]]));
      await directory.openStore('empty', 2);
      const global = await directory.openStore('countries', 'global');
      await global.write(
        [{ type: 'put', key: Buffer.from('NL'), value: { name: 'Netherlands' } }],
        new Map([
          ['countries:0', 1],
          ['countries:1', 0],
        ]),
      );
    } finally {
      await directory.close();
    }
  }

  async function contents(stateDir: string): Promise<unknown> {
    const directory = await StateDirectory.open({ stateDir, applicationId: 'app' });
    try {
      const out: Record<string, unknown> = {};
      for (const { name, partition } of await directory.listStores()) {
        const store = await directory.openStore(name, partition);
        out[`${name}/${partition}`] = { data: await dump(store), checkpoints: Object.fromEntries(store.checkpoints()) };
      }
      return out;
    } finally {
      await directory.close();
    }
  }

  it('round-trips every store, partition and checkpoint through one file', async () => {
    const source = join(root, 'source');
    const target = join(root, 'target');
    const file = join(root, 'app.snapshot');
    await seed(source);
    const exported = await exportSnapshot(source, 'app', file);
    expect(exported).toEqual({ stores: 4, entries: 4499 + 1 + 1 });
    const imported = await importSnapshot(file, target, 'app');
    expect(imported).toEqual(exported);
    const expected = await contents(source);
    expect(await contents(target)).toEqual(expected);
    expect(Object.keys(expected as object)).toEqual(['countries/global', 'empty/2', 'orders/0', 'orders/1']);
  });

  it('refuses to import over existing stores', async () => {
    const source = join(root, 'source');
    const file = join(root, 'app.snapshot');
    await seed(source);
    await exportSnapshot(source, 'app', file);
    await expect(importSnapshot(file, source, 'app')).rejects.toBeInstanceOf(SnapshotTargetNotEmptyError);
    expect((await contents(source)) as object).toHaveProperty(['orders/0']);
  });

  it('rejects a corrupt or truncated file and leaves no partial stores behind', async () => {
    const source = join(root, 'source');
    const file = join(root, 'app.snapshot');
    await seed(source);
    await exportSnapshot(source, 'app', file);
    const bytes = await readFile(file);

    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    await writeFile(join(root, 'flipped'), flipped);
    await expect(importSnapshot(join(root, 'flipped'), join(root, 't1'), 'app')).rejects.toBeInstanceOf(SnapshotFormatError);
    expect(await contents(join(root, 't1'))).toEqual({});

    await writeFile(join(root, 'truncated'), bytes.subarray(0, bytes.length - 20));
    await expect(importSnapshot(join(root, 'truncated'), join(root, 't2'), 'app')).rejects.toThrow(/truncated/);
    expect(await contents(join(root, 't2'))).toEqual({});

    await writeFile(join(root, 'foreign'), Buffer.from('definitely not a snapshot'));
    await expect(importSnapshot(join(root, 'foreign'), join(root, 't3'), 'app')).rejects.toThrow(/bad magic/);
  });
});
