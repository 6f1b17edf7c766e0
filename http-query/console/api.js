// @ts-check
/**
 * Calls to the instance's HTTP API. The page lives at <base>/ui/, so the API is at <base>/ (relative URLs keep it
 * working behind a path prefix). With auth on, the bearer token typed into the page is kept in sessionStorage (this
 * tab only, gone when it closes) and sent as `Authorization: Bearer <token>` with every call.
 */

const TOKEN_KEY = 'tributary.console.token';

/** Base URL of the API: the directory above /ui/. */
export const apiBase = new URL('../', window.location.href);

export function storedToken() {
  return window.sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** @param {string} token */
export function storeToken(token) {
  if (token === '') window.sessionStorage.removeItem(TOKEN_KEY);
  else window.sessionStorage.setItem(TOKEN_KEY, token);
  window.dispatchEvent(new Event('tributary-token'));
}

/** A refused call: the server's error code and message (every error body is `{"error":{"code","message"}}`). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string | null} retryAfter
   */
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * A GET of the API. Resolves to the status and parsed body whatever the status (the store browser shows 404s and
 * 503s as answers); `getJson` below throws for anything but 2xx.
 * @param {string} path relative to the API base, e.g. `stores/customers/keys/c-1`
 * @param {AbortSignal} [signal]
 * @returns {Promise<{ status: number, body: unknown, retryAfter: string | null, elapsedMs: number }>}
 */
export async function request(path, signal) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const token = storedToken();
  if (token !== '') headers.authorization = `Bearer ${token}`;
  const started = performance.now();
  const response = await fetch(new URL(path, apiBase), { headers, signal, cache: 'no-store' });
  const text = await response.text();
  /** @type {unknown} */
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (response.status === 401) window.dispatchEvent(new Event('tributary-unauthorized'));
  return { status: response.status, body, retryAfter: response.headers.get('retry-after'), elapsedMs: performance.now() - started };
}

/** The `{ code, message }` of an error body, if it is one. @param {unknown} body */
export function errorOf(body) {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = /** @type {{ error: unknown }} */ (body).error;
    if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
      return { code: String(error.code), message: String(error.message) };
    }
  }
  return undefined;
}

/**
 * @template T
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<T>}
 */
export async function getJson(path, signal) {
  const { status, body, retryAfter } = await request(path, signal);
  if (status >= 200 && status < 300) return /** @type {T} */ (body);
  const error = errorOf(body);
  throw new ApiError(status, error?.code ?? `HTTP_${status}`, error?.message ?? String(body).slice(0, 300), retryAfter);
}

/**
 * A path segment, percent-encoded (keys may hold `/`, `?`, `%`, unicode).
 * @param {string} text
 */
export const segment = (text) => encodeURIComponent(text);
