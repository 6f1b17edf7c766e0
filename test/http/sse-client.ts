/**
 * A minimal Server-Sent Events client for the change-feed tests: reads `GET <url>` with fetch, parses frames, keeps
 * every event with its id, and can be aborted (a disconnect) at any time.
 */
export interface SseEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

export class SseSubscription {
  readonly events: SseEvent[] = [];
  status = 0;
  /** The id of the last event that had one (what EventSource sends back as Last-Event-ID). */
  lastEventId: string | undefined;
  readonly done: Promise<void>;
  private readonly controller = new AbortController();

  constructor(
    readonly url: string,
    options: { lastEventId?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    this.done = this.read(headers).catch(() => undefined);
  }

  changes(): { key: unknown; value: unknown; partition: number; offset: number; type: string }[] {
    return this.events.filter((e) => e.event === 'change').map((e) => JSON.parse(e.data));
  }

  ended(): SseEvent | undefined {
    return this.events.find((e) => e.event === 'end');
  }

  close(): void {
    this.controller.abort();
  }

  private async read(headers: Record<string, string>): Promise<void> {
    const response = await fetch(this.url, { headers, signal: this.controller.signal });
    this.status = response.status;
    if (response.body === null) return;
    if (response.status !== 200) {
      this.events.push({ event: 'http-error', id: undefined, data: await response.text() });
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        this.parse(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
      }
    }
  }

  private parse(frame: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      const colon = line.indexOf(':');
      if (colon === 0) continue;
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && id === undefined) return;
    if (id !== undefined) this.lastEventId = id;
    this.events.push({ event, id, data: data.join('\n') });
  }
}
