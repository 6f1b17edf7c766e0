// @ts-check
/** Number, time and byte formatting for the console. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** 1234567 → "1,234,567". @param {number} value */
export const formatInt = (value) => integer.format(value);

/** 12345 → "12.3k", for tight spots. @param {number} value */
export function formatCompact(value) {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${oneDecimal.format(value / 1e9)}G`;
  if (abs >= 1e6) return `${oneDecimal.format(value / 1e6)}M`;
  if (abs >= 1e4) return `${oneDecimal.format(value / 1e3)}k`;
  return abs >= 100 ? integer.format(value) : oneDecimal.format(value);
}

/** Records per second. @param {number | null | undefined} value */
export function formatRate(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return `${formatCompact(value)}/s`;
}

/** 95_000 ms → "1 m 35 s". @param {number | null | undefined} ms */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} m`;
}

/** Epoch ms → "14:03:07". @param {number} epochMs */
export const formatClock = (epochMs) => new Date(epochMs).toLocaleTimeString('en-GB', { hour12: false });

/** Epoch ms → "2026-12-06 14:03:07". @param {number} epochMs */
export function formatTimestamp(epochMs) {
  const date = new Date(epochMs);
  if (Number.isNaN(date.getTime())) return String(epochMs);
  return `${date.toISOString().slice(0, 10)} ${formatClock(epochMs)}`;
}

/** 2048 → "2.0 KiB". @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "0.42" → "42%". @param {number} fraction */
export const formatPercent = (fraction) => `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`;
