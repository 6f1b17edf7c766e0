/** Optional bearer-token check, compared in constant time (both sides hashed to equal length first). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { QueryUnauthorizedError } from '../errors.js';

const BEARER = 'Bearer ';

export function bearerTokenCheck(token: string): (request: FastifyRequest) => void {
  const expected = createHash('sha256').update(BEARER + token).digest();
  return (request) => {
    const header = request.headers.authorization;
    if (header === undefined) throw new QueryUnauthorizedError();
    const actual = createHash('sha256').update(header).digest();
    if (!timingSafeEqual(actual, expected)) throw new QueryUnauthorizedError();
  };
}
