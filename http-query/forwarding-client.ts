/**
 * HTTP client for instance-to-instance requests: one keep-alive undici Agent (pooled connections per origin),
 * marks every request as forwarded (so the receiver never forwards again) and carries the bearer token.
 */
import { Agent, request } from 'undici';
import { QueryUnavailableError } from '../errors.js';

/** Header that marks a request already forwarded once. */
export const FORWARDED_HEADER = 'x-tributary-forwarded';

export interface ForwardedResponse {
  readonly statusCode: number;
  readonly body: string;
  readonly retryAfter: string | undefined;
}

export interface ForwardingClientOptions {
  readonly timeoutMs: number;
  readonly authToken?: string;
  /** Max open connections per remote instance. */
  readonly connectionsPerInstance?: number;
}

export class ForwardingClient {
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: ForwardingClientOptions) {
    this.timeoutMs = options.timeoutMs;
    this.agent = new Agent({
      connections: options.connectionsPerInstance ?? 32,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.timeoutMs },
    });
    this.headers = { [FORWARDED_HEADER]: '1', accept: 'application/json' };
    if (options.authToken !== undefined) this.headers.authorization = `Bearer ${options.authToken}`;
  }

  /**
   * GET `baseUrl + pathAndQuery` (path already URL-encoded). Network failures and timeouts throw
   * `QueryUnavailableError` (TRIBUTARY_QUERY_REMOTE_UNREACHABLE); any HTTP status is returned as is.
   */
  async get(baseUrl: string, pathAndQuery: string): Promise<ForwardedResponse> {
    const base = baseUrl.endsWith('/') ? baseUrl.slice(0, -1) : baseUrl;
    try {
      const response = await request(base + pathAndQuery, {
        method: 'GET',
        headers: this.headers,
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const body = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      return {
        statusCode: response.statusCode,
        body,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      };
    } catch (error) {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_REMOTE_UNREACHABLE',
        `The instance at ${base} that owns this data did not answer (${describe(error)}). Retry shortly.`,
        1,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : error.message;
  }
  return String(error);
}
