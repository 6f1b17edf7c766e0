/**
 * A/B of the HTTP lookup path: runs scripts/bench/http-load.ts (saturated helloWorld, local and global, no open-loop phase)
 * with this checkout's query server and with another checkout's (`--baseline-root`, e.g. main), each run its own
 * process, alternating which goes first (ABBA), and prints per side and scenario the median over the rounds of the
 * rate and of the servers' CPU per request, next to the lookups' ratios to hello world. Every run uses this checkout's
 * harness, client and hello-world route, so only the server code differs. No broker. One JSON document on stdout.
 *
 *   npx tsx scripts/bench/http-ab-bench.ts --baseline-root /work/main [--rounds 5] [--requests 20000]
 *     [--branch-root <dir>]   (the B side's code from another directory, e.g. a snapshot of a commit, default this one)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { PartialHttpLoadResult } from './http-load.js';
import { round } from './stats.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    'baseline-root': { type: 'string' },
    'branch-root': { type: 'string' },
    rounds: { type: 'string' },
    requests: { type: 'string' },
  },
});
const rounds = Number(values.rounds ?? 5);
const requests = Number(values.requests ?? 20_000);
const script = fileURLToPath(new URL('./http-load.ts', import.meta.url));
const here = fileURLToPath(new URL('../..', import.meta.url));
const sides: { name: string; root: string | undefined }[] = [{ name: 'branch', root: values['branch-root'] }];
if (values['baseline-root'] !== undefined) sides.push({ name: 'baseline', root: values['baseline-root'] });
const scenarios = ['helloWorld', 'local', 'global'] as const;
const note = (text: string) => process.stderr.write(`[http-ab] ${text}\n`);

interface Sample {
  readonly rps: number;
  readonly cpuUsPerRequest: number;
}

async function once(root: string | undefined): Promise<Record<(typeof scenarios)[number], Sample>> {
  const args = ['--import', 'tsx', script, '--scenarios', scenarios.join(','), '--open-loop-seconds', '0', '--requests', String(requests)];
  if (root !== undefined) args.push('--code-root', root);
  const { stdout } = await run(process.execPath, args, { cwd: here, maxBuffer: 16 * 1024 * 1024 });
  const result = JSON.parse(stdout) as PartialHttpLoadResult;
  const pick = (name: (typeof scenarios)[number]): Sample => {
    const saturated = result[name]?.saturated;
    if (saturated === undefined) throw new Error(`http-ab: no ${name} result`);
    return { rps: saturated.rps, cpuUsPerRequest: saturated.cpuUsPerRequest };
  };
  return { helloWorld: pick('helloWorld'), local: pick('local'), global: pick('global') };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const samples = new Map<string, Record<(typeof scenarios)[number], Sample>[]>(sides.map((side) => [side.name, []]));
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const side of order) {
    const sample = await once(side.root);
    samples.get(side.name)?.push(sample);
    note(
      `round ${r + 1} ${side.name}: ` +
        scenarios.map((name) => `${name} ${sample[name].rps} req/s ${sample[name].cpuUsPerRequest} us`).join(', '),
    );
  }
}
const summary = Object.fromEntries(
  sides.map((side) => {
    const runs = samples.get(side.name) ?? [];
    const perScenario = Object.fromEntries(
      scenarios.map((name) => [
        name,
        {
          rps: median(runs.map((s) => s[name].rps)),
          cpuUsPerRequest: round(median(runs.map((s) => s[name].cpuUsPerRequest)), 1),
        },
      ]),
    );
    // Ratios per run (hello and lookups of one run share the machine's state), then their median.
    const ratio = (name: 'local' | 'global', field: 'rps' | 'cpu') =>
      round(
        median(
          runs.map((s) => (field === 'rps' ? s[name].rps / s.helloWorld.rps : s.helloWorld.cpuUsPerRequest / s[name].cpuUsPerRequest)),
        ),
        2,
      );
    return [
      side.name,
      {
        root: side.root ?? here,
        ...perScenario,
        vsHelloWorld: {
          localRate: ratio('local', 'rps'),
          globalRate: ratio('global', 'rps'),
          localCpu: ratio('local', 'cpu'),
          globalCpu: ratio('global', 'cpu'),
        },
        runs,
      },
    ];
  }),
);
console.log(JSON.stringify({ rounds, requests, ...summary }, null, 2));
