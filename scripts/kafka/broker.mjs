// A real single-node Kafka broker (KRaft) from Maven Central jars, no Docker. Plain Node ESM so CI, the CLI and
// TypeScript tests (typed by broker.d.mts) can all use it without a build step.
//
//   fetchJars(version)   -> downloads kafka_2.13 + logging backend into .kafka/<version>/libs (cached, marker file)
//   startBroker(options) -> formats a fresh temp log dir, spawns the broker detached, waits for a real admin call
//   stopBroker(pidOrHandle) -> SIGTERM, up to 20 s, then SIGKILL; removes the temp data dir when given a handle
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_KAFKA_VERSION = '3.9.1';
/** Kafka 4.x used by the contract-kafka4 project (4.2.0 and 4.3.1 also resolve on Maven Central). */
export const DEFAULT_KAFKA4_VERSION = '4.1.1';

const POM = join(REPO_ROOT, 'scripts', 'kafka', 'pom.xml');
const COMPLETE_MARKER = '.complete';
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 20_000;

export function kafkaCacheDir(version) {
  return join(REPO_ROOT, '.kafka', version);
}

function majorVersion(version) {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (!Number.isInteger(major) || major < 3) {
    throw new Error(
      `Unsupported Kafka version "${version}": use 3.x (e.g. ${DEFAULT_KAFKA_VERSION}) or 4.x (e.g. ${DEFAULT_KAFKA4_VERSION})`,
    );
  }
  return major;
}

/**
 * Downloads the broker's runtime jars with Maven into .kafka/<version>/libs. Skipped when a previous fetch completed
 * (marker file). Downloads into a temp dir first and renames, so an interrupted fetch never looks complete.
 * @returns {Promise<string>} the libs directory
 */
