import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultPartition } from '../../common/partitioner.js';
import type { Logger } from '../../common/logger.js';
import type { ConsumedRecord } from '../../common/records.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { LevelKeyValueStore } from '../../state-store/level-store.js';
import { FakeCluster } from '../kafka/testing/fake-cluster.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClient } from '../kafka/client.js';
import { EngineMetrics } from '../engine/metrics.js';
import { resolveErrorPolicy } from '../engine/error-policy.js';
import { GlobalTableUpdater } from '../engine/global-updater.js';
import { GLOBAL_TABLE_MODE_META, GlobalTableModes, decodeGlobalTableMode, isMisplaced } from '../engine/global-table-mode.js';
import { GlobalTables } from './global-tables.js';
import { OutputSender } from './output-sender.js';
import { RestorationTracker } from './restoration-tracker.js';

const APP = 'modes';
const TOPIC = 'customers';
const KEYS = Array.from({ length: 40 }, (_, i) => `c${i}`);

function topology() {
  const b = new StreamsBuilder();
  b.globalTable(TOPIC, { key: Serdes.string(), value: Serdes.string(), store: 'customers' });
  return b.build({ applicationId: APP });
}

function recordingLogger(lines: string[]): Logger {
  const log = (message: string) => void lines.push(message);
  return { debug: () => {}, info: log, warn: log, error: log };
}

class Harness {
  readonly cluster = new FakeCluster();
  readonly lines: string[] = [];
  readonly partitions = new Map<string, number>();
  stateDirectory!: StateDirectory;
  globals!: GlobalTables;

  constructor(
    readonly stateDir: string,
    count: number,
  ) {
    this.cluster.createTopic(TOPIC, count);
    this.cluster.createTopic(`${APP}-dlq`, 1);
  }

  /** Writes `value` (null: a tombstone) for `key` where a Java producer would with `count` partitions. */
  produce(key: string, value: string | null, timestamp: number, count = this.cluster.partitionCount(TOPIC) as number): void {
    this.cluster.append(TOPIC, defaultPartition(Buffer.from(key), count), [{ key, value, timestamp }]);
  }

  /** Opens the state directory and bootstraps the global table (a fresh instance, or a restart on the same dir). */
  async bootstrap(): Promise<GlobalTables> {
    this.stateDirectory = await StateDirectory.open({ stateDir: this.stateDir, applicationId: APP });
    this.partitions.set(TOPIC, this.cluster.partitionCount(TOPIC) as number);
    const metrics = new EngineMetrics();
    this.globals = new GlobalTables({
      topology: topology(),
      client: {} as KafkaClient,
      admin: this.cluster as unknown as KafkaAdmin,
      readers: (options) => this.cluster.reader(options),
      stateDirectory: this.stateDirectory,
      partitions: this.partitions,
      errorPolicy: {},
      metrics,
      tracker: new RestorationTracker(() => {}),
      sender: new OutputSender({
        producer: this.cluster,
        policy: resolveErrorPolicy(APP, {}),
        applicationId: APP,
        metrics,
        logger: recordingLogger(this.lines),
        retries: 0,
      }),
      logger: recordingLogger(this.lines),
      onFailure: (error) => {
        throw error;
      },
    });
    await this.globals.open();
    await this.globals.bootstrap();
    return this.globals;
  }

  async table(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for await (const entry of (this.globals.store('customers') as LevelKeyValueStore<unknown>).range())
      out.set(entry.key.toString(), entry.value);
    return out;
  }

  mode(): string | undefined {
    return this.globals.store('customers')?.meta(GLOBAL_TABLE_MODE_META);
  }

  async close(): Promise<void> {
    await this.globals.stop();
    await this.stateDirectory.close();
  }
}

/** Before the expansion: every key, then a few deleted; after it (2 → 4): new values and deletions at the new homes. */
function writeHistory(h: Harness): Map<string, string> {
  const expected = new Map<string, string>();
  let t = 1_000;
  for (const key of KEYS) {
    h.produce(key, `${key}-v1`, t++);
    expected.set(key, `${key}-v1`);
  }
  for (const key of KEYS.slice(0, 5)) {
    h.produce(key, null, t++);
    expected.delete(key);
  }
  return expected;
}

function writeAfterExpansion(h: Harness, expected: Map<string, string>): void {
  let t = 5_000;
  // Moved keys are re-written at their new home (their older records stay in the old partition), some deleted there.
  for (const key of KEYS.slice(5, 25)) {
    h.produce(key, `${key}-v2`, t++);
    expected.set(key, `${key}-v2`);
  }
  for (const key of KEYS.slice(25, 30)) {
    h.produce(key, null, t++);
    expected.delete(key);
  }
  // A deleted key written again after the expansion, and deleted again.
  h.produce(KEYS[0], `${KEYS[0]}-v3`, t++);
  h.produce(KEYS[1], `${KEYS[1]}-v3`, t++);
  h.produce(KEYS[1], null, t++);
  expected.set(KEYS[0], `${KEYS[0]}-v3`);
}

