/**
 * The memory one side of a comparison occupies at a moment, sampled from /proc/<pid>/smaps of its processes (Linux):
 * anonymous pages summed over the processes, pages of a file mapped by several of them (the `node` binary and its
 * libraries when Tributary runs two processes) counted once, at the largest resident size any one maps. For one
 * process this is its RSS. Summing each process's VmHWM instead counts a shared binary once per process, and adds
 * peaks that did not happen at the same time; the side's Kafka Streams counterpart is one JVM, where neither happens.
 * Pages shared with processes outside the side (the harness, the broker) stay counted in full, unlike PSS, so the
 * figure does not depend on what else runs on the machine.
 */
import { readFileSync } from 'node:fs';

/** One mapping's resident size: `file` is `<path>@<offset>` for a file mapping, undefined for anonymous memory. */
export interface ResidentMapping {
  readonly file: string | undefined;
  readonly rssKb: number;
}

/** The mappings of one /proc/<pid>/smaps text with their Rss. */
export function parseResidentMappings(text: string): ResidentMapping[] {
  const mappings: ResidentMapping[] = [];
  let file: string | undefined;
  let inMapping = false;
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
    if (header !== null) {
      const path = header[3].trim();
      // A file mapping has an inode; [heap], [stack] and anonymous memory have inode 0.
      file = header[2] !== '0' && path !== '' && !path.startsWith('[') ? `${path}@${header[1]}` : undefined;
      inMapping = true;
      continue;
    }
    if (!inMapping) continue;
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss !== null) {
      mappings.push({ file, rssKb: Number(rss[1]) });
      inMapping = false;
    }
  }
  return mappings;
}

/** The side's resident memory (KiB) from each process's mappings: anonymous summed, each file mapping counted once. */
export function sideResidentKb(processes: readonly (readonly ResidentMapping[])[]): {
  readonly sharedOnceKb: number;
  readonly summedKb: number;
} {
  let anonymous = 0;
  let summed = 0;
  const files = new Map<string, number>();
  for (const mappings of processes) {
    for (const { file, rssKb } of mappings) {
      summed += rssKb;
      if (file === undefined) anonymous += rssKb;
      else files.set(file, Math.max(files.get(file) ?? 0, rssKb));
    }
  }
  let fileKb = 0;
  for (const kb of files.values()) fileKb += kb;
  return { sharedOnceKb: anonymous + fileKb, summedKb: summed };
}

export interface SideMemoryPeak {
  readonly intervalMs: number;
  readonly samples: number;
  /** The highest sampled side memory, shared file pages counted once, MiB. */
  readonly sharedOnceMb: number;
  /** The highest sampled sum of the processes' RSS at one moment, MiB. */
  readonly summedMb: number;
}

/** Samples the side's processes every `intervalMs` until stopped; keeps the peaks. */
export class SideMemorySampler {
  private readonly timer: NodeJS.Timeout;
  private samples = 0;
  private sharedOnceKb = 0;
  private summedKb = 0;

  constructor(
    private readonly pids: () => readonly number[],
    private readonly intervalMs = 200,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes one more sample (so the end condition is in), stops, and returns the peaks (undefined with no sample). */
  stop(): SideMemoryPeak | undefined {
    this.sample();
    clearInterval(this.timer);
    if (this.samples === 0) return undefined;
    const mb = (kb: number) => Math.round(kb / 1024);
    return { intervalMs: this.intervalMs, samples: this.samples, sharedOnceMb: mb(this.sharedOnceKb), summedMb: mb(this.summedKb) };
  }

  private sample(): void {
    const perProcess: ResidentMapping[][] = [];
    for (const pid of this.pids()) {
      try {
        perProcess.push(parseResidentMappings(readFileSync(`/proc/${pid}/smaps`, 'utf8')));
      } catch {
        return; // a process is gone: this moment is not the side's whole memory
      }
    }
    if (perProcess.length === 0) return;
    const { sharedOnceKb, summedKb } = sideResidentKb(perProcess);
    this.samples++;
    this.sharedOnceKb = Math.max(this.sharedOnceKb, sharedOnceKb);
    this.summedKb = Math.max(this.summedKb, summedKb);
  }
}