export async function fetchJars(version = DEFAULT_KAFKA_VERSION, { quiet = false } = {}) {
  const major = majorVersion(version);
  const cache = kafkaCacheDir(version);
  const libs = join(cache, 'libs');
  if (existsSync(join(libs, COMPLETE_MARKER))) return libs;

  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, 'libs-fetching-'));
  const args = [
    '-B',
    '-q',
    '-f',
    POM,
    ...(major >= 4 ? ['-Pkafka4'] : []),
    `-Dkafka.version=${version}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime',
    // Absolute: Maven resolves relative output paths against the POM's directory, not the cwd.
    `-DoutputDirectory=${staging}`,
  ];
  if (!quiet) console.error(`[kafka] fetching Kafka ${version} jars from Maven Central into ${libs}`);
  const result = await runProcess('mvn', args);
  if (result.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `mvn could not fetch Kafka ${version} (exit ${result.code}). Is Maven installed and Maven Central reachable?\n${tail(result.output, 40)}`,
    );
  }
  const coreJar = join(staging, `kafka_2.13-${version}.jar`);
  if (!existsSync(coreJar)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`mvn finished but ${coreJar} is missing; the fetch is incomplete`);
  }
  writeFileSync(join(staging, COMPLETE_MARKER), new Date().toISOString() + '\n');
  rmSync(libs, { recursive: true, force: true });
  renameSync(staging, libs);
  return libs;
}

function runProcess(command, args) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolvePromise({ code: -1, output: output + String(error) }));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

/** A free TCP port on 127.0.0.1 (the OS picks it; tiny race until the broker binds it, acceptable for tests). */
export function findFreePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

/** KRaft cluster id: 16 random bytes, base64url without padding, not starting with '-' (the CLI would read a flag). */
export function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function serverProperties({ port, controllerPort, logDirs }) {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `log.dirs=${logDirs}`,
    // single node: replication factor 1 everywhere, 1 partition for internal topics (faster start)
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'auto.create.topics.enable=false',
    // groups: no 3 s join delay, allow short session timeouts in tests
    'group.initial.rebalance.delay.ms=0',
    'group.min.session.timeout.ms=1000',
    // compaction observable within seconds (topics still need segment.ms etc., see notes)
    'log.initial.task.delay.ms=0',
    'log.cleaner.backoff.ms=500',
    'log.cleaner.min.cleanable.ratio=0.01',
    'log.cleaner.delete.retention.ms=1000',
    'log.cleaner.dedupe.buffer.size=16777216',
    'log.cleaner.threads=1',
    // 2-core machines
    'num.network.threads=2',
    'num.io.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'background.threads=2',
    '',
  ].join('\n');
}

function writeLoggingConfig(dir, major) {
  if (major >= 4) {
    const file = join(dir, 'log4j2.properties');
    writeFileSync(
      file,
      [
        'status = warn',
        'appender.stdout.type = Console',
        'appender.stdout.name = STDOUT',
        'appender.stdout.layout.type = PatternLayout',
        'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = INFO',
        'rootLogger.appenderRefs = stdout',
        'rootLogger.appenderRef.stdout.ref = STDOUT',
        'logger.request.name = kafka.request.logger',
        'logger.request.level = WARN',
        'logger.statechange.name = state.change.logger',
        'logger.statechange.level = WARN',
        '',
      ].join('\n'),
    );
    return [`-Dlog4j2.configurationFile=${file}`];
  }
  const file = join(dir, 'log4j.properties');
  writeFileSync(
    file,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.state.change.logger=WARN',
      '',
    ].join('\n'),
  );
  return [`-Dlog4j.configuration=file:${file}`];
}

/** Keeps the newest `keep` broker logs of earlier runs (each test run writes one). */
function pruneOldLogs(dir, keep) {
  const logs = readdirSync(dir)
    .filter((name) => name.startsWith('broker-') && name.endsWith('.log'))
    .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of logs.slice(keep)) rmSync(old.path, { force: true });
}

function javaBinary() {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** True while `pid` is a live process (zombies count as dead: an orphaned broker may wait for a reaper). */
export function isRunning(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error?.code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no procfs (macOS): trust kill(0)
  }
}

function readLogTail(logFile, lines = 60) {
  try {
    return tail(readFileSync(logFile, 'utf8'), lines);
  } catch {
    return '(no log)';
  }
}

function tail(text, lines) {
  return text.split('\n').slice(-lines).join('\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Formats a fresh KRaft log dir and starts a broker detached (stdout/stderr to `logFile`), then waits until an admin
 * `describeCluster` and a consumer-group call (the group coordinator is loaded) succeed. On failure the process is
 * killed and the error carries the log tail.
 */
export async function startBroker(options = {}) {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const major = majorVersion(version);
  const began = Date.now();
  const libs = await fetchJars(version, { quiet: options.quiet });
  const port = options.port ?? (await findFreePort());
  let controllerPort = options.controllerPort ?? (await findFreePort());
  while (controllerPort === port) controllerPort = await findFreePort();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `tributary-kafka-${version}-`));
  mkdirSync(dataDir, { recursive: true });
  const logsDir = join(REPO_ROOT, '.kafka', 'logs');
  mkdirSync(logsDir, { recursive: true });
  pruneOldLogs(logsDir, 20);
  const logFile = options.logFile ?? join(logsDir, `broker-${version}-${port}-${began}.log`);
  mkdirSync(dirname(logFile), { recursive: true });

  const propertiesFile = join(dataDir, 'server.properties');
  // Extra `key=value` lines come last: a later key wins when the broker reads the file.
  const extra = (options.properties ?? []).map((line) => `${line}\n`).join('');
  writeFileSync(propertiesFile, serverProperties({ port, controllerPort, logDirs: join(dataDir, 'kraft-logs') }) + extra);
  const loggingFlags = writeLoggingConfig(dataDir, major);
  const classpath = `${libs}/*`;

  // A reused dataDir (the CLI keeps topics across restarts) is already formatted with its own cluster id; formatting
  // again with a new id fails even with --ignore-formatted.
  const alreadyFormatted = existsSync(join(dataDir, 'kraft-logs', 'meta.properties'));
  const format = alreadyFormatted
    ? { status: 0 }
    : spawnSync(
        javaBinary(),
        [
          '-Xmx256m',
          '-XX:TieredStopAtLevel=1',
          ...loggingFlags,
          '-cp',
          classpath,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          newClusterId(),
          '-c',
          propertiesFile,
          '--ignore-formatted',
        ],
        { encoding: 'utf8' },
      );
  if (format.status !== 0) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    const output = tail(`${format.stdout ?? ''}\n${format.stderr ?? ''}${format.error ? String(format.error) : ''}`, 20);
    throw new Error(`Formatting KRaft storage in ${dataDir} failed (exit ${format.status}):\n${output}`);
  }

  const logFd = openSync(logFile, 'a');
  const child = spawn(
    javaBinary(),
    [
      '-Xms512m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      '-Djava.net.preferIPv4Stack=true',
      ...loggingFlags,
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesFile,
    ],
    { detached: true, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`Could not spawn ${javaBinary()}; is Java 17+ installed?`);

  const brokers = `127.0.0.1:${port}`;
  const handle = { brokers, port, controllerPort, pid, logFile, dataDir, version, startMillis: 0, ownsDataDir: !options.dataDir };
  try {
    await waitUntilReady(brokers, () => exited, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  } catch (error) {
    await stopBroker(handle);
    throw new Error(`Kafka ${version} broker did not become ready: ${error.message}\n--- ${logFile} (tail) ---\n${readLogTail(logFile)}`);
  }
  handle.startMillis = Date.now() - began;
  return handle;
}

async function waitUntilReady(brokers, exitState, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'tributary-broker-probe',
    brokers: [brokers],
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  let lastError = 'no attempt yet';
  while (Date.now() < deadline) {
    const state = exitState();
    if (state) throw new Error(`the broker process exited (code ${state.code}, signal ${state.signal})`);
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0 || cluster.controller === null) {
        lastError = 'cluster has no controller yet';
      } else {
        // Ready means consumer groups work too: the first group call creates __consumer_offsets and the coordinator
        // then loads it; until it has, consumers crash on "The coordinator is loading".
        await admin.describeGroups(['tributary-broker-probe']);
        return;
      }
    } catch (error) {
      lastError = error?.message ?? String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms (last error: ${lastError})`);
}

/**
 * Stops a broker: SIGTERM (clean shutdown), SIGKILL after 20 s. Given a handle from startBroker, also removes the
 * temp data dir it created. Safe to call twice.
 */
export async function stopBroker(pidOrHandle, { graceMs = STOP_GRACE_MS } = {}) {
  const handle = typeof pidOrHandle === 'number' ? { pid: pidOrHandle } : pidOrHandle;
  const { pid } = handle;
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceMs;
    while (isRunning(pid) && Date.now() < deadline) await sleep(100);
    if (isRunning(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      const killDeadline = Date.now() + 5000;
      while (isRunning(pid) && Date.now() < killDeadline) await sleep(50);
    }
  }
  if (handle.ownsDataDir && handle.dataDir) rmSync(handle.dataDir, { recursive: true, force: true });
}
