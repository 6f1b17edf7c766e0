/**
 * `tributary run <module>`: runs a topology module as one application instance until SIGTERM/SIGINT (graceful
 * stop; a second signal exits at once). Settings come from flags or TRIBUTARY_* variables.
 */
import { resolve } from 'node:path';
import { AppFailedError, CliConfigError, TributaryError } from '../../errors.js';
import { TributaryApp } from '../../processor/runtime/app.js';
import { PROCESSING_GUARANTEES, type TributaryAppOptions } from '../../processor/runtime/options.js';
import { ExitCode, type CliCommand } from '../command.js';
import { KAFKA_SETTINGS, readKafkaSettings } from '../kafka-settings.js';
import { createCliLogger, LOG_FORMATS, LOG_LEVELS } from '../log.js';
import { ProgressDisplay } from '../progress.js';
import { RestorationProgress } from '../restoration-progress.js';
import { CommandLine, renderOptions, type SettingSpec } from '../settings.js';
import { loadTopology } from '../topology-module.js';

const DEFAULT_STATE_DIR = '.tributary/state';
const DEFAULT_PORT = 7070;

const SETTINGS: readonly SettingSpec[] = [
  {
    flag: 'application-id',
    type: 'string',
    placeholder: '<id>',
    description: "Consumer group id and internal topic prefix; default: the topology's",
  },
  ...KAFKA_SETTINGS,
  {
    flag: 'state-dir',
    type: 'string',
    placeholder: '<dir>',
    description: 'Directory of the local stores (one running instance per directory)',
    defaultText: DEFAULT_STATE_DIR,
  },
  {
    flag: 'host',
    type: 'string',
    placeholder: '<address>',
    description: 'Interface the query server listens on',
    defaultText: '127.0.0.1',
  },
  {
    flag: 'port',
    type: 'string',
    placeholder: '<port>',
    description: 'Query server port (0: any free port)',
    defaultText: String(DEFAULT_PORT),
  },
  {
    flag: 'advertised-url',
    type: 'string',
    placeholder: '<url>',
    description: 'URL other instances use to reach this one',
    defaultText: 'http://<host>:<port>',
  },
  {
    flag: 'auth-token',
    type: 'string',
    placeholder: '<token>',
    description: 'Bearer token required by the query server (prefer the variable)',
  },
  { flag: 'no-http', type: 'boolean', description: 'Do not start the query server' },
  { flag: 'no-ui', type: 'boolean', description: 'Do not serve the web console at /ui/ (the query routes stay)' },
  {
    flag: 'instance-id',
    type: 'string',
    placeholder: '<id>',
    description: 'Stable id of this instance',
    defaultText: 'random, kept in the state dir',
  },
  {
    flag: 'processing-guarantee',
    type: 'string',
    placeholder: '<at-least-once|exactly-once>',
    description: 'exactly-once: outputs and input offsets commit in one Kafka transaction per task',
    defaultText: 'at-least-once',
  },
  {
    flag: 'commit-interval-ms',
    type: 'string',
    placeholder: '<ms>',
    description: 'How often input offsets are committed',
    defaultText: '1000 (100 under exactly-once)',
  },
  { flag: 'session-timeout-ms', type: 'string', placeholder: '<ms>', description: 'Consumer group session timeout', defaultText: '30000' },
  {
    flag: 'num-standby-replicas',
    type: 'string',
    placeholder: '<n>',
    description: 'Standby replicas per task on other instances (same on every instance)',
    defaultText: '0',
  },
  {
    flag: 'max-warmup-replicas',
    type: 'string',
    placeholder: '<n>',
    description: 'Warm-up replicas in the group at once before a stateful task moves; 0 moves tasks at once',
    defaultText: '2',
  },
  {
    flag: 'acceptable-recovery-lag',
    type: 'string',
    placeholder: '<records>',
    description: 'Records an instance may be behind on a task and count as caught up (warm-ups)',
    defaultText: '10000',
  },
  {
    flag: 'probing-rebalance-interval-ms',
    type: 'string',
    placeholder: '<ms>',
    description: 'How often a rebalance is asked for while warm-ups exist',
    defaultText: '60000',
  },
  { flag: 'dlq-topic', type: 'string', placeholder: '<topic>', description: 'Dead-letter topic', defaultText: '<application-id>-dlq' },
  { flag: 'log-level', type: 'string', placeholder: '<debug|info|warn|error>', description: 'Lowest level logged', defaultText: 'info' },
  {
    flag: 'log-format',
    type: 'string',
    placeholder: '<text|json>',
    description: 'Log line format (stderr)',
    defaultText: 'text on a terminal, else json',
  },
];

