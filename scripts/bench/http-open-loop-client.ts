/**
 * Open-loop HTTP load at a fixed rate, run as its own process (so its CPU, heap and GC pauses are not the server's):
 * reads one job (JSON, `OpenLoopJob`) on stdin, prints one `OpenLoopResult` (JSON) on stdout.
 *
 * Request i is due `i / rate` s after the start (http-open-loop-math.ts) and is sent as soon as the client sees it is
 * due, whether or not earlier answers came back; its latency runs from its due time to its answer's last byte. A
 * server pause therefore shows in every request scheduled behind it, and so does the client's own lag in sending
 * (timer granularity, its GC): `sendLag` reports that part separately, so the two can be told apart (`timer: 'spin'`
 * all but removes the granularity part, for a client on a core of its own). The first
 * `warmupSeconds` of the schedule run the same way but are not counted (JIT, connections opening).
 *
 * Requests go over a pool of keep-alive connections (http-raw-pool.ts: one request per connection at a time, no
 * pipelining); when every connection is busy, a request waits in the pool's queue, and that wait counts. Answers are
 * read in full.
 *
 * Why not autocannon: its `overallRate` splits the rate over its connections, each of which is closed-loop (sends its
 * next request when the previous answer arrived) and stops for the rest of the second once it sent its share, so the
 * load comes in bursts at each second's start and latency is timed from the actual send; its `-C` option corrects
 * afterwards by adding estimated samples. Timing from a schedule is what measures latency at a rate, and it takes
 * a few lines here. Not undici either (a first version used its Pool.dispatch): about 55 µs of client CPU per request,
 * as much as the server's answer, on a machine whose two cores the client shares with the server.
 *
 *   echo '{"origin":"http://127.0.0.1:8080","paths":["/x"],"rate":1000,"seconds":5}' | npx tsx scripts/bench/http-open-loop-client.ts
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { getRequest, RawHttpPool } from './http-raw-pool.js';
import { achievedRate, dueAtMs, dueCount, summarizeLatencies, type LatencySummary } from './http-open-loop-math.js';

export interface OpenLoopJob {
  /** `http://host:port` of the server. */
  readonly origin: string;
  /** Request paths (with query), used in turn. */
  readonly paths: readonly string[];
  /** Requests per second. */
  readonly rate: number;
  /** Length of the measured part of the schedule. */
  readonly seconds: number;
  /** Length of the uncounted part before it (default 2). */
  readonly warmupSeconds?: number;
  /** Keep-alive connections (default 64). */
  readonly connections?: number;
  /** Give up on answers this long after the last request was due (default 30 s); those count as errors. */
  readonly drainSeconds?: number;
  /** How the client waits for the next due time (default `timeout`): see `ClientTimer`. */
  readonly timer?: ClientTimer;
}

/**
 * `timeout`: a timer aimed at the next due time. Node's timers have 1 ms granularity, so requests go out up to ~1 ms
 * late, in small bursts (the send lag). `spin`: the last ~2 ms before a due time are spent turning the event loop
 * (setImmediate), answers still read as they come, so requests go out within µs of their due time; it keeps one core
 * busy, so only for a client on cores of its own (http-open-loop.ts pins it so).
 */
export type ClientTimer = 'timeout' | 'spin';

/** Spin this long before a due time rather than trust a timer to wake up on time. */
const SPIN_AHEAD_MS = 2;

export interface OpenLoopResult {
  readonly targetRps: number;
  /** Answers per second over the measured window (http-open-loop-math.ts achievedRate). */
  readonly achievedRps: number;
  readonly seconds: number;
  readonly connections: number;
  /** Measured requests (scheduled in the window). */
  readonly requests: number;
  /** Non-200 answers, transport failures and requests left unanswered (`unanswered`). */
  readonly errors: number;
  readonly unanswered: number;
  /** Due time to answer, ms: the latency a client arriving at that rate sees. */
  readonly latency: LatencySummary;
  /** Due time to handing the request to the pool, ms: the client's own lag in getting it out. */
  readonly sendLag: LatencySummary;
  /**
   * Handing the request to the pool to its answer's last byte, ms: `latency` without the client's send lag. Still open
   * loop (requests go out whatever came back; waits for a free connection count), so the server's queue shows in it.
   */
  readonly sinceSend: LatencySummary;
  /** Most requests outstanding at once (sent, not yet answered). */
  readonly maxInFlight: number;
  /** CPU (user + system, µs) of this client process per measured request, for reference. */
  readonly clientCpuUsPerRequest: number;
  /** CPU (user + system, ms) of this client process from its start to the result. */
  readonly clientCpuMs: number;
  readonly timer: ClientTimer;
}

