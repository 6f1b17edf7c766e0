/**
 * One TributaryApp with a single global table over the customers topic, in its own process so its peak RSS is
 * its own. Starts, waits until RUNNING (global store restored to the end offsets), prints one JSON line with the
 * timings, stops. Run twice on the same state dir: the first run is a cold bootstrap, the second a warm restart.
 *
 *   node --import tsx scripts/bench/bootstrap-worker.ts <brokers> <topic> <stateDir> <applicationId>
 */
import { Serdes, StreamsBuilder } from '../../index.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import type { Customer } from '../../examples/order-enrichment.js';

export interface BootstrapWorkerResult {
  /** app.start() until RUNNING. */
  readonly startToReadyMs: number;
  /** app.start() until the global store's restoration reported done (undefined if it never reported). */
  readonly startToRestoredMs: number | undefined;
  readonly restoredRecords: number;
  readonly peakRssMb: number;
}

export const BOOTSTRAP_STORE = 'customers-global';

const [brokers, topic, stateDir, applicationId] = process.argv.slice(2);
if (!brokers || !topic || !stateDir || !applicationId) {
  process.stderr.write('usage: bootstrap-worker.ts <brokers> <topic> <stateDir> <applicationId>\n');
  process.exit(2);
}

const builder = new StreamsBuilder();
builder.globalTable(topic, { key: Serdes.string(), value: Serdes.json<Customer>(), store: BOOTSTRAP_STORE });
const app = new TributaryApp(builder.build({ applicationId }), { applicationId, brokers, stateDir });
let restoredRecords = 0;
let restoredAt: number | undefined;
const started = performance.now();
app.on('restoration', (event) => {
  if (event.store !== BOOTSTRAP_STORE) return;
  restoredRecords = event.restoredRecords;
  if (event.done) restoredAt ??= performance.now();
});
try {
  await app.start();
  const result: BootstrapWorkerResult = {
    startToReadyMs: Math.round(performance.now() - started),
    startToRestoredMs: restoredAt === undefined ? undefined : Math.round(restoredAt - started),
    restoredRecords,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await app.stop();
}
