import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnswerParser, getRequest } from './http-raw-pool.js';

function answer(status: number, body: string, headerName = 'content-length'): string {
  return `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\n${headerName}: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`;
}

function parseAll(chunks: readonly Buffer[]): number[] {
  const parser = new AnswerParser();
  const statuses: number[] = [];
  for (const chunk of chunks) parser.feed(chunk, (status) => statuses.push(status));
  return statuses;
}

describe('AnswerParser', () => {
  it('reads answers back to back, bodies of any length including none', () => {
    const bytes = Buffer.from(answer(200, '{"key":"a","value":1}') + answer(404, '') + answer(503, 'x'.repeat(3000)), 'latin1');
    expect(parseAll([bytes])).toEqual([200, 404, 503]);
  });

  it('finds the answers whatever the stream is cut into', () => {
    const answers = fc.array(
      fc.record({
        status: fc.constantFrom(200, 404, 500, 503),
        body: fc.string({ maxLength: 300 }),
        name: fc.constantFrom('content-length', 'Content-Length'),
      }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(answers, fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 }), (list, cuts) => {
        const bytes = Buffer.concat(list.map(({ status, body, name }) => Buffer.from(answer(status, body, name), 'utf8')));
        const chunks: Buffer[] = [];
        let at = 0;
        for (const cut of cuts) {
          if (at >= bytes.length) break;
          chunks.push(bytes.subarray(at, at + cut));
          at += cut;
        }
        if (at < bytes.length) chunks.push(bytes.subarray(at));
        expect(parseAll(chunks)).toEqual(list.map(({ status }) => status));
      }),
    );
  });

  it('refuses an answer it cannot frame', () => {
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'latin1');
    expect(() => parseAll([chunked])).toThrow(/content-length/);
  });
});

describe('getRequest', () => {
  it('is a keep-alive GET with the host', () => {
    expect(getRequest('127.0.0.1:8080', '/stores/s/keys/a%2Fb').toString('latin1')).toBe(
      'GET /stores/s/keys/a%2Fb HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n',
    );
  });
});
