/** The console's window-store browser: typed times and how window sizes and times are shown. */
import { describe, expect, it } from 'vitest';
import { formatWindowSize, formatWindowTime, parseTime } from './console/window-time.js';

describe('console window times', () => {
  it('reads epoch milliseconds, ISO date-times (UTC without a zone) and no bound', () => {
    expect(parseTime('', 'From')).toBeUndefined();
    expect(parseTime(' 3600000 ', 'From')).toBe(3_600_000);
    expect(parseTime('2026-12-06T14:00', 'From')).toBe(Date.UTC(2026, 11, 6, 14));
    expect(parseTime('2026-12-06T14:00:00+01:00', 'From')).toBe(Date.UTC(2026, 11, 6, 13));
    expect(parseTime('2026-12-06', 'From')).toBe(Date.UTC(2026, 11, 6));
    expect(() => parseTime('yesterday', 'To')).toThrow(/To: "yesterday" is neither epoch milliseconds nor an ISO date-time/);
  });

  it('shows window sizes in their unit and window bounds in UTC, round-tripping through parseTime', () => {
    expect([3_600_000, 300_000, 5000, 1500].map(formatWindowSize)).toEqual(['1 h', '5 min', '5 s', '1500 ms']);
    const start = Date.UTC(2026, 11, 6, 14);
    expect(formatWindowTime(start)).toBe('2026-12-06 14:00:00Z');
    expect(formatWindowTime(start + 5)).toBe('2026-12-06 14:00:00.005Z');
    expect(parseTime(formatWindowTime(start).replace(' ', 'T'), 'From')).toBe(start);
  });
});
