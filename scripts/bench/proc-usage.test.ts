import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, parseProcStat, parseVmHwmKb, readProcUsage, ticksToMs } from './proc-usage.js';

// Real lines: a JVM thread-name-like command with spaces and parentheses must not shift the fields.
const STAT = '4242 (java) S 1 4242 4242 0 -1 4194560 123456 0 12 0 1534 287 0 0 20 0 57 0 9876 4123456789 61234 18446744073709551615';
const TRICKY = '77 (node (worker) x) R 1 77 77 0 -1 4194304 10 0 0 0 250 50 3 1 20 0 11 0 100 200 300';

describe('/proc parsing', () => {
  it('reads utime and stime (fields 14 and 15) of a stat line', () => {
    expect(parseProcStat(STAT)).toEqual({ utime: 1534, stime: 287 });
  });

  it('counts fields from the last ")" so a command name with spaces and parentheses does not shift them', () => {
    expect(parseProcStat(TRICKY)).toEqual({ utime: 250, stime: 50 });
  });

  it('rejects text that is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc/);
    expect(() => parseProcStat('1 (x) S 1')).toThrow(/no utime/);
  });

  it('reads VmHWM from a status text', () => {
    const status = ['Name:\tjava', 'VmPeak:\t 5000000 kB', 'VmHWM:\t  412345 kB', 'VmRSS:\t  400000 kB'].join('\n');
    expect(parseVmHwmKb(status)).toBe(412_345);
    expect(() => parseVmHwmKb('Name:\tx\nVmRSS:\t1 kB')).toThrow(/VmHWM/);
  });

  it('converts clock ticks to milliseconds', () => {
    expect(ticksToMs({ utime: 150, stime: 50 }, 100)).toBe(2000);
    expect(ticksToMs({ utime: 1, stime: 0 }, 250)).toBe(4);
  });

  it.runIf(process.platform === 'linux')('reads this process: CPU grows with work, peak RSS is at least the current RSS', () => {
    const before = readProcUsage(process.pid);
    let x = 0;
    const until = performance.now() + 60;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const rss = process.memoryUsage.rss();
    const after = readProcUsage(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(after.cpuMs).toBeGreaterThan(before.cpuMs);
    expect(after.peakRssKb * 1024).toBeGreaterThanOrEqual(rss);
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
  });
});