const usage = `Usage: tributary run <module> --brokers <host:port,...> [options]

Runs the topology exported by <module> (.ts via tsx, or .js) as one instance of the application. Start the same
module with the same application id elsewhere to share the work; each instance answers queries for all of them.
The module exports a Topology (default export or \`topology\`), or a function (maybe async) that receives
{ applicationId } and returns one. Stops gracefully on SIGTERM/SIGINT (a second signal exits immediately).
Every option can also be set by its TRIBUTARY_* variable; a flag wins over the variable.
Memory: run Node with --max-semi-space-size=8 --heap-growing-percent=150 (node <both flags> $(command -v tributary)
run ...; NODE_OPTIONS takes only the first): a quarter less peak RSS on a bootstrap, 7-24% less in a join, for
little CPU (README "Memory").

Options:
${renderOptions(SETTINGS)}

Examples:
  tributary run examples/order-enrichment.ts --brokers 127.0.0.1:9092 --state-dir .state/a --port 7071
  TRIBUTARY_BROKERS=kafka:9092 TRIBUTARY_PORT=8080 tributary run dist/topology.js --host 0.0.0.0 \\
      --advertised-url http://tributary-1:8080`;

interface RunSettings {
  readonly modulePath: string;
  readonly applicationId: string | undefined;
  readonly options: Omit<TributaryAppOptions, 'logger' | 'applicationId'>;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFormat: (typeof LOG_FORMATS)[number] | undefined;
}

