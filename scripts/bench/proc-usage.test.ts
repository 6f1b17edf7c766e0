import { describe, expect, it } from 'vitest';
import {
  clockTicksPerSecond,
  groupThreadCpu,
  parseMajorFaults,
  parseProcStat,
  parseProcStatName,
  parseVmHwmKb,
  readProcUsage,
  readThreadCpu,
  threadGroup,
  ticksToMs,
} from './proc-usage.js';

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

  it('reads majflt (field 12) of a stat line, counted from the last ")"', () => {
    expect(parseMajorFaults(STAT)).toBe(12);
    expect(parseMajorFaults(TRICKY)).toBe(0);
    expect(() => parseMajorFaults('garbage')).toThrow(/not a \/proc/);
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
    // The kernel's RSS counters are per-CPU and synced in batches of page faults: a read may lag by a few pages.
    expect(after.peakRssKb * 1024).toBeGreaterThanOrEqual(rss - 1024 * 1024);
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
  });
});

describe('per-thread CPU', () => {
  it('reads the thread name of a stat line, parentheses included', () => {
    expect(parseProcStatName(TRICKY)).toBe('node (worker) x');
    expect(parseProcStatName('9 (C2 CompilerThre) S 1 2 3')).toBe('C2 CompilerThre');
  });

  it('groups threads by name without their numbers', () => {
    expect(threadGroup('GC Thread#3')).toBe('GC Thread');
    expect(threadGroup('ks-StreamThread')).toBe('ks-StreamThread');
    expect(threadGroup('libuv-worker')).toBe('libuv-worker');
    expect(threadGroup('G1 Conc#0')).toBe('G1 Conc');
    expect(threadGroup('C2 CompilerThre')).toBe('C2 CompilerThre');
  });

  it('sums CPU per group, biggest first', () => {
    const groups = groupThreadCpu(
      [
        { name: 'GC Thread#0', ticks: { utime: 10, stime: 0 } },
        { name: 'GC Thread#1', ticks: { utime: 5, stime: 5 } },
        { name: 'java', ticks: { utime: 1, stime: 0 } },
        { name: 'ks-StreamThread', ticks: { utime: 300, stime: 20 } },
      ],
      100,
    );
    expect(groups).toEqual([
      { group: 'ks-StreamThread', threads: 1, cpuMs: 3200 },
      { group: 'GC Thread', threads: 2, cpuMs: 200 },
      { group: 'java', threads: 1, cpuMs: 10 },
    ]);
  });

  it.runIf(process.platform === 'linux')('reads the threads of this process', () => {
    const groups = readThreadCpu(process.pid);
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.every((g) => g.threads > 0 && g.cpuMs >= 0)).toBe(true);
    expect(readThreadCpu(2 ** 22 + 12345)).toEqual([]);
  });
});
