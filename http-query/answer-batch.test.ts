/**
 * AnswerBatch's schedule: answers wait for the end of the event-loop turn, except that a batch holding its limit is
 * written at once, in the order the answers were given. (Over real connections: lookup-batch.test.ts.)
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AnswerBatch, ANSWER_BATCH_LIMIT, type BatchedReply } from './answer-batch.js';

interface Written {
  readonly id: number;
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

/** A reply whose raw response records what is written to it in `log`. */
function fakeReply(id: number, log: Written[], options: { refuseHead?: boolean; gone?: boolean } = {}): BatchedReply {
  let status = 0;
  let headers: Record<string, unknown> = {};
  const raw = {
    destroyed: options.gone === true,
    writeHead(code: number, head: Record<string, unknown>) {
      if (options.refuseHead === true) throw new TypeError('invalid header');
      status = code;
      headers = head;
      return raw;
    },
    end(body: string) {
      log.push({ id, status, headers, body });
    },
    destroy() {
      raw.destroyed = true;
    },
  };
  return {
    getHeaders: () => ({ 'x-hook': `h${id}` }),
    hijack: () => undefined,
    raw: raw as unknown as ServerResponse,
  } as unknown as BatchedReply;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AnswerBatch', () => {
  it('writes the answers of a turn together after it, with their own status, headers and body', async () => {
    const log: Written[] = [];
    const batch = new AnswerBatch();
    batch.send(fakeReply(1, log), '{"key":"a","value":1}');
    batch.send(fakeReply(2, log), '{"key":"b","value":"é"}');
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual([
      {
        id: 1,
        status: 200,
        headers: { 'x-hook': 'h1', 'content-type': 'application/json; charset=utf-8', 'content-length': 21 },
        body: '{"key":"a","value":1}',
      },
      {
        id: 2,
        status: 200,
        headers: { 'x-hook': 'h2', 'content-type': 'application/json; charset=utf-8', 'content-length': 24 },
        body: '{"key":"b","value":"é"}',
      },
    ]);
  });

  it('writes a full batch at once, so no answer waits behind more than the limit', async () => {
    const log: Written[] = [];
    const batch = new AnswerBatch(3);
    for (let id = 0; id < 7; id++) batch.send(fakeReply(id, log), `${id}`);
    // Two full batches went out while the turn was still handling requests; the seventh waits for its end.
    expect(log.map((written) => written.id)).toEqual([0, 1, 2, 3, 4, 5]);
    await nextTurn();
    expect(log.map((written) => written.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await nextTurn();
    expect(log).toHaveLength(7);
  });

  it('defaults to ANSWER_BATCH_LIMIT', async () => {
    const log: Written[] = [];
    const batch = new AnswerBatch();
    for (let id = 0; id < ANSWER_BATCH_LIMIT - 1; id++) batch.send(fakeReply(id, log), '1');
    expect(log).toHaveLength(0);
    batch.send(fakeReply(ANSWER_BATCH_LIMIT - 1, log), '1');
    expect(log).toHaveLength(ANSWER_BATCH_LIMIT);
    await nextTurn();
  });

  it('skips a client gone meanwhile and fails only an answer whose head cannot be written', async () => {
    const log: Written[] = [];
    const batch = new AnswerBatch(2);
    const refused = fakeReply(2, log, { refuseHead: true });
    batch.send(fakeReply(1, log, { gone: true }), '1');
    // Fills the batch: the refused head must not throw into the handler that gave this answer.
    expect(() => batch.send(refused, '2')).not.toThrow();
    batch.send(fakeReply(3, log), '3');
    await nextTurn();
    expect(log.map((written) => written.id)).toEqual([3]);
    expect(refused.raw.destroyed).toBe(true);
  });
});