/** Reads and validates every setting (all problems at once). Exported for the tests. */
export function readRunSettings(argv: readonly string[], env: NodeJS.ProcessEnv): RunSettings | 'help' {
  const line = CommandLine.parse('run', SETTINGS, argv, env);
  if (line.help) return 'help';
  line.expectPositionals(['module']);
  const applicationId = line.applicationId('application-id', false);
  const kafka = readKafkaSettings(line);
  const stateDir = resolve(line.string('state-dir') ?? DEFAULT_STATE_DIR);
  const noHttp = line.boolean('no-http');
  const noUi = line.boolean('no-ui');
  const host = line.string('host') ?? '127.0.0.1';
  const port = line.integer('port', { min: 0, max: 65_535 }, DEFAULT_PORT);
  const advertisedUrl = line.httpUrl('advertised-url');
  const authToken = line.string('auth-token');
  if (noHttp) {
    for (const flag of ['port', 'advertised-url', 'auth-token', 'host', 'no-ui']) {
      if (line.source(flag) !== undefined) line.problem(flag, 'is set but --no-http turns the query server off');
    }
  }
  if (!noHttp && advertisedUrl === undefined && (host === '0.0.0.0' || host === '::')) {
    line.problem('advertised-url', `is required when listening on ${host}: other instances need an address they can reach`);
  }
  const instanceId = line.string('instance-id');
  if (instanceId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(instanceId)) {
    line.problem('instance-id', `"${instanceId}" must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  const processingGuarantee = line.oneOf('processing-guarantee', PROCESSING_GUARANTEES, 'at-least-once');
  const commitIntervalMs = line.integer(
    'commit-interval-ms',
    { min: 1, max: 3_600_000 },
    processingGuarantee === 'exactly-once' ? 100 : 1000,
  );
  const sessionTimeoutMs = line.integer('session-timeout-ms', { min: 1000, max: 3_600_000 }, 30_000);
  const numStandbyReplicas = line.integer('num-standby-replicas', { min: 0, max: 10 }, 0);
  const maxWarmupReplicas = line.integer('max-warmup-replicas', { min: 0, max: 1000 }, 2);
  const acceptableRecoveryLag = line.integer('acceptable-recovery-lag', { min: 0, max: Number.MAX_SAFE_INTEGER }, 10_000);
  const probingRebalanceIntervalMs = line.integer('probing-rebalance-interval-ms', { min: 1, max: 86_400_000 }, 60_000);
  const dlqTopic = line.string('dlq-topic');
  const logLevel = line.oneOf('log-level', LOG_LEVELS, 'info');
  const logFormat = line.string('log-format') === undefined ? undefined : line.oneOf('log-format', LOG_FORMATS, 'text');
  line.throwIfProblems();
  return {
    modulePath: line.positionals[0],
    applicationId,
    logLevel,
    logFormat,
    options: {
      kafka,
      stateDir,
      ...(noHttp
        ? {}
        : { http: { host, port, ui: !noUi, ...(advertisedUrl ? { advertisedUrl } : {}), ...(authToken ? { authToken } : {}) } }),
      ...(instanceId ? { instanceId } : {}),
      processingGuarantee,
      commitIntervalMs,
      sessionTimeoutMs,
      ...(numStandbyReplicas > 0 ? { numStandbyReplicas } : {}),
      // Only when they differ from the library's defaults (the same values), like the flags above.
      ...(maxWarmupReplicas !== 2 ? { maxWarmupReplicas } : {}),
      ...(acceptableRecoveryLag !== 10_000 ? { acceptableRecoveryLag } : {}),
      ...(probingRebalanceIntervalMs !== 60_000 ? { probingRebalanceIntervalMs } : {}),
      ...(dlqTopic ? { dlqTopic } : {}),
    },
  };
}

const noUiOf = (settings: RunSettings): boolean => settings.options.http?.ui === false;

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Run a topology module as one instance of the application',
  usage,
  async run(argv) {
    const settings = readRunSettings(argv, process.env);
    if (settings === 'help') {
      process.stdout.write(`${usage}\n`);
      return ExitCode.ok;
    }
    const tty = process.stderr.isTTY === true;
    const logger = createCliLogger({
      level: settings.logLevel,
      format: settings.logFormat ?? (tty ? 'text' : 'json'),
      writeLine: (text) => display.writeLine(text),
    });
    // Off a terminal, progress becomes ordinary log lines (JSON by default), so log files stay parseable.
    const display = new ProgressDisplay(process.stderr, { tty, writePlain: (line) => logger.info(line) });

    const topology = await loadTopology(settings.modulePath, { applicationId: settings.applicationId });
    if (settings.applicationId !== undefined && topology.applicationId !== settings.applicationId) {
      throw new CliConfigError('run', [
        `--application-id is "${settings.applicationId}" but ${settings.modulePath} built its topology for "${topology.applicationId}"; ` +
          'export a function that passes the applicationId it receives to builder.build(), or drop --application-id',
      ]);
    }
    const app = new TributaryApp(topology, { ...settings.options, applicationId: topology.applicationId, logger });
    const restoration = new RestorationProgress(display);
    app.on('restoration', (event) => restoration.onEvent(event));
    app.on('assignment', (event) => logger.info('assignment', { tasks: event.tasks.join(',') || '(none)', members: event.members }));

    const finished = new Promise<'stopped' | 'failed'>((resolveFinished) => {
      app.on('state', ({ to }) => {
        if (to === 'stopped' || to === 'failed') resolveFinished(to);
      });
    });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn(`received ${signal} again; exiting without a graceful stop`);
        process.exit(ExitCode.interrupted);
      }
      logger.info(`received ${signal}; stopping gracefully (send it again to exit at once)`);
      void app.stop().catch((error: unknown) => logger.error('graceful stop failed', { error }));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      logger.info('starting', { applicationId: topology.applicationId, module: settings.modulePath, stateDir: settings.options.stateDir });
      try {
        await app.start();
      } catch (error) {
        await app.stop().catch(() => undefined);
        throw error;
      }
      if (app.state === 'running' || app.state === 'rebalancing') {
        logger.info('running', {
          instanceId: app.instanceId,
          url: app.url || '(no query server)',
          ...(app.url !== '' && !noUiOf(settings) ? { console: `${app.url}/ui/` } : {}),
        });
      }
      const end = await finished;
      if (end === 'failed') {
        await app.stop().catch(() => undefined);
        const cause = app.failureCause;
        throw cause instanceof TributaryError ? cause : new AppFailedError({ cause });
      }
      logger.info('stopped');
      return ExitCode.ok;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
