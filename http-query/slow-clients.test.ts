/** The query server against clients that trickle bytes, over raw sockets to a real listening server. */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryServerOptionsError } from '../errors.js';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

// Short bounds so the test is quick; the trickle below would keep a connection open far longer without them.
const REQUEST_TIMEOUT_MS = 400;
const HEADERS_TIMEOUT_MS = 200;
const TRICKLE_EVERY_MS = 20;
/** Bytes sent one at a time before the test gives up: at TRICKLE_EVERY_MS, ten times the request bound. */
const MAX_TRICKLES = Math.ceil((REQUEST_TIMEOUT_MS * 10) / TRICKLE_EVERY_MS);

let server: QueryServer;
let port: number;

beforeAll(async () => {
  const data = new FakeClusterData();
  data.addStore('counts', 'partitioned', 2);
  data.load('counts', [['a', 1]]);
  server = createQueryServer({
    source: new FakeQuerySource(data, 'self'),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
  });
  port = Number(new URL(await server.listen()).port);
});

afterAll(async () => {
  await server.close();
});

interface Outcome {
  /** Everything the server sent before the connection closed. */
  readonly received: string;
  /** How many trickled bytes the server took before it closed the connection. */
  readonly trickled: number;
}

/**
 * Sends `head` at once, then one byte of `trickle` (repeated as needed) every TRICKLE_EVERY_MS, and resolves once
 * the server closes the connection. Rejects if the server is still reading after MAX_TRICKLES bytes.
 */
function trickleUntilClosed(
  head: string,
  trickle: string,
  to: number = port,
  { closeAfterResponse = false }: { closeAfterResponse?: boolean } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port: to });
    let received = '';
    let trickled = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      // A response that does not close the connection (keep-alive): stop once its body is complete.
      if (closeAfterResponse && /\r\n\r\n\{.*\}$/s.test(received)) socket.destroy();
    });
    // A reset after the server's answer is a close too.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ received, trickled });
    });
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (trickled >= MAX_TRICKLES) {
          clearInterval(timer);
          socket.destroy();
          reject(new Error(`the server still held the connection after ${trickled} trickled bytes`));
          return;
        }
        if (socket.writable) socket.write(trickle[trickled % trickle.length]);
        trickled++;
      }, TRICKLE_EVERY_MS);
    });
  });
}

/** The body of a raw HTTP response is exactly the documented `{ error: { code, message } }`. */
function expectErrorBody(response: string, code: string): void {
  const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/\S/);
}

describe('slow clients', () => {
  it('a client trickling its headers gets 408 and the connection closes', async () => {
    const outcome = await trickleUntilClosed('GET /stores HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'abcdef');
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorBody(outcome.received, 'TRIBUTARY_QUERY_REQUEST_TIMEOUT');
    expect(outcome.trickled).toBeGreaterThan(0);
  });

  it('a client trickling its body gets 408 and the connection closes', async () => {
    const head = 'POST /stores HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
    const outcome = await trickleUntilClosed(head, ' ');
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorBody(outcome.received, 'TRIBUTARY_QUERY_REQUEST_TIMEOUT');
    expect(outcome.trickled).toBeGreaterThan(0);
  });

  it('with auth on, a slow body with a valid token still gets 408; without a token 401 comes at once', async () => {
    const secured = createQueryServer({
      source: new FakeQuerySource(new FakeClusterData(), 'self'),
      authToken: 's3cret',
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
    });
    const securedPort = Number(new URL(await secured.listen()).port);
    try {
      const head = (authorization: string) =>
        `POST /stores HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      const slow = await trickleUntilClosed(head('Authorization: bearer s3cret\r\n'), ' ', securedPort);
      expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
      expectErrorBody(slow.received, 'TRIBUTARY_QUERY_REQUEST_TIMEOUT');
      const anonymous = await trickleUntilClosed(head(''), ' ', securedPort, { closeAfterResponse: true });
      expect(anonymous.received).toMatch(/^HTTP\/1\.1 401 /);
      expectErrorBody(anonymous.received, 'TRIBUTARY_QUERY_UNAUTHORIZED');
      // Answered before the body was sent: the server does not wait for it to refuse.
      expect(anonymous.trickled).toBeLessThan(MAX_TRICKLES / 2);
    } finally {
      await secured.close();
    }
  });

  it('a client that sends a request in time is answered on the same server', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/stores/counts/keys/a`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ key: 'a', value: 1 });
  });

  it('rejects timeouts that are not positive integers', () => {
    const source = new FakeQuerySource(new FakeClusterData(), 'self');
    expect(() => createQueryServer({ source, requestTimeoutMs: 0 })).toThrow(QueryServerOptionsError);
    expect(() => createQueryServer({ source, keepAliveTimeoutMs: 1.5 })).toThrow(/keepAliveTimeoutMs/);
  });
});
