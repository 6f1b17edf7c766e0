/**
 * The on-disk home of an application's stores: `<stateDir>/<applicationId>/<storeName>/<partition|global>/`,
 * guarded by one lock file per application directory so two instances never share state.
 */
import { link, mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidStoreNameError, StateDirectoryClosedError, StateDirectoryLockedError, StoreCorruptedError } from '../errors.js';
import { LevelKeyValueStore, type LevelTuning } from './level-store.js';
import { silentLogger, type Logger } from '../common/logger.js';

export const LOCK_FILE_NAME = '.lock';

export interface StateDirectoryOptions {
  readonly stateDir: string;
  readonly applicationId: string;
  readonly logger?: Logger;
  /** LevelDB tuning applied to every store opened here. */
  readonly tuning?: LevelTuning;
  /** Tuning of global stores (partition 'global') over `tuning`, e.g. a bigger write buffer for their bootstrap. */
  readonly globalTuning?: LevelTuning;
}

export interface StoreId {
  readonly name: string;
  readonly partition: number | 'global';
}

const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function assertValidStoreId(name: string, partition: number | 'global'): void {
  if (!NAME_PATTERN.test(name)) throw new InvalidStoreNameError(`Invalid store name "${name}"`);
  if (partition !== 'global' && !(Number.isSafeInteger(partition) && partition >= 0)) {
    throw new InvalidStoreNameError(`Invalid partition ${String(partition)} for store "${name}"`);
  }
}

function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** True when a process with this PID exists (EPERM: it exists but belongs to another user). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

