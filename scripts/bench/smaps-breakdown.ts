/**
 * What another process's resident set is made of, from /proc/<pid>/smaps (Linux), for benches that ask where a peak
 * goes: glibc's main heap (`[heap]`, the brk arena), glibc's per-thread arenas (anonymous mappings starting on a
 * 64 MiB boundary: glibc reserves each non-main arena as one 64 MiB-aligned heap), other anonymous memory (V8's
 * spaces, mmap'd malloc chunks, thread stacks), files under a given directory (LevelDB's mapped table files) and
 * other files (the node binary, libraries).
 */
import { readFileSync } from 'node:fs';

export interface SmapsBreakdown {
  /** Sum of Rss over every mapping, MiB. */
  readonly rssMb: number;
  readonly mainHeapMb: number;
  readonly arenasMb: number;
  /** Number of glibc arena mappings with resident pages. */
  readonly arenas: number;
  readonly otherAnonMb: number;
  readonly stateFilesMb: number;
  readonly otherFilesMb: number;
  /** The largest other anonymous mappings: `<size KiB>:<rss KiB>`, biggest RSS first (at most 8). */
  readonly largestOtherAnon: readonly string[];
}

const ARENA_ALIGNMENT = 64n * 1024n * 1024n;

/** Parses smaps text; `stateDir` marks the files counted as state (omit: none). */
export function parseSmaps(text: string, stateDir?: string): SmapsBreakdown {
  const kb = { mainHeap: 0, arenas: 0, otherAnon: 0, stateFiles: 0, otherFiles: 0 };
  let arenas = 0;
  let kind: keyof typeof kb = 'otherAnon';
  let isArena = false;
  let size = 0;
  const otherAnon: { size: number; rss: number }[] = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const start = BigInt(`0x${header[1]}`);
      const path = header[3].trim();
      size = Number((BigInt(`0x${header[2]}`) - start) / 1024n);
      isArena = false;
      if (path === '[heap]') kind = 'mainHeap';
      else if (path === '' && start % ARENA_ALIGNMENT === 0n) {
        kind = 'arenas';
        isArena = true;
      } else if (path === '' || path.startsWith('[')) kind = 'otherAnon';
      else if (stateDir !== undefined && path.startsWith(stateDir)) kind = 'stateFiles';
      else kind = 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss !== null) {
      const value = Number(rss[1]);
      kb[kind] += value;
      if (kind === 'otherAnon' && value > 0) otherAnon.push({ size, rss: value });
      if (isArena && value > 0) arenas++;
    }
  }
  const mb = (value: number) => Math.round((value / 1024) * 10) / 10;
  const total = kb.mainHeap + kb.arenas + kb.otherAnon + kb.stateFiles + kb.otherFiles;
  return {
    rssMb: mb(total),
    mainHeapMb: mb(kb.mainHeap),
    arenasMb: mb(kb.arenas),
    arenas,
    otherAnonMb: mb(kb.otherAnon),
    stateFilesMb: mb(kb.stateFiles),
    otherFilesMb: mb(kb.otherFiles),
    largestOtherAnon: otherAnon
      .sort((a, b) => b.rss - a.rss)
      .slice(0, 8)
      .map((m) => `${m.size}:${m.rss}`),
  };
}

/** The breakdown of a live process, or undefined once it is gone. */
export function readSmapsBreakdown(pid: number, stateDir?: string): SmapsBreakdown | undefined {
  try {
    return parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'), stateDir);
  } catch {
    return undefined;
  }
}
