/**
 * The error catalogue: every error class has a stable code of its own, documented once in docs/errors.md (the query
 * server's HTTP codes in http-query/README.md, checked by http-query/error-codes.test.ts); and how messages quote causes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import { AppFailedError, AppNotRunningError, DeadLetterReplayError, OffsetCommitError, ProcessingError, TributaryError } from './errors.js';
import { QUERY_ERROR_STATUS } from './http-query/error-codes.js';

const root = dirname(fileURLToPath(import.meta.url));
const CODE = /'(TRIBUTARY_[A-Z0-9_]+)'/g;
/** Classes that take the code as a parameter: their subclasses fix it. */
const GENERIC = new Set(['TributaryError', 'QueryServerError']);

interface ErrorClass {
  readonly name: string;
  readonly codes: readonly string[];
}

/** `export class X extends Y { ... }` blocks of errors.ts with the code literals in each. */
function errorClasses(): ErrorClass[] {
  const source = readFileSync(join(root, 'errors.ts'), 'utf8');
  return [...source.matchAll(/^export class (\w+)(?: extends \w+)? \{([\s\S]*?)^\}$/gm)].map(([, name, body]) => ({
    name,
    codes: [...body.matchAll(CODE)].map(([, code]) => code),
  }));
}

interface DocumentedCode {
  readonly code: string;
  readonly section: string;
}

/** `### \`CODE\`` sections of docs/errors.md. */
function documentedCodes(): DocumentedCode[] {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  return doc
    .split(/^(?=#{2,3} )/m)
    .map((part) => /^### `([^`]+)`\n([\s\S]*)$/.exec(part))
    .filter((match) => match !== null)
    .map(([, code, section]) => ({ code, section }));
}

const isQueryAnswerCode = (code: string): boolean => Object.hasOwn(QUERY_ERROR_STATUS, code);

describe('error catalogue', () => {
  const classes = errorClasses();
  const codes = classes.flatMap((c) => c.codes);

  it('every exported error class extends TributaryError and is found in errors.ts', () => {
    const exported = Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(exported.length).toBeGreaterThan(40);
    for (const [name, value] of exported) expect(value === TributaryError || value.prototype instanceof TributaryError, name).toBe(true);
    expect(classes.map((c) => c.name).sort()).toEqual(exported.map(([name]) => name).sort());
  });

  it('every class but the generic bases has a code; every code is TRIBUTARY_* and belongs to one class only', () => {
    expect(classes.filter((c) => !GENERIC.has(c.name) && c.codes.length === 0).map((c) => c.name)).toEqual([]);
    expect(codes.filter((code) => !/^TRIBUTARY_[A-Z0-9]+(_[A-Z0-9]+)*$/.test(code))).toEqual([]);
    expect(codes.filter((code, i) => codes.indexOf(code) !== i)).toEqual([]);
  });

  it('docs/errors.md documents every code once, with its class, what it means and what to do', () => {
    const documented = documentedCodes();
    const names = documented.map((d) => d.code);
    expect(names.filter((code, i) => names.indexOf(code) !== i)).toEqual([]);
    expect(codes.filter((code) => !isQueryAnswerCode(code) && !names.includes(code))).toEqual([]);
    // Listed but not thrown (renamed or removed), or an HTTP answer code that belongs in http-query/README.md.
    expect(names.filter((code) => !codes.includes(code) || isQueryAnswerCode(code))).toEqual([]);
    for (const { code, section } of documented) {
      const owner = classes.find((c) => c.codes.includes(code));
      expect(section, code).toContain(`\`${owner?.name}\``);
      expect(section, code).toMatch(/\*\*What it means:\*\* \S/);
      expect(section, code).toMatch(/\*\*What to do:\*\* \S/);
    }
  });

  it('docs/errors.md links the query server codes, all of which errors.ts or the server throws', () => {
    expect(readFileSync(join(root, 'docs', 'errors.md'), 'utf8')).toContain('(../http-query/README.md#errors)');
    expect(codes.filter((code) => code.startsWith('TRIBUTARY_QUERY_') && !isQueryAnswerCode(code))).toEqual([
      'TRIBUTARY_QUERY_SERVER_OPTIONS_INVALID',
    ]);
  });
});

describe('how errors quote their cause', () => {
  const at = { topic: 'orders', partition: 1, offset: 7 };

  it("an Error cause by its message, or with its class name where the cause's kind matters", () => {
    expect(new ProcessingError('KSTREAM-MAP-0000000001', at, { cause: new RangeError('bad total') }).message).toContain(
      'orders:1@7: bad total. Fix the function',
    );
    expect(new AppFailedError({ cause: new RangeError('bad total') }).message).toContain('restart): RangeError: bad total. Fix');
  });

  it('anything else thrown by String(), or not at all where only an Error adds information', () => {
    expect(new OffsetCommitError('shop', { cause: 'socket closed' }).message).toContain('failed: socket closed. Nothing was lost');
    expect(new AppNotRunningError('failed', { cause: 'socket closed' }).message).toBe(
      "TributaryApp ended up failed instead of running. Check the 'error' events and the log, fix the cause and start a new app.",
    );
    expect(new AppNotRunningError('failed', { cause: new Error('no brokers') }).message).toContain('instead of running: no brokers.');
    expect(new DeadLetterReplayError('reading the DLQ', { cause: new Error('timeout') }).message).toContain(
      'failed: reading the DLQ: timeout. Run the replay again',
    );
  });

  it('keeps the cause itself for the stack trace', () => {
    const cause = new Error('timeout');
    const error = new DeadLetterReplayError('reading the DLQ', { cause });
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error.name).toBe('DeadLetterReplayError');
  });
});
