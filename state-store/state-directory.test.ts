import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidStoreNameError, StateDirectoryLockedError } from '../errors.js';
import type { Logger } from '../common/logger.js';
import { LOCK_FILE_NAME, StateDirectory } from './state-directory.js';
import { killAndWait, spawnFixture, waitForLine } from './test-fixtures/child-process.js';

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Readonly<Record<string, unknown>>;
}

function recordingLogger(lines: LogLine[]): Logger {
  return {
    debug: (message, fields) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
}

describe('StateDirectory', () => {
  let stateDir: string;
  const opened: StateDirectory[] = [];
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tributary-statedir-'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await killAndWait(child);
    for (const directory of opened.splice(0)) await directory.close();
    await rm(stateDir, { recursive: true, force: true });
  });
  async function openDir(logger?: Logger): Promise<StateDirectory> {
    const directory = await StateDirectory.open({ stateDir, applicationId: 'app', logger });
    opened.push(directory);
    return directory;
  }

  it('opens global stores with globalTuning over tuning (here: a small write buffer flushes to table files)', async () => {
    const directory = await StateDirectory.open({
      stateDir,
      applicationId: 'app',
      tuning: { writeBufferSize: 64 * 1024 * 1024 },
      globalTuning: { writeBufferSize: 64 * 1024 },
    });
    opened.push(directory);
    const tableFiles = async (partition: number | 'global'): Promise<number> =>
      (await readdir(directory.storePath('s', partition))).filter((name) => name.endsWith('.ldb')).length;
    for (const partition of [0, 'global'] as const) {
      const store = await directory.openStore('s', partition);
      for (let start = 0; start < 8000; start += 1000) {
        const writes = [];
        for (let i = start; i < start + 1000; i++)
          writes.push({ type: 'put' as const, key: Buffer.from(`key-${i}`), value: 'x'.repeat(100) });
        await store.write(writes);
      }
    }
    expect(await tableFiles(0)).toBe(0); // 64 MiB: all still in the write buffer
    expect(await tableFiles('global')).toBeGreaterThan(0);
  });

  it('lays stores out as <stateDir>/<app>/<store>/<partition|global> and lists them', async () => {
    const directory = await openDir();
    await (await directory.openStore('orders', 1)).put(Buffer.from('k'), 1);
    await directory.openStore('orders', 0);
    await directory.openStore('countries', 'global');
    expect(directory.storePath('orders', 1)).toBe(join(stateDir, 'app', 'orders', '1'));
    expect(await readdir(join(stateDir, 'app', 'orders'))).toEqual(expect.arrayContaining(['0', '1']));
    expect(await directory.listStores()).toEqual([
      { name: 'countries', partition: 'global' },
      { name: 'orders', partition: 0 },
      { name: 'orders', partition: 1 },
    ]);
    await directory.deleteStore('orders', 1);
    expect(await directory.listStores()).toEqual([
      { name: 'countries', partition: 'global' },
      { name: 'orders', partition: 0 },
    ]);
  });

  it('writes the PID into the lock file and releases it on close', async () => {
    const directory = await StateDirectory.open({ stateDir, applicationId: 'app' });
    expect((await readFile(join(stateDir, 'app', LOCK_FILE_NAME), 'utf8')).trim()).toBe(String(process.pid));
    await directory.close();
    expect(await readdir(join(stateDir, 'app'))).not.toContain(LOCK_FILE_NAME);
    const again = await openDir();
    expect(again.appDir).toBe(join(stateDir, 'app'));
  });

  it('refuses a second open while the first is live, naming the PID and path', async () => {
    await openDir();
    const second = StateDirectory.open({ stateDir, applicationId: 'app' });
    await expect(second).rejects.toBeInstanceOf(StateDirectoryLockedError);
    await expect(second).rejects.toMatchObject({ pid: process.pid, path: join(stateDir, 'app') });
    await expect(second).rejects.toThrow(/Stop that process first, or give this instance its own stateDir/);
  });

  it('refuses an open while another process holds the lock, then takes over once that process died', async () => {
    const child = spawnFixture('./lock-holder.ts', [stateDir, 'app']);
    children.push(child);
    await waitForLine(child, 'locked');
    const blocked = StateDirectory.open({ stateDir, applicationId: 'app' });
    await expect(blocked).rejects.toMatchObject({ code: 'TRIBUTARY_STATE_DIRECTORY_LOCKED', pid: child.pid });
    await expect(blocked).rejects.toThrow(String(child.pid));

    await killAndWait(child); // SIGKILL: the lock file stays behind with a dead PID
    const lines: LogLine[] = [];
    const directory = await openDir(recordingLogger(lines));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ stalePid: child.pid }) }));
    // The dead process's LevelDB LOCK does not block us either.
    const store = await directory.openStore('held', 0);
    expect(await store.approximateCount()).toBe(0);
  });

  it('reports a store already open elsewhere in this process as StateDirectoryLockedError', async () => {
    const directory = await openDir();
    await directory.openStore('s', 0);
    const { LevelKeyValueStore } = await import('./level-store.js');
    await expect(LevelKeyValueStore.open({ location: directory.storePath('s', 0), name: 's', partition: 0 })).rejects.toBeInstanceOf(
      StateDirectoryLockedError,
    );
  });

  it('moves a corrupt store aside, opens an empty one and logs it', async () => {
    const lines: LogLine[] = [];
    const directory = await openDir(recordingLogger(lines));
    const store = await directory.openStore('orders', 3);
    await store.write([{ type: 'put', key: Buffer.from('a'), value: 1 }], new Map([['orders:3', 10]]));
    await store.close();
    const location = directory.storePath('orders', 3);
    for (const file of await readdir(location)) {
      if (file.startsWith('MANIFEST-')) await writeFile(join(location, file), Buffer.alloc(64, 0xab));
    }

    const rebuilt = await directory.openStore('orders', 3);
    expect(rebuilt.checkpoints().size).toBe(0);
    expect(await rebuilt.get(Buffer.from('a'))).toBeUndefined();
    const aside = (await readdir(join(stateDir, 'app', 'orders'))).filter((n) => n.startsWith('3.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringMatching(/corrupt.*moved it aside.*rebuilt from its source topic/),
        fields: expect.objectContaining({ movedTo: join(stateDir, 'app', 'orders', aside[0]!) }),
      }),
    );
    expect(await directory.listStores()).toEqual([{ name: 'orders', partition: 3 }]);
  });

  it('rejects store names and partitions that are not safe directory names', async () => {
    const directory = await openDir();
    await expect(directory.openStore('../escape', 0)).rejects.toBeInstanceOf(InvalidStoreNameError);
    await expect(directory.openStore('.hidden', 0)).rejects.toBeInstanceOf(InvalidStoreNameError);
    await expect(directory.openStore('ok', -1)).rejects.toBeInstanceOf(InvalidStoreNameError);
    await expect(directory.openStore('ok', 1.5)).rejects.toBeInstanceOf(InvalidStoreNameError);
  });
});