export async function runOpenLoop(job: OpenLoopJob): Promise<OpenLoopResult> {
  const { rate, seconds, paths } = job;
  const warmupSeconds = job.warmupSeconds ?? 2;
  const connections = job.connections ?? 64;
  const drainMs = (job.drainSeconds ?? 30) * 1000;
  const timer = job.timer ?? 'timeout';
  if (!(rate > 0) || !(seconds > 0) || paths.length === 0) throw new Error('open loop: need rate > 0, seconds > 0 and paths');
  const warmupCount = Math.ceil(rate * warmupSeconds);
  const measuredCount = Math.max(1, Math.floor(rate * seconds));
  const total = warmupCount + measuredCount;
  const latencies = new Float64Array(measuredCount).fill(Number.NaN);
  const sendLags = new Float64Array(measuredCount);
  const sinceSends = new Float64Array(measuredCount).fill(Number.NaN);
  const origin = new URL(job.origin);
  const pool = new RawHttpPool(origin.hostname, Number(origin.port), connections);
  const requests = paths.map((path) => getRequest(origin.host, path));
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastAnswerMs = 0;
  let cpuAtWindow: NodeJS.CpuUsage | undefined;
  const start = performance.now() + 10;

  let finish: () => void = () => undefined;
  const allAnswered = new Promise<void>((resolve) => (finish = resolve));

  const send = (index: number): void => {
    const due = start + dueAtMs(index, rate);
    const measured = index - warmupCount;
    const sentAt = performance.now();
    if (measured >= 0) sendLags[measured] = sentAt - due;
    if (measured === 0) cpuAtWindow = process.cpuUsage();
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const done = (ok: boolean): void => {
      const now = performance.now();
      inFlight--;
      if (measured >= 0) {
        latencies[measured] = now - due;
        sinceSends[measured] = now - sentAt;
        if (!ok) errors++;
        lastAnswerMs = Math.max(lastAnswerMs, now);
      }
      if (++answered === total) finish();
      else sendDue();
    };
    pool.request(requests[index % requests.length], done);
  };

  // Sends whatever is due now; called from a timer aimed at the next due time and after every answer.
  const sendDue = (): void => {
    const due = dueCount(performance.now() - start, rate, total);
    while (sent < due) send(sent++);
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      sendDue();
      if (sent >= total) return resolve();
      const waitMs = start + dueAtMs(sent, rate) - performance.now();
      if (timer === 'spin' && waitMs < SPIN_AHEAD_MS) setImmediate(tick);
      else setTimeout(tick, Math.max(0, timer === 'spin' ? waitMs - SPIN_AHEAD_MS : waitMs));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const drained = await Promise.race([
    allAnswered.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), drainMs).unref()),
  ]);
  const cpu = process.cpuUsage(cpuAtWindow);
  const answeredLatencies = drained ? latencies : latencies.filter((value) => !Number.isNaN(value));
  const unanswered = measuredCount - answeredLatencies.length;
  pool.close();
  return {
    targetRps: Math.round(rate),
    achievedRps: achievedRate(answeredLatencies.length, start + dueAtMs(warmupCount, rate), lastAnswerMs),
    seconds,
    connections,
    requests: measuredCount,
    errors: errors + unanswered,
    unanswered,
    latency: summarizeLatencies(answeredLatencies),
    sendLag: summarizeLatencies(sendLags),
    sinceSend: summarizeLatencies(drained ? sinceSends : sinceSends.filter((value) => !Number.isNaN(value))),
    maxInFlight,
    clientCpuUsPerRequest: Math.round((cpu.user + cpu.system) / measuredCount),
    clientCpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
    timer,
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const job = JSON.parse(await readStdin()) as OpenLoopJob;
  process.stdout.write(`${JSON.stringify(await runOpenLoop(job))}\n`);
}
