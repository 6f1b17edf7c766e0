/** A request that arrives while the server is closing gets the documented 503, with Retry-After. */
import { connect } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createQueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

interface ParsedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Splits a byte stream of HTTP/1.1 responses that all carry Content-Length. */
function parseResponses(text: string): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(rest)}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) throw new Error(`response without Content-Length: ${statusLine}`);
    const bodyStart = end + 4;
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(bodyStart, bodyStart + length) });
    rest = rest.slice(bodyStart + length);
  }
  return responses;
}

/** A logger that calls `onWarn` with the error code of each warning (the server warns on every 5xx answer). */
function warningLogger(onWarn: (code: unknown) => void): FastifyBaseLogger {
  const ignore = () => undefined;
  const logger: FastifyBaseLogger = {
    level: 'warn',
    fatal: ignore,
    error: ignore,
    warn: (bindings: unknown) => onWarn((bindings as { code?: unknown } | undefined)?.code),
    info: ignore,
    debug: ignore,
    trace: ignore,
    silent: ignore,
    child: () => logger,
  };
  return logger;
}

describe('closing', () => {
  it('a request arriving during close() is a 503 with our body, a Tributary code and Retry-After', async () => {
    const data = new FakeClusterData();
    data.addStore('counts', 'partitioned', 2);
    const source = new FakeQuerySource(data, 'self');
    // GET /stores waits in approximateCount until released, holding its connection (and close()) open.
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const info = source.store('counts');
    if (info === undefined) throw new Error('store missing');
    Object.assign(info, {
      approximateCount: async () => {
        entered();
        await released;
        return 0;
      },
    });
    let answeredShuttingDown!: () => void;
    const shuttingDownAnswered = new Promise<void>((resolve) => (answeredShuttingDown = resolve));
    const logger = warningLogger((code) => {
      if (code === 'TRIBUTARY_QUERY_SHUTTING_DOWN') answeredShuttingDown();
    });
    const server = createQueryServer({ source, logger });
    const port = Number(new URL(await server.listen()).port);

    const socket = connect({ host: '127.0.0.1', port });
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    const socketClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /stores HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await inHandler;

    const closed = server.close();
    // close() stops the listener first; from then on the server is closing.
    while (server.app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    // The connection is busy with the first request, so close() keeps it; the second request arrives on it.
    socket.write('GET /stores/counts/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // Its answer waits behind the first one's (HTTP/1.1 order); release the first once the second is answered.
    await shuttingDownAnswered;
    release();
    await socketClosed;
    await closed;

    const [first, second, ...more] = parseResponses(received);
    expect(more).toEqual([]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.headers.connection).toBe('close');
    expect(JSON.parse(second.body)).toEqual({
      error: { code: 'TRIBUTARY_QUERY_SHUTTING_DOWN', message: expect.stringContaining('shutting down') },
    });
  });
});
