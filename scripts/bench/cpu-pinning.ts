/**
 * CPU affinity for the open-loop HTTP runs (http-open-loop.ts): the server on some cores, the load (open-loop client
 * processes and the harness's saturating client thread) on the others, so neither takes the other's CPU and the
 * latencies measured are the server's, not the client's lag. Uses util-linux `taskset` (no Node API sets affinity);
 * without it, or with a single core, the runs go unpinned and say so.
 *
 * The pure parts (cpu lists, the split) are unit-tested in cpu-pinning.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Parses a Linux cpu list (`0,2-3`, as taskset -c and /sys print them) into ascending cpu numbers. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new Error(`not a cpu list: "${text}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`not a cpu list: "${text}"`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The cpu list out of `taskset -p -c <pid>`'s answer: `pid 12's current affinity list: 0,1`. */
export function parseTasksetList(output: string): number[] {
  const match = /affinity list:\s*([\d,\-\s]+)$/m.exec(output.trim());
  if (match === null) throw new Error(`unexpected taskset output: ${output.slice(0, 120)}`);
  return parseCpuList(match[1]);
}

/** Cpu numbers as a list taskset -c takes. */
export function formatCpuList(cpus: readonly number[]): string {
  return cpus.join(',');
}

export interface CpuSplit {
  /** Cores of the server process (all its threads). */
  readonly server: readonly number[];
  /** Cores of the load: open-loop client processes and the harness while it saturates the server. */
  readonly client: readonly number[];
}

/**
 * Splits the cores a process may use between the server and its load: the first half (rounded up) to the server, the
 * rest to the client. Undefined with fewer than two cores: there is nothing to split.
 */
export function splitCpus(available: readonly number[]): CpuSplit | undefined {
  const cpus = [...new Set(available)].sort((a, b) => a - b);
  if (cpus.length < 2) return undefined;
  const serverCount = Math.ceil(cpus.length / 2);
  return { server: cpus.slice(0, serverCount), client: cpus.slice(serverCount) };
}

/** How the open-loop phase placed its processes, as recorded in the bench's JSON. */
export type Pinning =
  | { readonly mode: 'split'; readonly serverCpus: string; readonly clientCpus: string; readonly tool: 'taskset' }
  | { readonly mode: 'none'; readonly reason: string };

/** The cores this process may run on, per taskset; undefined when taskset is not there. */
export function currentCpus(pid = process.pid): number[] | undefined {
  try {
    return parseTasksetList(execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

/** The split for the open-loop phase, or why there is none. */
export function planPinning(wanted: 'split' | 'none'): { pinning: Pinning; split: CpuSplit | undefined } {
  if (wanted === 'none') return { pinning: { mode: 'none', reason: 'asked for (--open-loop-pinning none)' }, split: undefined };
  const cpus = currentCpus();
  if (cpus === undefined) return { pinning: { mode: 'none', reason: 'taskset not found' }, split: undefined };
  const split = splitCpus(cpus);
  if (split === undefined) return { pinning: { mode: 'none', reason: `one core only (${formatCpuList(cpus)})` }, split: undefined };
  return {
    pinning: { mode: 'split', serverCpus: formatCpuList(split.server), clientCpus: formatCpuList(split.client), tool: 'taskset' },
    split,
  };
}

/** `command args` run on `cpus` (taskset -c execs the command, so the pid stays the command's). */
export function pinnedCommand(cpus: readonly number[] | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [command, [...args]] : ['taskset', ['-c', formatCpuList(cpus), command, ...args]];
}

/**
 * Moves every thread of process `pid` to `cpus`; the answer puts them back where they were. Threads started later
 * inherit the affinity of the thread that starts them.
 */
export function pinProcess(pid: number, cpus: readonly number[]): () => void {
  const before = currentCpus(pid);
  const set = (list: readonly number[]) =>
    execFileSync('taskset', ['-a', '-p', '-c', formatCpuList(list), String(pid)], { stdio: 'ignore' });
  set(cpus);
  return () => {
    if (before !== undefined) set(before);
  };
}

/**
 * Lowers threads of this process to the lowest CPU priority (nice 19; Linux keeps a nice value per thread): every
 * thread but the main one, or (`mainThread`) the main thread alone; the answer restores each thread's value. For a
 * harness that only waits while a pinned client shares its core: its GC (a mark-compact with V8's helper threads, each
 * taking a 4 ms slice) otherwise stopped the client for ~20 ms at a time. The main thread is lowered only while a
 * client runs, since a process it spawns inherits its value; raising it again needs root (or RLIMIT_NICE), else it
 * stays low, and so do the clients it spawns later: as before, all at one priority.
 */
export function lowerOwnPriority(which: 'helpers' | 'mainThread'): () => void {
  const before = new Map<number, number>();
  const tids =
    which === 'mainThread'
      ? [process.pid]
      : readdirSync('/proc/self/task')
          .map(Number)
          .filter((tid) => tid !== process.pid);
  for (const tid of tids) {
    try {
      before.set(tid, getPriority(tid));
      setPriority(tid, 19);
    } catch {
      // the thread ended meanwhile
    }
  }
  return () => {
    for (const [tid, priority] of before) {
      try {
        setPriority(tid, priority);
      } catch {
        // ended, or not allowed to raise it again
      }
    }
  };
}
