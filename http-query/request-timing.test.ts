import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { markRequest, observeFinishedRequests, type RequestObserver } from './request-timing.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const servers: Server[] = [];

async function serve(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The observations so far, after the response-finish events of answered requests had a turn to arrive. */
async function settled(seen: Parameters<RequestObserver>[]): Promise<Parameters<RequestObserver>[]> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return seen;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('request timing on the response-finish channel', () => {
  it('observes a marked request with its route, method, status and the time since it was marked', async () => {
    const seen: Parameters<RequestObserver>[] = [];
    const { server, port } = await serve((request, response) => {
      markRequest(request, request.url === '/a' ? '/route/:a' : undefined);
      setTimeout(() => {
        response.statusCode = request.url === '/a' ? 201 : 404;
        response.end('x');
      }, 15);
    });
    const stop = observeFinishedRequests(server, (...args) => seen.push(args));
    try {
      expect(await get(port, '/a')).toBe(201);
      expect(await get(port, '/b', 'HEAD')).toBe(404);
      const [first, second] = await settled(seen);
      expect(seen).toHaveLength(2);
      expect(first.slice(0, 3)).toEqual(['/route/:a', 'GET', 201]);
      expect(second.slice(0, 3)).toEqual(['unmatched', 'HEAD', 404]);
      // Marked before the 15 ms wait, so at least that long (timers may fire a little early: 10 ms).
      for (const [, , , seconds] of seen) {
        expect(seconds).toBeGreaterThanOrEqual(0.01);
        expect(seconds).toBeLessThan(5);
      }
    } finally {
      stop();
    }
  });

  it('ignores unmarked requests and the responses of other servers', async () => {
    const seen: Parameters<RequestObserver>[] = [];
    const observed = await serve((request, response) => {
      if (request.url === '/marked') markRequest(request, '/marked');
      response.end();
    });
    const other = await serve((request, response) => {
      markRequest(request, '/other');
      response.end();
    });
    const stop = observeFinishedRequests(observed.server, (...args) => seen.push(args));
    try {
      await get(observed.port, '/unmarked');
      await get(other.port, '/x');
      await get(observed.port, '/marked');
      expect((await settled(seen)).map(([route]) => route)).toEqual(['/marked']);
    } finally {
      stop();
    }
  });

  it('observes nothing once stopped', async () => {
    const seen: Parameters<RequestObserver>[] = [];
    const { server, port } = await serve((request, response) => {
      markRequest(request, '/r');
      response.end();
    });
    const stop = observeFinishedRequests(server, (...args) => seen.push(args));
    await get(port, '/r');
    stop();
    await get(port, '/r');
    expect(await settled(seen)).toHaveLength(1);
  });
});
