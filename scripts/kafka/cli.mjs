// Local Kafka for people: `npm run kafka:start` / `npm run kafka:stop` / `node scripts/kafka/cli.mjs status`.
// Env: KAFKA_VERSION (default 3.9.1), KAFKA_PORT (default 9092). PID, state and log live in .kafka/run/.
// Topics survive stop/start (data in .kafka/run/data-<version>); `stop --clean` deletes them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KAFKA_VERSION, REPO_ROOT, isRunning, startBroker, stopBroker } from './broker.mjs';

const RUN_DIR = join(REPO_ROOT, '.kafka', 'run');
const PID_FILE = join(RUN_DIR, 'broker.pid');
const STATE_FILE = join(RUN_DIR, 'broker.json');

function readState() {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number.parseInt(readFileSync(PID_FILE, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let details = {};
  try {
    details = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    // PID file without details: still stoppable
  }
  return { ...details, pid };
}

async function start() {
  const current = readState();
  if (current && isRunning(current.pid)) {
    console.log(`Kafka ${current.version ?? ''} already running (pid ${current.pid}) at ${current.brokers ?? '?'}`);
    console.log(current.brokers ?? '');
    return;
  }
  const version = process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const port = process.env.KAFKA_PORT ? Number.parseInt(process.env.KAFKA_PORT, 10) : 9092;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`KAFKA_PORT=${process.env.KAFKA_PORT} is not a port number`);
  mkdirSync(RUN_DIR, { recursive: true });
  const logFile = join(RUN_DIR, 'broker.log');
  const broker = await startBroker({ version, port, dataDir: join(RUN_DIR, `data-${version}`), logFile });
  writeFileSync(PID_FILE, `${broker.pid}\n`);
  writeFileSync(STATE_FILE, JSON.stringify({ brokers: broker.brokers, version, logFile, dataDir: broker.dataDir }, null, 2) + '\n');
  console.error(`Kafka ${version} started in ${broker.startMillis} ms (pid ${broker.pid}, log ${logFile}). Stop with: npm run kafka:stop`);
  console.log(broker.brokers);
}

async function stop(clean) {
  const current = readState();
  if (!current) {
    console.log('No broker PID file in .kafka/run: nothing to stop');
  } else {
    await stopBroker(current.pid);
    console.log(`Stopped Kafka (pid ${current.pid})`);
  }
  rmSync(PID_FILE, { force: true });
  if (clean && existsSync(RUN_DIR)) {
    for (const name of readdirSync(RUN_DIR).filter((n) => n.startsWith('data-'))) {
      rmSync(join(RUN_DIR, name), { recursive: true, force: true });
    }
    console.log('Removed broker data');
  }
  rmSync(STATE_FILE, { force: true });
}

function status() {
  const current = readState();
  if (current && isRunning(current.pid)) {
    console.log(`running: Kafka ${current.version ?? ''} pid ${current.pid} at ${current.brokers ?? '?'} (log ${current.logFile ?? '?'})`);
  } else {
    console.log('stopped');
    process.exitCode = 3;
  }
}

const [command, ...flags] = process.argv.slice(2);
try {
  if (command === 'start') await start();
  else if (command === 'stop') await stop(flags.includes('--clean'));
  else if (command === 'status') status();
  else {
    console.error('usage: node scripts/kafka/cli.mjs start | stop [--clean] | status   (env KAFKA_VERSION, KAFKA_PORT)');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
