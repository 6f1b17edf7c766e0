/**
 * Requests fastify or Node's HTTP parser refuse before any route runs, turned into the server's own errors so every
 * answer has the documented `{"error":{"code","message"}}` body and a stable code.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError } from 'fastify';
import {
  InvalidQueryParameterError,
  QueryKeyTooLongError,
  QueryMalformedRequestError,
  QueryRequestBodyError,
  QueryRequestRejectedError,
  type QueryServerError,
} from '../errors.js';
import { MAX_KEY_BYTES } from './keys.js';

/**
 * A fastify error with a 4xx `statusCode` (body parsing, URL decoding, schema validation) → our error. Schema
 * validation and URL problems are invalid parameters; body problems say that no route reads a body.
 */
export function fromFrameworkError(error: FastifyError, statusCode: number): QueryServerError {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new QueryKeyTooLongError(MAX_KEY_BYTES);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new QueryRequestBodyError('TRIBUTARY_QUERY_BODY_TOO_LARGE', 413, 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new QueryRequestBodyError('TRIBUTARY_QUERY_MALFORMED_BODY', 400, error.message);
    default:
      if (error.validation !== undefined || error.code === 'FST_ERR_BAD_URL' || statusCode === 400) {
        return new InvalidQueryParameterError(error.message);
      }
      return new QueryRequestRejectedError(statusCode, error.message);
  }
}

/** Limits quoted in the messages of parser-level rejections. */
export interface ParserLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** A `clientError` from Node's HTTP parser (the request never reached fastify) → our error. */
export function fromClientError(error: Error & { code?: string }, limits: ParserLimits): QueryMalformedRequestError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new QueryMalformedRequestError(
      'TRIBUTARY_QUERY_REQUEST_TIMEOUT',
      408,
      `The request did not arrive in time: headers must arrive within ${limits.headersTimeoutMs} ms and the whole ` +
        `request within ${limits.requestTimeoutMs} ms. Send each request at once.`,
    );
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new QueryMalformedRequestError(
      'TRIBUTARY_QUERY_HEADERS_TOO_LARGE',
      431,
      `The request line and headers are larger than ${maxHeaderSize} bytes. Send a shorter URL or fewer headers.`,
    );
  }
  return new QueryMalformedRequestError(
    'TRIBUTARY_QUERY_MALFORMED_REQUEST',
    400,
    `The request is not valid HTTP/1.1 (${error.code ?? error.message}). Check the client sending it.`,
  );
}

/**
 * Writes `error` as a complete HTTP response straight to the socket (there is no fastify reply for a request the
 * parser refused) and closes the connection.
 */
export function writeRawError(socket: Socket, error: QueryServerError): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    // The server keeps sockets half-open; a client still sending would otherwise keep this one.
    () => socket.destroy(),
  );
}
