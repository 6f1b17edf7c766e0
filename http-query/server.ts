/**
 * The interactive-query HTTP server: fastify with one encapsulated plugin per route group, JSON schemas on every
 * route (published as OpenAPI at /openapi.json), uniform JSON errors, optional bearer auth (all but /health and the
 * web console's static files, unknown routes included), and optionally the web console at /ui/.
 */
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
} from 'fastify';
import {
  InvalidQueryParameterError,
  QueryMethodNotAllowedError,
  QueryRouteNotFoundError,
  QueryServerError,
  QueryServerOptionsError,
  QueryUnauthorizedError,
  QueryUnavailableError,
} from '../errors.js';
import { bearerTokenCheck } from './auth.js';
import { ForwardingClient } from './forwarding-client.js';
import type { QueryErrorCode } from './error-codes.js';
import { fromClientError, fromFrameworkError, writeRawError } from './framework-errors.js';
import { MAX_KEY_BYTES } from './keys.js';
import { QueryServerMetrics } from './metrics.js';
import { markRequest, observeFinishedRequests } from './request-timing.js';
import type { QuerySource } from './query-source.js';
import type { RouteContext } from './routes/context.js';
import { entriesRoutes } from './routes/entries.js';
import { consoleRoutes, isConsoleRoute } from './routes/console.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { lookupRoutes } from './routes/lookup.js';
import { metricsRoutes } from './routes/metrics.js';
import { consumerLagRoutes, statsRoutes } from './routes/stats.js';
import { statusRoutes } from './routes/status.js';
import { storeListRoutes } from './routes/stores.js';
import { windowRoutes } from './routes/windows.js';
import { topologyRoutes } from './routes/topology.js';
import { changeRoutes, ChangeStreams } from './routes/changes.js';
import { ChangeFeedClient } from './change-feed-client.js';

export interface QueryServerOptions {
  readonly source: QuerySource;
  /** Interface to listen on; default loopback only. */
  readonly host?: string;
  /** Default 0: an ephemeral port (see the URL `listen()` returns). */
  readonly port?: number;
  /**
   * When set, every route but /health and the console's static files needs `Authorization: Bearer <authToken>`;
   * forwarded requests carry it.
   */
  readonly authToken?: string;
  /** Serve the web console at /ui/ (see routes/console.ts). Default false; TributaryApp turns it on by default. */
  readonly ui?: boolean;
  /** A pino-compatible logger; default: no logging. */
  readonly logger?: FastifyBaseLogger;
  /** Connect/response timeout for requests to other instances; default 2000 ms. */
  readonly forwardTimeoutMs?: number;
  /**
   * A request (headers and body) must arrive within this, else `408` and the connection closes, so a client trickling
   * bytes cannot hold a connection. Default 30 000 ms.
   */
  readonly requestTimeoutMs?: number;
  /** The request headers must arrive within this (at most `requestTimeoutMs`), else `408`. Default 10 000 ms. */
  readonly headersTimeoutMs?: number;
  /** A connection with no traffic in either direction for this long is closed. Default 60 000 ms. */
  readonly connectionTimeoutMs?: number;
  /** How long an idle keep-alive connection waits for its next request. Default 72 000 ms (fastify's). */
  readonly keepAliveTimeoutMs?: number;
}

/** Defaults of the slow-client bounds in `QueryServerOptions`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;

interface ConnectionLimits {
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly connectionTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionsCheckingInterval: number;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new QueryServerOptionsError(`${name} must be a positive integer of milliseconds, got ${value}`);
  }
  return value;
}

function connectionLimits(options: QueryServerOptions): ConnectionLimits {
  const requestTimeout = positiveMs('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  // Node refuses a headers timeout above the request timeout; the whole-request bound covers the headers anyway.
  const headersTimeout = Math.min(requestTimeout, positiveMs('headersTimeoutMs', options.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS));
  return {
    requestTimeout,
    headersTimeout,
    connectionTimeout: positiveMs('connectionTimeoutMs', options.connectionTimeoutMs, DEFAULT_CONNECTION_TIMEOUT_MS),
    keepAliveTimeout: positiveMs('keepAliveTimeoutMs', options.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    // Node enforces both timeouts only when it sweeps its connections (every 30 s by default), so a late request
    // could live for timeout + 30 s: sweep often enough that the bound holds to within a tenth of it.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 10))),
  };
}

export interface QueryServer {
  /** The fastify instance (for `inject` in tests). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:41234`. */
  listen(): Promise<string>;
  /** Stops accepting requests, closes idle connections and the forwarding pool. */
  close(): Promise<void>;
}

