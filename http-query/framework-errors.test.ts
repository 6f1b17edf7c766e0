/** Requests refused before any route runs still get the documented error body with a stable code. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryServer, type QueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

interface ErrorJson {
  error: { code: string; message: string };
}

let server: QueryServer;
let port: number;

beforeAll(async () => {
  const data = new FakeClusterData();
  data.addStore('counts', 'partitioned', 2);
  data.load('counts', [['a', 1]]);
  server = createQueryServer({ source: new FakeQuerySource(data, 'self') });
  port = Number(new URL(await server.listen()).port);
});

afterAll(async () => {
  await server.close();
});

interface RawResponse {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** Sends `request` as is over a new connection and reads until the server closes it. */
function rawRequest(request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
      resolve({ status, headers: head.toLowerCase(), body: rest.join('\r\n\r\n') });
    });
  });
}

/** The documented error shape, exactly: `{ error: { code, message } }`, a non-empty message, nothing else. */
const codeOf = (body: string) => {
  const parsed = JSON.parse(body) as ErrorJson;
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message']);
  expect(parsed.error.message).toMatch(/\S/);
  return parsed.error;
};

describe('requests the HTTP parser refuses', () => {
  it('431 with our body for headers over the size limit', async () => {
    const res = await rawRequest(`GET /stores HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers).toContain('content-type: application/json');
    expect(codeOf(res.body).code).toBe('TRIBUTARY_QUERY_HEADERS_TOO_LARGE');
  });

  it('400 with our body for bytes that are not HTTP/1.1', async () => {
    for (const garbage of ['NOT A REQUEST\r\n\r\n', 'GET /stores HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']) {
      const res = await rawRequest(garbage);
      expect(res.status, garbage).toBe(400);
      expect(codeOf(res.body).code, garbage).toBe('TRIBUTARY_QUERY_MALFORMED_REQUEST');
    }
  });
});

describe('requests fastify refuses', () => {
  const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS', url: string, body?: string, type?: string) =>
    server.app.inject({
      method,
      url,
      ...(body === undefined ? {} : { body }),
      headers: type === undefined ? {} : { 'content-type': type },
    });

  it('404 for an unknown path, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const res = await inject(method, '/nope');
      expect(res.statusCode, method).toBe(404);
      expect(codeOf(res.body).code).toBe('TRIBUTARY_QUERY_ROUTE_NOT_FOUND');
    }
  });

  it('405 with Allow for another method on a route path', async () => {
    for (const [method, url] of [
      ['POST', '/stores'],
      ['PUT', '/stores/counts/keys/a'],
      ['DELETE', '/stores/counts/keys/a%2Fb'],
      ['OPTIONS', '/health'],
      ['POST', '/stores/counts/entries?limit=1'],
    ] as const) {
      const res = await inject(method, url);
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(codeOf(res.body).code).toBe('TRIBUTARY_QUERY_METHOD_NOT_ALLOWED');
    }
  });

  it('HEAD of a route is answered, not refused', async () => {
    const res = await server.app.inject({ method: 'HEAD', url: '/stores/counts/keys/a' });
    expect(res.statusCode).toBe(200);
  });

  it('400 and 413 with our body for request bodies; a body of another type is ignored', async () => {
    const badJson = await inject('POST', '/stores', '{"not json', 'application/json');
    expect(badJson.statusCode).toBe(400);
    expect(codeOf(badJson.body).code).toBe('TRIBUTARY_QUERY_MALFORMED_BODY');
    const tooLarge = await inject('POST', '/stores', 'x'.repeat(2 * 1024 * 1024), 'text/plain');
    expect(tooLarge.statusCode).toBe(413);
    expect(codeOf(tooLarge.body).code).toBe('TRIBUTARY_QUERY_BODY_TOO_LARGE');
    const otherType = await inject('POST', '/stores', '<a/>', 'application/xml');
    expect(otherType.statusCode).toBe(405);
    expect(codeOf(otherType.body).code).toBe('TRIBUTARY_QUERY_METHOD_NOT_ALLOWED');
  });

  it('400 with our body for a path that is not valid percent-encoding', async () => {
    const res = await inject('GET', '/stores/%E0%A4%A/keys/a');
    expect(res.statusCode).toBe(400);
    expect(codeOf(res.body).code).toBe('TRIBUTARY_QUERY_INVALID_PARAMETER');
  });
});
