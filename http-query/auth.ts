/** Optional bearer-token check, compared in constant time (both sides hashed to equal length first). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { QueryUnauthorizedError } from '../errors.js';

/** `Bearer <credentials>`; the scheme name is case-insensitive (RFC 7235), one or more spaces follow it. */
const BEARER = /^bearer +(.*)$/is;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export function bearerTokenCheck(token: string): (request: FastifyRequest) => void {
  const expected = digest(token);
  return (request) => {
    const header = request.headers.authorization;
    const credentials = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (credentials === undefined || credentials === '') throw new QueryUnauthorizedError();
    if (!timingSafeEqual(digest(credentials), expected)) throw new QueryUnauthorizedError();
  };
}