function parsePid(content: string): number | undefined {
  const pid = Number(content.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Creates the lock file holding our PID. The content is written to a private temp file first and then hard-linked
 * into place: `link` fails with EEXIST atomically, and a lock file is never observed half-written.
 */
async function acquireLock(appDir: string, logger: Logger): Promise<string> {
  const lockPath = join(appDir, LOCK_FILE_NAME);
  const tempPath = join(appDir, `${LOCK_FILE_NAME}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(tempPath, `${process.pid}\n`, { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(tempPath, lockPath);
        return lockPath;
      } catch (error) {
        if (!isErrnoCode(error, 'EEXIST')) throw error;
      }
      let holderContent: string;
      try {
        holderContent = await readFile(lockPath, 'utf8');
      } catch (error) {
        if (isErrnoCode(error, 'ENOENT')) continue; // released meanwhile: try again
        throw error;
      }
      const holder = parsePid(holderContent);
      if (holder !== undefined && isProcessAlive(holder)) throw new StateDirectoryLockedError(appDir, holder);
      // Stale lock (dead PID or unreadable content). Move it away under a unique name, then check that what we
      // moved is the lock we judged stale; if another process replaced it meanwhile, put theirs back.
      const stalePath = `${lockPath}.stale-${process.pid}-${Date.now()}`;
      try {
        await rename(lockPath, stalePath);
      } catch (error) {
        if (isErrnoCode(error, 'ENOENT')) continue;
        throw error;
      }
      const moved = await readFile(stalePath, 'utf8');
      if (moved !== holderContent) {
        await rename(stalePath, lockPath);
        const pid = parsePid(moved);
        throw new StateDirectoryLockedError(appDir, pid);
      }
      await unlink(stalePath);
      logger.warn('Took over a stale state directory lock left by a process that is no longer running', {
        path: lockPath,
        stalePid: holder,
      });
    }
    throw new StateDirectoryLockedError(appDir, undefined);
  } finally {
    await unlink(tempPath).catch(() => {});
  }
}

export class StateDirectory {
  readonly stateDir: string;
  readonly applicationId: string;
  /** `<stateDir>/<applicationId>`. */
  readonly appDir: string;
  readonly #logger: Logger;
  readonly #tuning: LevelTuning | undefined;
  readonly #globalTuning: LevelTuning | undefined;
  readonly #lockPath: string;
  readonly #openStores = new Map<string, LevelKeyValueStore<unknown>>();
  #closed = false;

  private constructor(options: StateDirectoryOptions, appDir: string, lockPath: string) {
    this.stateDir = options.stateDir;
    this.applicationId = options.applicationId;
    this.appDir = appDir;
    this.#logger = options.logger ?? silentLogger;
    this.#tuning = options.tuning;
    this.#globalTuning = options.globalTuning === undefined ? options.tuning : { ...options.tuning, ...options.globalTuning };
    this.#lockPath = lockPath;
  }

  /**
   * Creates the application directory if needed and locks it for this process.
   * @throws StateDirectoryLockedError when a live process holds the lock.
   */
  static async open(options: StateDirectoryOptions): Promise<StateDirectory> {
    if (!NAME_PATTERN.test(options.applicationId)) {
      throw new InvalidStoreNameError(`Invalid applicationId "${options.applicationId}"`);
    }
    const appDir = join(options.stateDir, options.applicationId);
    await mkdir(appDir, { recursive: true });
    const lockPath = await acquireLock(appDir, options.logger ?? silentLogger);
    return new StateDirectory(options, appDir, lockPath);
  }

  storePath(name: string, partition: number | 'global'): string {
    assertValidStoreId(name, partition);
    return join(this.appDir, name, String(partition));
  }

  /**
   * Opens one store, creating it if missing. A store LevelDB cannot open, or whose metadata fails validation, is
   * moved aside to `<dir>.corrupt-<timestamp>` and replaced by an empty one: its checkpoints are then empty, so
   * the runtime rebuilds it from the source topic.
   */
  async openStore<V = unknown>(name: string, partition: number | 'global'): Promise<LevelKeyValueStore<V>> {
    this.#assertOpen();
    const location = this.storePath(name, partition);
    const id = `${name}/${partition}`;
    const existing = this.#openStores.get(id);
    if (existing !== undefined && !existing.isClosed) return existing as LevelKeyValueStore<V>;
    await mkdir(join(this.appDir, name), { recursive: true });
    const tuning = partition === 'global' ? this.#globalTuning : this.#tuning;
    let store: LevelKeyValueStore<V>;
    try {
      store = await LevelKeyValueStore.open<V>({ location, name, partition, tuning });
    } catch (error) {
      if (!(error instanceof StoreCorruptedError)) throw error;
      const asidePath = `${location}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(location, asidePath);
      this.#logger.warn(
        `Store "${name}" partition ${partition} is corrupt; moved it aside and opened an empty store that will be rebuilt from its source topic`,
        { store: name, partition, movedTo: asidePath, reason: error.message },
      );
      store = await LevelKeyValueStore.open<V>({ location, name, partition, tuning });
    }
    this.#openStores.set(id, store as LevelKeyValueStore<unknown>);
    return store;
  }

  /** Stores present on disk (open or not), sorted by name then partition; moved-aside copies are not listed. */
  async listStores(): Promise<StoreId[]> {
    this.#assertOpen();
    const result: StoreId[] = [];
    for (const storeEntry of await readdir(this.appDir, { withFileTypes: true })) {
      if (!storeEntry.isDirectory() || !NAME_PATTERN.test(storeEntry.name)) continue;
      for (const partitionEntry of await readdir(join(this.appDir, storeEntry.name), { withFileTypes: true })) {
        if (!partitionEntry.isDirectory()) continue;
        if (partitionEntry.name === 'global') result.push({ name: storeEntry.name, partition: 'global' });
        else if (/^\d+$/.test(partitionEntry.name)) {
          result.push({ name: storeEntry.name, partition: Number(partitionEntry.name) });
        }
      }
    }
    return result.sort((a, b) =>
      a.name !== b.name
        ? a.name < b.name
          ? -1
          : 1
        : (a.partition === 'global' ? -1 : a.partition) - (b.partition === 'global' ? -1 : b.partition),
    );
  }

  /** Closes the store if open here and removes its directory (e.g. after its partition moved to another instance). */
  async deleteStore(name: string, partition: number | 'global'): Promise<void> {
    this.#assertOpen();
    const location = this.storePath(name, partition);
    const id = `${name}/${partition}`;
    const open = this.#openStores.get(id);
    if (open !== undefined) {
      this.#openStores.delete(id);
      await open.close();
    }
    await rm(location, { recursive: true, force: true });
  }

  /** Closes every store opened through this directory and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stores = [...this.#openStores.values()];
    this.#openStores.clear();
    await Promise.all(stores.map((store) => store.close()));
    try {
      const holder = parsePid(await readFile(this.#lockPath, 'utf8'));
      if (holder === process.pid) await unlink(this.#lockPath);
    } catch (error) {
      if (!isErrnoCode(error, 'ENOENT')) throw error;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StateDirectoryClosedError(this.appDir);
  }
}
