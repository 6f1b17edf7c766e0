/**
 * In-process TributaryApp instances for the DLQ tests (faster than child processes when no crash is involved):
 * fresh temp state dirs, short commit interval, and a cleanup that stops every app and deletes its state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryApp } from '../../processor/runtime/app.js';
import type { TributaryAppOptions } from '../../processor/runtime/options.js';
import type { Topology } from '../../topology/topology.js';
import { kafkaBrokers, waitUntil } from '../helpers/kafka.js';

export class InProcessApps {
  private readonly apps: TributaryApp[] = [];
  private readonly dirs: string[] = [];

  async newStateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-dlq-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Creates (not starts) an app on the test broker; `stateDir` defaults to a fresh directory. */
  async create(topology: Topology, options: Partial<TributaryAppOptions> = {}): Promise<TributaryApp> {
    const app = new TributaryApp(topology, {
      brokers: kafkaBrokers(),
      stateDir: options.stateDir ?? (await this.newStateDir()),
      commitIntervalMs: 200,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
      kafka: { logLevel: 'nothing' },
      ...options,
    });
    this.apps.push(app);
    return app;
  }

  async start(topology: Topology, options: Partial<TributaryAppOptions> = {}): Promise<TributaryApp> {
    const app = await this.create(topology, options);
    await app.start();
    return app;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.apps.splice(0).map((app) => app.stop().catch(() => undefined)));
    await Promise.all(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** Every value of a store, read from the app's local partitions once they are all restored and served here. */
export async function readLocalStore(app: TributaryApp, store: string): Promise<Map<string, unknown>> {
  const source = app.querySource();
  let entries = new Map<string, unknown>();
  await waitUntil(
    async () => {
      const targets = source.scanTargets(store);
      if (targets.some((t) => t.kind !== 'local')) return false;
      entries = new Map();
      for (const target of targets) {
        if (target.kind !== 'local') continue;
        for await (const entry of target.store.range()) entries.set(entry.key.toString('utf8'), entry.value);
      }
      return true;
    },
    { timeoutMs: 60_000, description: `store ${store} local and restored` },
  );
  return entries;
}
