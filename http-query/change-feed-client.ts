/**
 * Reads another instance's change feed (its local partitions of a store) into a subscriber's queue, for a merged
 * feed: `GET <url>/stores/<store>/changes?partitions=..&from=..` marked as forwarded, parsed as Server-Sent Events.
 * The answer's status is known before `openRemoteChanges` resolves, so a position the owner cannot replay fails
 * the whole subscription before any byte is sent to the client.
 */
import { Agent, request } from 'undici';
import { ChangeFeedPositionTooOldError, QueryUnavailableError } from '../errors.js';
import {
  changeFrame,
  encodePosition,
  parsePosition,
  type ChangeEvent,
  type ChangeFeedEnd,
  type ChangeFilter,
  type ChangePosition,
  type ChangeQueue,
} from './change-feed.js';
import { FORWARDED_HEADER } from './forwarding-client.js';

export interface RemoteChangeRequest {
  readonly url: string;
  readonly store: string;
  readonly partitions: readonly number[];
  readonly from: ChangePosition | undefined;
  readonly filter: { readonly key?: string; readonly prefix?: string };
  readonly sink: ChangeQueue;
}

export class ChangeFeedClient {
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;

  constructor(options: { authToken?: string; connectTimeoutMs: number }) {
    // Streams stay open for as long as the subscription: no body timeout; heartbeats show the peer is alive.
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, bodyTimeout: 0, headersTimeout: options.connectTimeoutMs });
    this.headers = { [FORWARDED_HEADER]: '1', accept: 'text/event-stream' };
    if (options.authToken !== undefined) this.headers.authorization = `Bearer ${options.authToken}`;
  }

  /** Opens the remote stream; resolves once it answered 200 (then pumps into `sink` until either side ends). */
  async open(remote: RemoteChangeRequest): Promise<() => void> {
    const query = new URLSearchParams({ partitions: remote.partitions.join(',') });
    if (remote.from !== undefined) {
      const mine = new Map([...remote.from].filter(([p]) => remote.partitions.includes(p)));
      if (mine.size > 0) query.set('from', encodePosition(mine));
    }
    if (remote.filter.key !== undefined) query.set('key', remote.filter.key);
    if (remote.filter.prefix !== undefined) query.set('prefix', remote.filter.prefix);
    const base = remote.url.endsWith('/') ? remote.url.slice(0, -1) : remote.url;
    const controller = new AbortController();
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${base}/stores/${encodeURIComponent(remote.store)}/changes?${query.toString()}`, {
        method: 'GET',
        headers: this.headers,
        dispatcher: this.agent,
        signal: controller.signal,
      });
    } catch (error) {
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_REMOTE_UNREACHABLE',
        `The instance at ${base} that owns partitions ${remote.partitions.join(',')} of store "${remote.store}" did not answer. Retry shortly.`,
        1,
        { cause: error },
      );
    }
    if (response.statusCode !== 200) {
      const body = await response.body.text().catch(() => '');
      if (response.statusCode === 410)
        throw new ChangeFeedPositionTooOldError(remote.store, `the owner at ${base} answered: ${errorMessage(body)}`);
      throw new QueryUnavailableError(
        'TRIBUTARY_QUERY_REMOTE_FAILED',
        `The instance at ${base} refused the change feed of store "${remote.store}" (${response.statusCode}: ${errorMessage(body)}). Retry shortly.`,
        1,
      );
    }
    void pump(response.body, remote.sink, base).finally(() => controller.abort());
    remote.sink.whenEnded(() => controller.abort());
    return () => controller.abort();
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** Parses the SSE body frame by frame into queue items; the remote's end (or a broken stream) ends the sink. */
async function pump(body: AsyncIterable<Buffer | string>, sink: ChangeQueue, base: string): Promise<void> {
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        if (!deliver(frame, sink)) return;
        boundary = buffer.indexOf('\n\n');
      }
    }
    sink.end({ code: 'TRIBUTARY_QUERY_REMOTE_FAILED', message: `the stream from ${base} ended; reconnect to resume`, retryable: true });
  } catch (error) {
    if (sink.ended) return;
    sink.end({
      code: 'TRIBUTARY_QUERY_REMOTE_UNREACHABLE',
      message: `the stream from ${base} broke (${error instanceof Error ? error.message : String(error)}); reconnect to resume`,
      retryable: true,
    });
  }
}

/** One SSE frame → queue items. False once the sink is ended. */
function deliver(frame: string, sink: ChangeQueue): boolean {
  let event = 'message';
  let id: string | undefined;
  let data = '';
  for (const line of frame.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data = data.length === 0 ? value : `${data}\n${value}`;
  }
  switch (event) {
    case 'subscribed':
      return id === undefined || sink.push({ kind: 'start', position: parsePosition(id) });
    case 'change': {
      const parsed = JSON.parse(data) as ChangeEvent;
      return sink.push({ kind: 'change', event: parsed, data, frame: changeFrame(data) });
    }
    case 'heartbeat': {
      if (id === undefined) return true;
      for (const [partition, next] of parsePosition(id)) if (!sink.push({ kind: 'advance', partition, next })) return false;
      return true;
    }
    case 'end': {
      const end = JSON.parse(data) as ChangeFeedEnd;
      sink.end(end);
      return false;
    }
    default:
      return true;
  }
}

export type { ChangeFilter };
