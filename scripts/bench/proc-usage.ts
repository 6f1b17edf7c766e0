/**
 * CPU time and peak RSS of another process from Linux procfs, read the same way for a Node and a JVM child:
 * user + system time from /proc/<pid>/stat (utime, stime: every thread of the process, in clock ticks) and the
 * resident-set high-water mark VmHWM from /proc/<pid>/status. Must be read while the process is alive.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcCpuTicks {
  readonly utime: number;
  readonly stime: number;
}

export interface ProcUsage {
  /** user + system CPU time since the process started, ms. */
  readonly cpuMs: number;
  /** Peak resident set size (VmHWM), KiB. */
  readonly peakRssKb: number;
}

/**
 * utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. The command name (field 2) sits in parentheses
 * and may itself contain spaces and ')', so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcCpuTicks {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After ") " come field 3 (state), 4 (ppid), ... so field n is at index n - 3.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error(`no utime/stime in /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return { utime, stime };
}

/** VmHWM of a /proc/<pid>/status text, in KiB. */
export function parseVmHwmKb(text: string): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  if (!match) throw new Error('no VmHWM line in /proc/<pid>/status');
  return Number(match[1]);
}

let clockTicks: number | undefined;

/** USER_HZ (clock ticks per second of /proc times), from `getconf CLK_TCK`; 100 if that fails (Linux default). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export function ticksToMs(ticks: ProcCpuTicks, ticksPerSecond: number): number {
  return ((ticks.utime + ticks.stime) * 1000) / ticksPerSecond;
}

/** CPU and peak RSS of `pid` now; throws when the process is gone (or on a system without procfs). */
export function readProcUsage(pid: number): ProcUsage {
  const cpu = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const peakRssKb = parseVmHwmKb(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ticksToMs(cpu, clockTicksPerSecond()), peakRssKb };
}
