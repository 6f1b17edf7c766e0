/**
 * The server side of the open-loop HTTP runs (http-open-loop.ts), as its own process started with the Node flags the
 * README recommends for production (worker-flags.ts): the real QueryServer over LevelDB stores (one instance holding
 * every partition of a partitioned store, plus a global store; LocalStoresSource) and, on its own port, the
 * hello-world route. The stores are written, closed and opened again before serving, so lookups read table files
 * through LevelDB's block cache as an instance started on restored stores does, not a fresh memtable.
 *
 * Prints one JSON line `{"helloWorld":<origin>,"lookups":<origin>}` on stdout once both listen; other lines on
 * stdout (e.g. --trace-gc output, before or after it) are not part of the protocol. Stops, closing everything and removing its
 * directory, when its stdin ends (the parent closes it or exits).
 *
 *   node --import tsx scripts/bench/http-serve.ts [--keys 10000] [--partitions 8] [--code-root <checkout>]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeLevelStores, helloWorldApp, levelQueryServer, loadServerCode, openLevelStores, writeCustomers } from './http-load.js';
import { benchKeys, type ServeOrigins } from './http-open-loop.js';

const { values } = parseArgs({
  options: { keys: { type: 'string' }, partitions: { type: 'string' }, 'code-root': { type: 'string' } },
});
const keys = benchKeys(Number(values.keys ?? 10_000));
const partitions = Number(values.partitions ?? 8);
const code = await loadServerCode(values['code-root']);
const dir = await mkdtemp(join(tmpdir(), 'tributary-http-serve-'));
const written = await openLevelStores(code, dir, partitions);
await writeCustomers(code, written, keys);
await closeLevelStores(written);
const stores = await openLevelStores(code, dir, partitions);
const lookups = levelQueryServer(code, stores);
const hello = helloWorldApp();
const origins: ServeOrigins = {
  helloWorld: await hello.listen({ host: '127.0.0.1', port: 0 }),
  lookups: await lookups.listen(),
};
process.stdout.write(`${JSON.stringify(origins)}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([lookups.close(), hello.close()]);
  await closeLevelStores(stores);
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.on('SIGTERM', () => void stop());
process.stdin.resume();