describe('global tables: fast until a key can sit in two partitions', () => {
  const dirs: string[] = [];
  afterEach(async () => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-global-modes-'));
    dirs.push(dir);
    return dir;
  };

  it('a topic that never grew is built fast (no versions stored) and stays fast across a restart', async () => {
    const h = new Harness(await tempDir(), 2);
    const expected = writeHistory(h);
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.mode()).toBe('fast/2');
    const store = h.globals.store('customers') as LevelKeyValueStore<unknown>;
    expect(await store.getVersions(KEYS.map((k) => Buffer.from(k)))).toEqual(KEYS.map(() => undefined));
    await h.close();
    h.produce(KEYS[7], 'later', 9_000);
    await h.bootstrap();
    expect((await h.table()).get(KEYS[7])).toBe('later');
    expect(h.mode()).toBe('fast/2');
    expect(h.lines.filter((line) => line.includes('record versions'))).toEqual([]);
    await h.close();
  });

  it("writes the bootstrap's last write buffer out to a table file once the table is up to date", async () => {
    const h = new Harness(await tempDir(), 2);
    writeHistory(h);
    await h.bootstrap();
    const store = h.globals.store('customers') as LevelKeyValueStore<unknown>;
    const logBytes = async () => {
      let total = 0;
      for (const file of await readdir(store.location)) if (file.endsWith('.log')) total += (await stat(join(store.location, file))).size;
      return total;
    };
    // Started in the background when the bootstrap finished: the log (what the memtable holds) ends up empty.
    await vi.waitFor(async () => expect(await logBytes()).toBe(0), { timeout: 5_000, interval: 20 });
    expect((await readdir(store.location)).some((file) => file.endsWith('.ldb'))).toBe(true);
    expect((await h.table()).size).toBe(KEYS.length - 5);
    await h.close();
  });

  it('a fresh instance after an expansion meets a misplaced record, starts over with versions and builds the latest table', async () => {
    const h = new Harness(await tempDir(), 2);
    const expected = writeHistory(h);
    await h.cluster.addPartitions(new Map([[TOPIC, 4]]));
    writeAfterExpansion(h, expected);
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.mode()).toBe('versioned');
    expect(h.lines.filter((line) => line.includes('starts over'))).toHaveLength(1);
    expect(h.lines.find((line) => line.includes('starts over'))).toContain(`${TOPIC}:`);
    await h.close();
    // The mode survives a restart: the next bootstrap is versioned from its checkpoint, no start over.
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.lines.filter((line) => line.includes('starts over'))).toHaveLength(1);
    await h.close();
  });

  it('a store built fast whose topic grew while the instance was down turns versioned in place at restart', async () => {
    const h = new Harness(await tempDir(), 2);
    const expected = writeHistory(h);
    await h.bootstrap();
    expect(h.mode()).toBe('fast/2');
    await h.close();
    await h.cluster.addPartitions(new Map([[TOPIC, 4]]));
    writeAfterExpansion(h, expected);
    // An old partition's older record of a moved key, read after its newer one (offset order within 0 and 1 only).
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.mode()).toBe('versioned');
    expect(h.lines.some((line) => line.includes('grew from 2 to 4'))).toBe(true);
    expect(h.lines.filter((line) => line.includes('starts over'))).toEqual([]);
    await h.close();
  });

  it('a restart of a fast store that meets a misplaced record past its checkpoint starts over with versions', async () => {
    const h = new Harness(await tempDir(), 2);
    const expected = writeHistory(h);
    await h.bootstrap();
    expect(h.mode()).toBe('fast/2');
    await h.close();
    // Written where murmur2 would not put it (an explicit partition), with an older timestamp than the key's home
    // record: by the rule it loses, and a key deleted at home stays deleted.
    const [deleted, live] = [KEYS[0], KEYS[10]];
    for (const key of [deleted, live]) {
      const wrong = 1 - defaultPartition(Buffer.from(key), 2);
      h.cluster.append(TOPIC, wrong, [{ key, value: 'stale', timestamp: 1 }]);
    }
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.mode()).toBe('versioned');
    expect(h.lines.filter((line) => line.includes('starts over'))).toHaveLength(1);
    await h.close();
  });

  it('a topic partitioned by another partitioner than murmur2 is versioned from its bootstrap, logged once with its topic', async () => {
    const h = new Harness(await tempDir(), 3);
    const expected = new Map<string, string>();
    // Round-robin: a key's records land in every partition; the latest timestamp must win.
    let i = 0;
    for (let round = 1; round <= 3; round++) {
      for (const key of KEYS.slice(0, 10)) {
        h.cluster.append(TOPIC, i++ % 3, [{ key, value: `${key}-r${round}`, timestamp: round * 100 + i }]);
        expected.set(key, `${key}-r${round}`);
      }
    }
    await h.bootstrap();
    expect(Object.fromEntries(await h.table())).toEqual(Object.fromEntries(expected));
    expect(h.mode()).toBe('versioned');
    const logged = h.lines.filter((line) => line.includes('keeps record versions'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`${TOPIC}:`);
    expect(logged[0]).toContain('murmur2');
    await h.close();
  });
});

