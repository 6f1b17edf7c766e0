/**
 * The open-loop client's connections (http-open-loop-client.ts): keep-alive HTTP/1.1 over plain sockets to one
 * loopback server, one request per connection at a time, requests waiting in FIFO order when every connection is busy.
 * It reads only what the bench's servers send (answers framed by `content-length`; a chunked answer is an error), and
 * in exchange costs a fraction of a general client's CPU per request: on a 2-core machine the client's CPU is taken
 * from the server it measures (undici's Pool.dispatch cost about as much CPU per request as the server's answer).
 */
import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** Splits a byte stream of HTTP/1.1 answers into answers; `onAnswer` gets each one's status code. */
export class AnswerParser {
  private pending: Buffer | undefined;
  /** Body bytes still to come of the answer being read; -1 while reading a head. */
  private bodyLeft = -1;
  private status = 0;

  /** Throws when an answer is not framed by content-length (the connection is then unusable). */
  feed(chunk: Buffer, onAnswer: (status: number) => void): void {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    while (at < data.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, data.length - at);
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0) this.complete(onAnswer);
        continue;
      }
      const end = data.indexOf(HEADER_END, at);
      if (end === -1) {
        this.pending = data.subarray(at);
        return;
      }
      const head = data.toString('latin1', at, end);
      const length = CONTENT_LENGTH.exec(head);
      if (!head.startsWith('HTTP/1.') || length === null) {
        throw new Error(`answer not framed by content-length: ${head.slice(0, 120)}`);
      }
      this.status = Number(head.slice(9, 12));
      this.bodyLeft = Number(length[1]);
      at = end + HEADER_END.length;
      if (this.bodyLeft === 0) this.complete(onAnswer);
    }
  }

  private complete(onAnswer: (status: number) => void): void {
    this.bodyLeft = -1;
    onAnswer(this.status);
  }
}

/** The bytes of a GET of `path` on `host` (keep-alive is HTTP/1.1's default). */
export function getRequest(host: string, path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1');
}

/** Called once per request: true for a 200 answer; false for another status or a failed connection. */
export type Done = (ok: boolean) => void;

interface Connection {
  readonly socket: Socket;
  readonly parser: AnswerParser;
  current: Done | undefined;
}

export class RawHttpPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: { request: Buffer; done: Done }[] = [];
  private waitingHead = 0;
  private open = 0;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxConnections: number,
  ) {}

  request(request: Buffer, done: Done): void {
    const connection = this.idle.pop() ?? (this.open < this.maxConnections ? this.connect() : undefined);
    if (connection === undefined) this.waiting.push({ request, done });
    else this.start(connection, request, done);
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
  }

  private start(connection: Connection, request: Buffer, done: Done): void {
    connection.current = done;
    connection.socket.write(request);
  }

  /** The next waiting request goes out on `connection`, or it waits idle. */
  private release(connection: Connection): void {
    if (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead++];
      if (this.waitingHead > 4096 && this.waitingHead * 2 > this.waiting.length) {
        this.waiting.splice(0, this.waitingHead);
        this.waitingHead = 0;
      }
      this.start(connection, next.request, next.done);
    } else if (this.closed) {
      connection.socket.destroy();
    } else {
      this.idle.push(connection);
    }
  }

  private connect(): Connection {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection: Connection = { socket, parser: new AnswerParser(), current: undefined };
    this.open++;
    const onAnswer = (status: number): void => {
      const done = connection.current;
      connection.current = undefined;
      done?.(status === 200);
      this.release(connection);
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        connection.parser.feed(chunk, onAnswer);
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.open--;
      const index = this.idle.indexOf(connection);
      if (index !== -1) this.idle.splice(index, 1);
      const done = connection.current;
      connection.current = undefined;
      done?.(false);
      // Requests waiting for a connection get a new one in place of this.
      if (!this.closed && this.waitingHead < this.waiting.length) this.release(this.connect());
    });
    return connection;
  }
}
