/**
 * Where the CPU went in a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- --vs-kafka-streams
 * --tributary-cpu-prof <dir>`): self time grouped into areas (kafkajs fetch/decode, produce/encode, JSON, msgpack,
 * LevelDB, engine, ...), then the top functions. Prints JSON.
 *
 *   npx tsx scripts/bench/cpu-profile-summary.ts <file.cpuprofile> [--top 30]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Ordered rules: the first that matches a frame names its area. */
const AREAS: readonly { readonly area: string; readonly match: (fn: string, url: string) => boolean }[] = [
  { area: 'gc', match: (fn) => fn === '(garbage collector)' },
  { area: 'idle', match: (fn) => fn === '(idle)' },
  { area: 'program (native, unattributed)', match: (fn) => fn === '(program)' },
  { area: 'JSON.parse / JSON.stringify', match: (fn, url) => url === '' && (fn === 'parse' || fn === 'stringify') },
  {
    area: 'kafkajs fetch + decode',
    match: (_fn, url) =>
      /kafkajs\/src\/(protocol\/decoder\.js|protocol\/recordBatch\/.*decoder\.js|protocol\/requests\/fetch\/|consumer\/batch\.js)/.test(
        url,
      ),
  },
  {
    area: 'kafkajs produce + encode (incl. CRC32C)',
    match: (_fn, url) =>
      /kafkajs\/src\/(protocol\/encoder\.js|protocol\/recordBatch\/(v0|record\/v0|header\/v0)\/index\.js|protocol\/recordBatch\/crc32C\/|protocol\/requests\/produce\/|producer\/)/.test(
        url,
      ),
  },
  { area: 'kafkajs network', match: (_fn, url) => /kafkajs\/src\/network/.test(url) },
  { area: 'kafkajs Long (64-bit offsets, timestamps)', match: (_fn, url) => /kafkajs\/src\/utils\/long/.test(url) },
  { area: 'kafkajs consumer runner', match: (_fn, url) => /kafkajs\/src\/consumer/.test(url) },
  { area: 'kafkajs other', match: (_fn, url) => /kafkajs\//.test(url) },
  { area: 'msgpackr', match: (_fn, url) => /msgpackr/.test(url) },
  {
    area: 'LevelDB (classic-level / abstract-level)',
    match: (_fn, url) => /(classic-level|abstract-level|level-transcoder|module-error|maybe-combine-errors)/.test(url),
  },
  { area: 'tributary state-store', match: (_fn, url) => /\/state-store\//.test(url) },
  { area: 'tributary engine (StreamTask, joins)', match: (_fn, url) => /\/processor\/engine\//.test(url) },
  { area: 'serdes: serialize (JSON.stringify, Buffer.from)', match: (fn, url) => /\/topology\/serdes/.test(url) && fn === 'serialize' },
  { area: 'serdes: deserialize (UTF-8 decode, JSON.parse)', match: (_fn, url) => /\/topology\/serdes/.test(url) },
  { area: 'tributary topology (nodes)', match: (_fn, url) => /\/topology\//.test(url) },
  { area: 'tributary kafka adapter', match: (_fn, url) => /\/processor\/kafka\//.test(url) },
  { area: 'tributary runtime (commit, tasks, global tables)', match: (_fn, url) => /\/processor\/runtime\//.test(url) },
  { area: 'tributary common (partitioner, records)', match: (_fn, url) => /\/common\//.test(url) },
  { area: 'bench worker / examples (joiner)', match: (_fn, url) => /\/(scripts|examples)\//.test(url) },
  { area: 'tsx / module loading', match: (_fn, url) => /(tsx|esbuild|get-tsconfig)/.test(url) },
  { area: 'node internals', match: (_fn, url) => url.startsWith('node:') },
  { area: 'other node_modules', match: (_fn, url) => /node_modules/.test(url) },
  { area: 'V8 builtins / native', match: (_fn, url) => url === '' },
];

/** Areas that say little on their own: their self time is charged to the nearest caller with a specific area. */
const GENERIC_AREAS: ReadonlySet<string> = new Set([
  'node internals',
  'V8 builtins / native',
  'kafkajs Long (64-bit offsets, timestamps)',
  'other node_modules',
  'other',
]);

export function areaOf(functionName: string, url: string): string {
  for (const rule of AREAS) if (rule.match(functionName, url)) return rule.area;
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length);
  const marker = url.search(/\/(processor|state-store|topology|common|scripts|examples|cli|http-query)\//);
  return marker === -1 ? url : url.slice(marker + 1);
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Main-thread (JavaScript) busy time the profile saw; LevelDB and GC helper threads are not in a V8 profile. */
  readonly sampledMs: number;
  readonly areas: readonly { readonly area: string; readonly ms: number; readonly percent: number }[];
  /** As `areas`, with the self time of generic frames (Buffer internals, natives, socket writes) charged to their caller. */
  readonly areasByCaller: readonly { readonly area: string; readonly ms: number; readonly percent: number }[];
  readonly functions: readonly {
    readonly function: string;
    readonly where: string;
    readonly area: string;
    readonly ms: number;
    readonly percent: number;
  }[];
}

/** Self time per area and per function (samples × their time deltas), biggest first; idle excluded from percentages. */
export function summarizeProfile(profile: CpuProfile, top = 30): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const callerArea = (id: number): string => {
    const own = byId.get(id)!.callFrame;
    const ownArea = areaOf(own.functionName, own.url);
    if (!GENERIC_AREAS.has(ownArea)) return ownArea;
    for (let current = parentOf.get(id); current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)!.callFrame;
      if (frame.functionName === '(root)') break;
      const area = areaOf(frame.functionName, frame.url);
      if (!GENERIC_AREAS.has(area)) return area;
    }
    return ownArea;
  };
  const byCaller = new Map<string, number>();
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { function: string; where: string; area: string; us: number }>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(functionName, url);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const charged = callerArea(id);
    byCaller.set(charged, (byCaller.get(charged) ?? 0) + us);
    if (area !== 'idle') busyUs += us;
    const where = url === '' ? '(native)' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { function: functionName || '(anonymous)', where, area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const percent = (us: number) => (busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0);
  const ranked = (totals: ReadonlyMap<string, number>) =>
    [...totals]
      .filter(([area]) => area !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: Math.round(us / 1000), percent: percent(us) }));
  return {
    totalMs: Math.round((profile.endTime - profile.startTime) / 1000),
    sampledMs: Math.round(busyUs / 1000),
    areas: ranked(areas),
    areasByCaller: ranked(byCaller),
    functions: [...functions.values()]
      .filter((f) => f.area !== 'idle')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.function, where: f.where, area: f.area, ms: Math.round(f.us / 1000), percent: percent(f.us) })),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, flag, value] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: cpu-profile-summary.ts <file.cpuprofile> [--top 30]\n');
    process.exit(2);
  }
  const top = flag === '--top' ? Number(value) : 30;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${JSON.stringify(summarizeProfile(profile, top), null, 2)}\n`);
}
