/**
 * Request latencies for the metrics, taken without a fastify onResponse hook. Such a hook makes fastify add a
 * `finish` and an `error` listener to every response and run a hook chain when it ends (about 0.6 KB of garbage per
 * request, measured with a sampling heap profiler on point lookups, ~7% of what a lookup allocates). Instead the
 * server's onRequest hook marks the raw request with its route and start time (`markRequest`), and one subscriber to
 * Node's `http.server.response.finish` diagnostics channel, which Node publishes for every response that finishes,
 * observes the marked requests of one server (`observeFinishedRequests`).
 *
 * A request that never reaches the onRequest hook (refused by Node's parser or by the router before routing) is not
 * marked, hence not observed; neither is one whose client went away before its answer finished (no `finish`), as with
 * the hook.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

const RESPONSE_FINISH_CHANNEL = 'http.server.response.finish';
const STARTED = Symbol('tributary.requestStarted');
const ROUTE = Symbol('tributary.requestRoute');

interface MarkedRequest extends IncomingMessage {
  [STARTED]?: number;
  [ROUTE]?: string;
}

/** What Node publishes on `http.server.response.finish`. */
interface ResponseFinish {
  readonly request: MarkedRequest;
  readonly response: ServerResponse;
  readonly server: Server;
}

export type RequestObserver = (route: string, method: string, statusCode: number, seconds: number) => void;

/** Marks `request` as started now, under `route` (the route pattern; `unmatched` when none matched). */
export function markRequest(request: IncomingMessage, route: string | undefined): void {
  const marked = request as MarkedRequest;
  marked[STARTED] = performance.now();
  marked[ROUTE] = route ?? 'unmatched';
}

/**
 * Calls `observe` for every marked request of `server` when its response finishes: route, method, status code and
 * seconds since it was marked. Answers the function that stops observing (call it when the server closes).
 */
export function observeFinishedRequests(server: Server, observe: RequestObserver): () => void {
  const onFinish = (message: unknown): void => {
    const finished = message as ResponseFinish;
    if (finished.server !== server) return;
    const { request } = finished;
    const started = request[STARTED];
    if (started === undefined) return;
    observe(request[ROUTE] ?? 'unmatched', request.method ?? 'GET', finished.response.statusCode, (performance.now() - started) / 1000);
  };
  subscribe(RESPONSE_FINISH_CHANNEL, onFinish);
  return () => {
    unsubscribe(RESPONSE_FINISH_CHANNEL, onFinish);
  };
}
