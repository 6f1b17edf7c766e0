import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliConfigError, CliUsageError } from '../../errors.js';
import { readRunSettings } from './run.js';

describe('readRunSettings', () => {
  it('builds TributaryApp options from flags and TRIBUTARY_* variables', () => {
    const settings = readRunSettings(['app.ts', '--port', '7071', '--state-dir', 'state/a', '--commit-interval-ms', '250'], {
      TRIBUTARY_BROKERS: 'k1:9092,k2:9092',
      TRIBUTARY_APPLICATION_ID: 'shop',
      TRIBUTARY_AUTH_TOKEN: 's3cret',
      TRIBUTARY_LOG_FORMAT: 'json',
    });
    if (settings === 'help') throw new Error('unexpected help');
    expect(settings.modulePath).toBe('app.ts');
    expect(settings.applicationId).toBe('shop');
    expect(settings.logFormat).toBe('json');
    expect(settings.logLevel).toBe('info');
    expect(settings.options).toEqual({
      kafka: { brokers: ['k1:9092', 'k2:9092'] },
      stateDir: resolve('state/a'),
      http: { host: '127.0.0.1', port: 7071, authToken: 's3cret', ui: true },
      processingGuarantee: 'at-least-once',
      commitIntervalMs: 250,
      sessionTimeoutMs: 30_000,
    });
  });

  it('passes the warm-up flags on with their defaults, and refuses bad values', () => {
    const defaults = readRunSettings(['app.ts', '--brokers', 'k:1'], {});
    if (defaults === 'help') throw new Error('unexpected help');
    // The library's defaults apply: nothing passed.
    expect(defaults.options).not.toHaveProperty('maxWarmupReplicas');
    const settings = readRunSettings(
      [
        'app.ts',
        '--brokers',
        'k:1',
        '--max-warmup-replicas',
        '0',
        '--acceptable-recovery-lag',
        '5',
        '--probing-rebalance-interval-ms',
        '2000',
      ],
      {},
    );
    if (settings === 'help') throw new Error('unexpected help');
    expect(settings.options).toMatchObject({ maxWarmupReplicas: 0, acceptableRecoveryLag: 5, probingRebalanceIntervalMs: 2000 });
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--max-warmup-replicas', '-1'], {})).toThrow(/--max-warmup-replicas/);
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--probing-rebalance-interval-ms', '0'], {})).toThrow(
      /--probing-rebalance-interval-ms/,
    );
  });

  it('passes --num-standby-replicas on, and refuses a negative count', () => {
    const settings = readRunSettings(['app.ts', '--brokers', 'k:1', '--num-standby-replicas', '1'], {});
    if (settings === 'help') throw new Error('unexpected help');
    expect(settings.options.numStandbyReplicas).toBe(1);
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--num-standby-replicas', '-1'], {})).toThrow(/--num-standby-replicas/);
  });

  it('--processing-guarantee exactly-once (or TRIBUTARY_PROCESSING_GUARANTEE) commits every 100 ms unless told; other values are refused', () => {
    const eos = readRunSettings(['app.ts', '--brokers', 'k:1', '--processing-guarantee', 'exactly-once'], {});
    if (eos === 'help') throw new Error('unexpected help');
    expect(eos.options).toMatchObject({ processingGuarantee: 'exactly-once', commitIntervalMs: 100 });
    const fromEnv = readRunSettings(['app.ts', '--brokers', 'k:1', '--commit-interval-ms', '300'], {
      TRIBUTARY_PROCESSING_GUARANTEE: 'exactly-once',
    });
    if (fromEnv === 'help') throw new Error('unexpected help');
    expect(fromEnv.options).toMatchObject({ processingGuarantee: 'exactly-once', commitIntervalMs: 300 });
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--processing-guarantee', 'exactly_once_v2'], {})).toThrow(
      /--processing-guarantee.*"exactly_once_v2" is not one of at-least-once, exactly-once/,
    );
  });

  it('turns the query server off with --no-http and refuses HTTP settings then', () => {
    const off = readRunSettings(['app.ts', '--brokers', 'k:1', '--no-http'], {});
    if (off === 'help') throw new Error('unexpected help');
    expect(off.options.http).toBeUndefined();
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--no-http', '--port', '1'], {})).toThrow(/--port: is set but --no-http/);
  });

  it('requires an advertised URL when listening on every interface', () => {
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--host', '0.0.0.0'], {})).toThrow(
      /--advertised-url \(or TRIBUTARY_ADVERTISED_URL\): is required when listening on 0\.0\.0\.0/,
    );
    const settings = readRunSettings(['app.ts', '--brokers', 'k:1', '--host', '0.0.0.0', '--advertised-url', 'http://node-1:7070/'], {});
    if (settings === 'help') throw new Error('unexpected help');
    expect(settings.options.http).toEqual({ host: '0.0.0.0', port: 7070, advertisedUrl: 'http://node-1:7070', ui: true });
  });

  it('turns the web console off with --no-ui (or TRIBUTARY_NO_UI), keeping the query server', () => {
    for (const [argv, env] of [
      [['app.ts', '--brokers', 'k:1', '--no-ui'], {}],
      [['app.ts', '--brokers', 'k:1'], { TRIBUTARY_NO_UI: 'true' }],
    ] as const) {
      const settings = readRunSettings(argv, env);
      if (settings === 'help') throw new Error('unexpected help');
      expect(settings.options.http).toEqual({ host: '127.0.0.1', port: 7070, ui: false });
    }
    expect(() => readRunSettings(['app.ts', '--brokers', 'k:1', '--no-http', '--no-ui'], {})).toThrow(/--no-ui: is set but --no-http/);
  });

  it('lists all problems at once', () => {
    const error = (() => {
      try {
        readRunSettings(['app.ts', '--log-level', 'loud', '--instance-id', 'a b'], { TRIBUTARY_SASL_USERNAME: 'u' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CliConfigError);
    const problems = (error as CliConfigError).problems.join('\n');
    expect(problems).toContain('--brokers (or TRIBUTARY_BROKERS): is required');
    expect(problems).toContain('--sasl-mechanism (or TRIBUTARY_SASL_MECHANISM): is required when a SASL user or password is given');
    expect(problems).toContain('--sasl-password (or TRIBUTARY_SASL_PASSWORD): is required with SASL');
    expect(problems).toContain('--instance-id: "a b"');
    expect(problems).toContain('--log-level: "loud" is not one of debug, info, warn, error');
  });

  it('needs exactly one module and answers --help', () => {
    expect(() => readRunSettings(['--brokers', 'k:1'], {})).toThrow(CliUsageError);
    expect(readRunSettings(['--help'], {})).toBe('help');
  });
});