/** Code of the body sent for an unexpected failure (a bug): the details go to the log only. */
export const INTERNAL_ERROR_CODE: QueryErrorCode = 'TRIBUTARY_QUERY_INTERNAL';

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

function sendError(reply: FastifyReply, error: QueryServerError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  if (error instanceof QueryUnauthorizedError) reply.header('www-authenticate', 'Bearer');
  if (error instanceof QueryMethodNotAllowedError) reply.header('allow', error.allow.join(', '));
  return reply.code(error.statusCode).send(errorBody(error.code, error.message));
}

/**
 * Whether a response is being written on the socket: Node's HTTP server attaches a request's response to its socket
 * (pipelined requests' responses wait behind it) and this one has sent its headers. The same rule as Node's default
 * for parser errors (`socket._httpMessage`, `_headerSent`); reading it costs the lookup path nothing, where counting
 * in onSend/onResponse hooks cost every request.
 */
function hasResponseUnderWay(socket: object): boolean {
  const response = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  return response?.headersSent === true;
}

/** The methods every route answers. */
const READ_METHODS = ['GET', 'HEAD'] as const;

/** The one route that never needs the bearer token (liveness probes carry none). */
const HEALTH_ROUTE = '/health';

export function createQueryServer(options: QueryServerOptions): QueryServer {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const limits = connectionLimits(options);
  const checkToken = options.authToken === undefined ? undefined : bearerTokenCheck(options.authToken);
  const isAuthorized = (request: FastifyRequest): boolean => {
    if (checkToken === undefined) return true;
    try {
      checkToken(request);
      return true;
    } catch {
      return false;
    }
  };
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    // fastify's own 503 while closing has neither our body nor Retry-After; the onRequest hook below answers instead.
    return503OnClosing: false,
    // fastify leaves request and connection timeouts off (0): a slow client would keep its connection forever.
    requestTimeout: limits.requestTimeout,
    connectionTimeout: limits.connectionTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    // Requests Node's parser refuses (malformed, headers too large, too slow) never reach fastify: answer them with
    // our error body, unless a response to an earlier request on the socket is being written (it would corrupt it).
    clientErrorHandler: (error, socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      // A response under way on the socket (pipelined requests queue theirs behind it) must not get a second one
      // written into it.
      if (!socket.writable || hasResponseUnderWay(socket)) {
        socket.destroy();
        return;
      }
      const mapped = fromClientError(error, {
        headersTimeoutMs: limits.headersTimeout,
        requestTimeoutMs: limits.requestTimeout,
      });
      app.log.debug({ code: mapped.code, parserCode: error.code }, 'refused a request the HTTP parser rejected');
      writeRawError(socket, mapped);
    },
    http: {
      requestTimeout: limits.requestTimeout,
      headersTimeout: limits.headersTimeout,
      connectionsCheckingInterval: limits.connectionsCheckingInterval,
    },
    // A key of MAX_KEY_BYTES bytes, every byte percent-encoded, must still reach the handler (which checks length).
    routerOptions: { maxParamLength: MAX_KEY_BYTES * 3 + 64 },
    // Framework-level rejections (bad percent-encoding, over-long path parameter) use our error body too.
    frameworkErrors: (error, request, reply) => {
      // These skip the hooks, so auth is checked here: without a token nothing may tell which paths are routes.
      const mapped: QueryServerError = !isAuthorized(request)
        ? new QueryUnauthorizedError()
        : fromFrameworkError(error, error.statusCode ?? 400);
      // The option's reply type is generic over route schemas that do not exist yet; it is a plain reply here.
      sendError(reply as FastifyReply, mapped);
    },
  });
  const forwarder = new ForwardingClient({
    timeoutMs: options.forwardTimeoutMs ?? 2000,
    authToken: options.authToken,
  });
  // The change feed's streams to other instances (merged feeds) and the streams this server holds open.
  const changeClient = new ChangeFeedClient({ authToken: options.authToken, connectTimeoutMs: options.forwardTimeoutMs ?? 2000 });
  const changeStreams = new ChangeStreams();
  const metrics = new QueryServerMetrics(options.source, app.log);
  const context: RouteContext = { source: options.source, forwarder, metrics };

  app.setErrorHandler<FastifyError | QueryServerError>((error, request, reply) => {
    if (error instanceof QueryServerError) {
      if (error.statusCode >= 500) request.log.warn({ code: error.code }, error.message);
      return sendError(reply, error);
    }
    if (error.validation !== undefined) return sendError(reply, new InvalidQueryParameterError(error.message));
    const { statusCode } = error;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return sendError(reply, fromFrameworkError(error, statusCode));
    }
    request.log.error({ err: error }, 'query request failed unexpectedly');
    return reply.code(500).send(errorBody(INTERNAL_ERROR_CODE, 'Internal error while answering the query; the server log has details.'));
  });
  // Set once close() begins: requests still arriving on open keep-alive connections are told to go elsewhere.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    changeStreams.endAll({
      code: 'TRIBUTARY_QUERY_SHUTTING_DOWN',
      message: 'this instance is shutting down; reconnect to resume',
      retryable: true,
    });
    done();
  });
  const refuseWhileClosing = (reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    reply.header('connection', 'close');
    done(
      new QueryUnavailableError(
        'TRIBUTARY_QUERY_SHUTTING_DOWN',
        'This instance is shutting down. Retry against another instance of the application.',
        1,
      ),
    );
  };
  // One onRequest hook on the root (each hook is a step of every request): the closing check, then the token. On the
  // root so the token also guards unknown routes (401 before 404); /health and the console's files stay open (they
  // hold no data: the console page sends the token with its API calls).
  // The hook also marks the request for the latency metric (request-timing.ts: no onResponse hook).
  if (checkToken === undefined) {
    app.addHook('onRequest', (request, reply, done) => {
      markRequest(request.raw, request.routeOptions.url);
      if (closing) refuseWhileClosing(reply, done);
      else done();
    });
  } else {
    app.addHook('onRequest', (request, reply, done) => {
      markRequest(request.raw, request.routeOptions.url);
      if (closing) {
        refuseWhileClosing(reply, done);
        return;
      }
      const { url } = request.routeOptions;
      if (url === HEALTH_ROUTE || isConsoleRoute(url)) {
        done();
        return;
      }
      try {
        checkToken(request);
        done();
      } catch (error) {
        done(error as QueryServerError);
      }
    });
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0];
    // Every route is GET (HEAD comes with it): another method on a route's path is 405, not 404.
    const isRoute = request.method !== 'GET' && app.findRoute({ method: 'GET', url: path }) !== null;
    void sendError(
      reply,
      isRoute ? new QueryMethodNotAllowedError(request.method, path, READ_METHODS) : new QueryRouteNotFoundError(request.method, path),
    );
  });
  const stopObservingRequests = observeFinishedRequests(app.server, metrics.observeRequest);
  app.addHook('onClose', (_instance, done) => {
    stopObservingRequests();
    done();
  });

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Tributary interactive queries', version: '1' },
      ...(options.authToken === undefined
        ? {}
        : {
            components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
            security: [{ bearerAuth: [] }],
          }),
    },
  });

  // Registered as a plugin (not directly) so it queues after swagger and appears in the OpenAPI document.
  void app.register(async (openScope) => {
    openScope.get(
      HEALTH_ROUTE,
      {
        schema: {
          summary: 'Process is up (never authenticated)',
          security: [],
          response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } },
        },
      },
      async () => ({ status: 'up' }),
    );
  });

  void app.register(async (protectedScope) => {
    protectedScope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await protectedScope.register(storeListRoutes, context);
    await protectedScope.register(lookupRoutes, context);
    await protectedScope.register(entriesRoutes, context);
    await protectedScope.register(windowRoutes, context);
    await protectedScope.register(statusRoutes, context);
    await protectedScope.register(metricsRoutes, context);
    await protectedScope.register(statsRoutes, context);
    // Optional parts of the seam: their routes exist only when the source provides them.
    const { source } = options;
    const graph = source.topologyGraph?.bind(source);
    if (graph !== undefined) await protectedScope.register(topologyRoutes(graph));
    const lagHistory = source.consumerLag?.bind(source);
    if (lagHistory !== undefined) await protectedScope.register(consumerLagRoutes(lagHistory));
    const deadLetters = source.deadLetters?.bind(source);
    if (deadLetters !== undefined) await protectedScope.register(deadLetterRoutes(deadLetters));
    const changeFeed = source.changeFeed?.();
    if (changeFeed !== undefined) await protectedScope.register(changeRoutes(changeFeed, changeClient, changeStreams), context);
  });
  if (options.ui === true) void app.register(consoleRoutes);

  return {
    app,
    async listen() {
      await app.listen({ host, port });
      const address = app.server.address();
      if (address === null || typeof address === 'string') return String(address);
      const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${hostPart}:${address.port}`;
    },
    async close() {
      try {
        await app.close();
      } finally {
        await forwarder.close();
        await changeClient.close();
      }
    },
  };
}