describe('global table live updates switch in place', () => {
  const dirs: string[] = [];
  afterEach(async () => Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true }))));

  function rec(partition: number, offset: number, timestamp: number, key: string, value: string | null): ConsumedRecord {
    return {
      topic: TOPIC,
      partition,
      offset,
      timestamp,
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      headers: {},
    };
  }

  /** A key whose home is `partition` with `count` partitions. */
  const keyAt = (partition: number, count: number, skip = 0): string =>
    KEYS.filter((k) => defaultPartition(Buffer.from(k), count) === partition)[skip] as string;

  it('a misplaced record switches a fast table to versioned, stored with that batch; fast values count as older', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-global-live-'));
    dirs.push(dir);
    let store = await LevelKeyValueStore.open<unknown>({ location: dir, name: 'customers', partition: 'global' });
    const partitions = new Map([[TOPIC, 2]]);
    const lines: string[] = [];
    let modes = new GlobalTableModes(partitions, recordingLogger(lines));
    modes.set('customers', TOPIC, { kind: 'fast', partitions: 2 }, undefined);
    let updater = new GlobalTableUpdater({ topology: topology(), stores: new Map([['customers', store]]), modes });
    const a = keyAt(0, 2);
    const b = keyAt(1, 2);
    // Fast: blind writes, the mode stored with the first batch.
    let lost = await updater.write(updater.prepare([rec(0, 0, 500, a, 'a1'), rec(1, 0, 900, b, 'b1')]));
    expect(lost.size).toBe(0);
    expect(store.meta(GLOBAL_TABLE_MODE_META)).toBe('fast/2');
    expect(await store.getVersions([Buffer.from(a)])).toEqual([undefined]);
    // `a` written to partition 1 (another partitioner): misplaced. Its older timestamp still wins over the fast
    // value (written before the switch), then an upsert and a delete of `b` in the same batch both reach the feed.
    const batch = [rec(1, 1, 100, a, 'a2'), rec(1, 2, 950, b, 'b2'), rec(1, 3, 960, b, null), rec(0, 1, 50, a, 'a-old')];
    expect(isMisplaced(batch[0], 2)).toBe(true);
    lost = await updater.write(updater.prepare(batch));
    expect([...lost]).toEqual([batch[3]]);
    expect(await store.get(Buffer.from(a))).toBe('a2');
    expect(await store.get(Buffer.from(b))).toBeUndefined();
    expect(store.meta(GLOBAL_TABLE_MODE_META)).toBe('versioned');
    expect(lines.filter((line) => line.includes('keeps record versions'))).toHaveLength(1);
    // A restart reads the mode back; an older record of `b` does not bring it back.
    await store.close();
    store = await LevelKeyValueStore.open<unknown>({ location: dir, name: 'customers', partition: 'global' });
    expect(decodeGlobalTableMode(store.meta(GLOBAL_TABLE_MODE_META))).toEqual({ kind: 'versioned' });
    modes = new GlobalTableModes(partitions);
    modes.set('customers', TOPIC, { kind: 'versioned' }, store.meta(GLOBAL_TABLE_MODE_META));
    updater = new GlobalTableUpdater({ topology: topology(), stores: new Map([['customers', store]]), modes });
    lost = await updater.write(updater.prepare([rec(0, 2, 940, b, 'b-old')]));
    expect(lost.size).toBe(1);
    expect(await store.get(Buffer.from(b))).toBeUndefined();
    await store.close();
  });

  it('a topic that grew turns its fast tables versioned (the partition watcher path)', () => {
    const partitions = new Map([[TOPIC, 6]]);
    const modes = new GlobalTableModes(partitions);
    modes.set('customers', TOPIC, { kind: 'fast', partitions: 6 }, 'fast/6');
    expect(modes.grownFastTables()).toEqual([]);
    expect(modes.pendingMeta('customers')).toBeUndefined();
    partitions.set(TOPIC, 12);
    expect(modes.grownFastTables()).toEqual(['customers']);
    modes.switchToVersioned('customers', 'grew');
    expect(modes.isVersioned('customers')).toBe(true);
    expect(modes.pendingMeta('customers')).toEqual(new Map([[GLOBAL_TABLE_MODE_META, 'versioned']]));
    expect(modes.grownFastTables()).toEqual([]);
  });
});
