import { describe, expect, it } from 'vitest';
import { CliConfigError, CliUsageError } from '../errors.js';
import { CommandLine, envNameOf, renderOptions, type SettingSpec } from './settings.js';

const SPECS: readonly SettingSpec[] = [
  { flag: 'application-id', type: 'string', description: 'id' },
  { flag: 'brokers', type: 'string', description: 'brokers' },
  { flag: 'port', type: 'string', description: 'port' },
  { flag: 'verbose', type: 'boolean', description: 'more' },
  { flag: 'yes', type: 'boolean', env: false, description: 'act' },
  { flag: 'advertised-url', type: 'string', description: 'url' },
];

describe('CommandLine', () => {
  it('derives TRIBUTARY_* variable names from flags unless disabled', () => {
    expect(envNameOf(SPECS[0])).toBe('TRIBUTARY_APPLICATION_ID');
    expect(envNameOf(SPECS[4])).toBeUndefined();
  });

  it('takes flags over environment variables and falls back to the variables', () => {
    const line = CommandLine.parse('run', SPECS, ['mod.ts', '--port', '8080'], {
      TRIBUTARY_PORT: '9090',
      TRIBUTARY_BROKERS: 'a:1,b:2',
      TRIBUTARY_VERBOSE: 'yes',
      TRIBUTARY_YES: 'true',
    });
    expect(line.positionals).toEqual(['mod.ts']);
    expect(line.integer('port', { min: 0, max: 65535 }, 1)).toBe(8080);
    expect(line.source('port')).toBe('flag');
    expect(line.brokers('brokers', true)).toEqual(['a:1', 'b:2']);
    expect(line.source('brokers')).toBe('env');
    expect(line.boolean('verbose')).toBe(true);
    expect(line.boolean('yes')).toBe(false); // flag-only setting ignores the variable
    line.throwIfProblems();
  });

  it('collects every problem, named by where the value came from', () => {
    const line = CommandLine.parse('run', SPECS, ['--port', '70000', '--advertised-url', 'ftp://x'], {
      TRIBUTARY_BROKERS: 'nohost',
      TRIBUTARY_APPLICATION_ID: 'bad id!',
    });
    line.integer('port', { min: 0, max: 65535 }, 0);
    line.brokers('brokers', true);
    line.applicationId('application-id', true);
    line.httpUrl('advertised-url');
    let error: unknown;
    try {
      line.throwIfProblems();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CliConfigError);
    const problems = (error as CliConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^--port: "70000" must be an integer in 0\.\.65535/);
    expect(problems[1]).toMatch(/^TRIBUTARY_BROKERS: "nohost" is not a host:port address/);
    expect(problems[2]).toMatch(/^TRIBUTARY_APPLICATION_ID: "bad id!"/);
    expect(problems[3]).toMatch(/^--advertised-url: "ftp:\/\/x" must be an http\(s\) base URL/);
    expect((error as CliConfigError).code).toBe('TRIBUTARY_CLI_CONFIG_INVALID');
  });

  it('reports a missing required setting with both ways to give it', () => {
    const line = CommandLine.parse('reset', SPECS, [], {});
    line.brokers('brokers', true);
    expect(() => line.throwIfProblems()).toThrow(/--brokers \(or TRIBUTARY_BROKERS\): is required/);
  });

  it('rejects a variable that is not a boolean word', () => {
    const line = CommandLine.parse('run', SPECS, [], { TRIBUTARY_VERBOSE: 'maybe' });
    expect(() => line.throwIfProblems()).toThrow(/TRIBUTARY_VERBOSE: "maybe" is not a boolean/);
  });

  it('turns unknown flags and wrong positionals into usage errors', () => {
    expect(() => CommandLine.parse('run', SPECS, ['--nope'], {})).toThrow(CliUsageError);
    const line = CommandLine.parse('run', SPECS, ['a', 'b'], {});
    expect(() => line.expectPositionals(['module'])).toThrow(/unexpected argument "b"/);
    expect(() => CommandLine.parse('run', SPECS, [], {}).expectPositionals(['module'])).toThrow(/missing <module>/);
    expect(() => CommandLine.parse('run', SPECS, [], {}).expectPositionals(['module'], 1)).not.toThrow();
  });

  it('recognises --help and -h', () => {
    expect(CommandLine.parse('run', SPECS, ['--help'], {}).help).toBe(true);
    expect(CommandLine.parse('run', SPECS, ['-h'], {}).help).toBe(true);
    expect(CommandLine.parse('run', SPECS, [], {}).help).toBe(false);
  });

  it('renders every option with its variable in the help', () => {
    const text = renderOptions(SPECS);
    expect(text).toContain('--application-id <value>');
    expect(text).toContain('[env TRIBUTARY_APPLICATION_ID]');
    expect(text).toContain('--yes');
    expect(text).not.toContain('TRIBUTARY_YES');
    expect(text).toContain('--help, -h');
  });
});
