// @ts-check
/** Times of the window store browser (windows-view.js): window sizes as text, and typed times as epoch ms. */

/** 3600000 → "1 h". @param {number} ms */
export function formatWindowSize(ms) {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * A typed time: '' → undefined (no bound), digits → epoch ms, anything else → an ISO date-time (a date-time without
 * a zone is UTC here, as the windows are shown). Throws for text that is neither.
 * @param {string} text @param {string} what
 */
export function parseTime(text, what) {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(trimmed) || !trimmed.includes('T') ? trimmed : `${trimmed}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms) || ms < 0) throw new Error(`${what}: "${text}" is neither epoch milliseconds nor an ISO date-time`);
  return ms;
}

/** Epoch ms → "2026-12-06 14:00:00Z" (UTC, as typed times without a zone are read). @param {number} ms */
export function formatWindowTime(ms) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return String(ms);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, iso.endsWith('.000Z') ? 19 : 23)}Z`;
}
