/**
 * Lookup answers written in batches (routes/lookup.ts): the 200 answers of local reads whose body is ready as JSON
 * text, written together once the event loop has handled every request it read in this turn (setImmediate runs after
 * the poll phase), or as soon as `maxAnswers` of them wait, instead of one write per request as it is handled.
 *
 * Why batch: a write that makes an idle client's socket readable pays for waking it (on a VM, tens of µs of system
 * time in the writer); written back to back, one wake-up serves the batch. Why a bound: an answer waits in the batch
 * until every request handled after it in the same turn is handled too. At a moderate rate a turn reads one or two
 * requests, but after any stall of the process (a GC pause, the core taken by another thread) it reads every
 * connection that sent meanwhile, up to one request per open connection, and unbounded, the first answer of such a
 * turn went out only after the last request was handled (64 connections at ~25 µs each: +1.6 ms, on exactly the
 * requests that were already late). Measured at half hello world's rate (README "HTTP point lookups"): answers waited
 * up to 1-1.5 ms in a batch, p99 0.3-0.7 ms, where hello world's route writes each answer as it is handled.
 *
 * The answer is the one fastify would send (status, `content-type`, `content-length`, any header a hook set on the
 * reply; Node adds `date`, `connection` and HEAD's empty body); the reply is hijacked, so onSend hooks do not run for
 * it (the server has none; one added to `QueryServer.app` would not see these answers), onResponse hooks do, and so
 * does the latency metric (request-timing.ts, on Node's response-finish channel).
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Answers written at once when this many wait: a late answer waits for at most 7 others' handling (~0.2 ms), and a
 * saturated server still writes 8 answers per wake-up of its client.
 */
export const ANSWER_BATCH_LIMIT = 8;

/** What the batch needs of a fastify reply. */
export type BatchedReply = Pick<FastifyReply, 'getHeaders' | 'hijack'> & { readonly raw: ServerResponse };

export class AnswerBatch {
  private responses: ServerResponse[] = [];
  private headers: Record<string, unknown>[] = [];
  private bodies: string[] = [];
  private scheduled = false;

  constructor(private readonly maxAnswers: number = ANSWER_BATCH_LIMIT) {}

  /** Answers `reply` with `body` (JSON text) in this turn's batch. */
  send(reply: BatchedReply, body: string): void {
    // Headers set on the reply before the handler (by a hook) go out with the answer, as fastify would send them.
    const headers: Record<string, unknown> = reply.getHeaders();
    headers['content-type'] = JSON_TYPE;
    headers['content-length'] = Buffer.byteLength(body);
    reply.hijack();
    this.responses.push(reply.raw);
    this.headers.push(headers);
    this.bodies.push(body);
    if (this.responses.length >= this.maxAnswers) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushTurn);
    }
  }

  private readonly flushTurn = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const { responses, headers, bodies } = this;
    this.responses = [];
    this.headers = [];
    this.bodies = [];
    for (let i = 0; i < responses.length; i++) {
      const response = responses[i];
      // The client went away meanwhile: nothing to answer.
      if (response.destroyed) continue;
      try {
        response.writeHead(200, headers[i] as OutgoingHttpHeaders);
        response.end(bodies[i]);
      } catch (error) {
        // E.g. a header a hook set that Node refuses: this answer cannot go out, the others of the batch still do
        // (nothing may throw out of the setImmediate callback, nor out of the handler whose answer filled the batch).
        response.destroy(error as Error);
      }
    }
  }
}
