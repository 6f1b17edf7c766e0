import { describe, expect, it } from 'vitest';
import { createCliLogger } from './log.js';

describe('createCliLogger', () => {
  it('writes one parseable JSON object per line with level names, message and fields; drops lines below the level', () => {
    const lines: string[] = [];
    const logger = createCliLogger({ level: 'info', format: 'json', writeLine: (line) => lines.push(line), base: { app: 'a' } });
    logger.debug('hidden');
    logger.info('assignment', { tasks: '0_1' });
    logger.error('failed', { error: Object.assign(new Error('boom'), { code: 'TRIBUTARY_X' }) });
    expect(lines).toHaveLength(2);
    const [info, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(info).toMatchObject({ level: 'info', msg: 'assignment', tasks: '0_1', app: 'a', pid: process.pid });
    expect(error).toMatchObject({ level: 'error', msg: 'failed', error: { message: 'boom', code: 'TRIBUTARY_X' } });
  });

  it('writes text as one line per entry, errors as class, code and message', () => {
    const lines: string[] = [];
    const logger = createCliLogger({ level: 'debug', format: 'text', writeLine: (line) => lines.push(line) });
    logger.debug('fetch', { partition: 3 });
    logger.warn('oops', { error: Object.assign(new TypeError('bad'), { code: 'E1' }) });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: fetch \{"partition":3\}$/);
    expect(lines[1]).toContain('WARN: oops');
    expect(lines[1]).toContain('TypeError [E1]: bad');
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
  });
});
