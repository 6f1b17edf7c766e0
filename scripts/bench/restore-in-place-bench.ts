/**
 * The in-place restore of a global table's bootstrap without a broker: N customer records (~200-byte JSON values,
 * string keys, 6 partitions) as Fetch v11 response bodies built with kafkajs's encoders, each decoded
 * (fetch-decoding.ts `decodeFetchV11`, `visibleRun`) and restored through `restoreStore` with the table decoder's
 * in-place check (UTF-8 key, JSON-text value) into a fresh LevelDB, as a bootstrap does from its second fetch on.
 * With `--baseline-root <dir>` (another checkout, e.g. main; may be given several times) the same restore runs with
 * that checkout's modules in the same process, alternating which goes first per round. Process CPU (every thread,
 * from /proc) and CPU per thread group (main thread, libuv workers with LevelDB's background thread, V8 workers)
 * per run, and the medians per checkout. One JSON document on stdout.
 *
 *   npx tsx scripts/bench/restore-in-place-bench.ts [--records 630000] [--rounds 6] [--baseline-root /work/main]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RecordCursor, RecordRun, TopicPartitionId } from '../../common/records.js';
import { customerKey, customerValue } from '../../examples/data-generator.js';
import type { DecodedFetchResponse, Decompress } from '../../processor/kafka/fetch-decoding.js';
import { fetchV11ResponseBody, Record, RecordBatch } from '../../processor/kafka/testing/kafkajs-protocol.js';
import type { KeyValueStore } from '../../state-store/types.js';
import type { RestoreOptions, RestoreResult } from '../../state-store/restore.js';
import type { LevelStoreOptions } from '../../state-store/level-store.js';
import { REPO_ROOT } from '../kafka/broker.mjs';
import { median } from './comparison-math.js';
import { readThreadCpu } from './proc-usage.js';

const PARTITIONS = 6;
const RECORDS_PER_BATCH = 480;
const BATCHES_PER_RESPONSE = 10;
const TOPIC = 'customers';

/** The modules of one checkout the restore goes through. */
interface Checkout {
  readonly name: string;
  readonly decodeFetchV11: (body: Buffer, decompress: Decompress) => Promise<DecodedFetchResponse>;
  readonly visibleRun: (
    topic: string,
    partition: number,
    batches: DecodedFetchResponse['responses'][number]['partitions'][number]['batches'],
    aborted: readonly { readonly producerId: string; readonly firstOffset: string }[],
    from: number,
    end: number,
  ) => RecordRun | undefined;
  readonly isUtf8At: (bytes: Uint8Array, start: number, end: number) => boolean;
  readonly isJsonTextAt: (bytes: Uint8Array, start: number, end: number) => boolean;
  readonly openStore: (options: LevelStoreOptions) => Promise<KeyValueStore<unknown> & { close(): Promise<void> }>;
  readonly restoreStore: (options: RestoreOptions<unknown>) => Promise<RestoreResult>;
}

async function loadCheckout(name: string, root: string): Promise<Checkout> {
  const fetchDecoding = (await import(join(root, 'processor/kafka/fetch-decoding.ts'))) as Pick<Checkout, 'decodeFetchV11' | 'visibleRun'>;
  const jsonText = (await import(join(root, 'topology/json-text.ts'))) as Pick<Checkout, 'isUtf8At' | 'isJsonTextAt'>;
  const levelStore = (await import(join(root, 'state-store/level-store.ts'))) as {
    LevelKeyValueStore: { open(options: LevelStoreOptions): Promise<KeyValueStore<unknown> & { close(): Promise<void> }> };
  };
  const restore = (await import(join(root, 'state-store/restore.ts'))) as Pick<Checkout, 'restoreStore'>;
  return {
    name,
    decodeFetchV11: fetchDecoding.decodeFetchV11,
    visibleRun: fetchDecoding.visibleRun,
    isUtf8At: jsonText.isUtf8At,
    isJsonTextAt: jsonText.isJsonTextAt,
    openStore: (options) => levelStore.LevelKeyValueStore.open(options),
    restoreStore: restore.restoreStore,
  };
}

interface Response {
  readonly partition: number;
  readonly body: Buffer;
  readonly from: number;
  readonly end: number;
}

/** Fetch v11 bodies of one partition each, partitions in turn, every customer once and then updates of the first. */
async function buildResponses(records: number, customers: number): Promise<{ responses: Response[]; ends: number[] }> {
  const responses: Response[] = [];
  const ends = new Array<number>(PARTITIONS).fill(0);
  let made = 0;
  while (made < records) {
    const partition = responses.length % PARTITIONS;
    const from = ends[partition] as number;
    const parts: Buffer[] = [];
    for (let b = 0; b < BATCHES_PER_RESPONSE; b++) {
      const batch = [];
      for (let i = 0; i < RECORDS_PER_BATCH; i++, made++) {
        const customer = made % customers;
        const value = customerValue(customer, 1 + Math.floor(made / customers), 1_765_000_000_000 + made);
        batch.push(
          Record({
            offsetDelta: i,
            timestampDelta: i,
            key: Buffer.from(customerKey(customer)),
            value: Buffer.from(JSON.stringify(value)),
            headers: {},
          }),
        );
      }
      const encoded = await RecordBatch({
        compression: 0,
        firstOffset: String(ends[partition]),
        firstTimestamp: 1_765_000_000_000,
        maxTimestamp: 1_765_000_000_000,
        lastOffsetDelta: RECORDS_PER_BATCH - 1,
        transactional: false,
        producerId: '-1',
        records: batch,
      });
      parts.push(Buffer.from(encoded.buffer));
      ends[partition] = (ends[partition] as number) + RECORDS_PER_BATCH;
    }
    const end = ends[partition] as number;
    const body = fetchV11ResponseBody(TOPIC, partition, Buffer.concat(parts), [], end);
    responses.push({ partition, body, from, end });
  }
  return { responses, ends };
}

function threadCpu(): Map<string, number> {
  return new Map(readThreadCpu(process.pid).map((t) => [t.group, t.cpuMs]));
}

async function restoreOnce(checkout: Checkout, responses: readonly Response[], ends: readonly number[]) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-restore-in-place-'));
  try {
    const store = await checkout.openStore({
      location: dir,
      name: 'customers-global',
      partition: 'global',
      tuning: { writeBufferSize: 16 * 1024 * 1024 },
    });
    const decompress: Decompress = () => Promise.reject(new Error('no compressed batches here'));
    async function* runs(): AsyncIterable<RecordRun> {
      for (const { partition, body, from, end } of responses) {
        const decoded = await checkout.decodeFetchV11(body, decompress);
        const data = decoded.responses[0]?.partitions[0];
        const run =
          data === undefined ? undefined : checkout.visibleRun(TOPIC, partition, data.batches, data.abortedTransactions, from, end);
        if (run === undefined) throw new Error('no run');
        yield run;
      }
    }
    const check = (cursor: RecordCursor): boolean =>
      cursor.keyBytes !== null &&
      cursor.valueBytes !== null &&
      checkout.isUtf8At(cursor.keyBytes, cursor.keyStart, cursor.keyEnd) &&
      checkout.isJsonTextAt(cursor.valueBytes, cursor.valueStart, cursor.valueEnd);
    const cpuBefore = process.cpuUsage();
    const threadsBefore = threadCpu();
    const started = performance.now();
    const result = await checkout.restoreStore({
      store,
      batches: runs(),
      endOffsets: new Map(ends.map((end, partition) => [`${TOPIC}:${partition}` as TopicPartitionId, end])),
      decode: () => {
        throw new Error('a record was built: the in-place check refused it');
      },
      onDecodeError: () => 'fail',
      storesAsJsonText: check,
    });
    const wallMs = Math.round(performance.now() - started);
    const cpu = process.cpuUsage(cpuBefore);
    const threads = Object.fromEntries(
      [...threadCpu()].map(([group, ms]) => [group, ms - (threadsBefore.get(group) ?? 0)]).filter(([, ms]) => ms !== 0),
    );
    await store.close();
    return { restored: result.restored, cpuMs: Math.round((cpu.user + cpu.system) / 1000), wallMs, threadCpuMs: threads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: { records: { type: 'string' }, rounds: { type: 'string' }, 'baseline-root': { type: 'string', multiple: true } },
});
const records = Number(values.records ?? 630_000);
const rounds = Number(values.rounds ?? 6);
const checkouts = [
  await loadCheckout('branch', REPO_ROOT),
  ...(await Promise.all(
    (values['baseline-root'] ?? []).map((root, i) => loadCheckout(i === 0 ? 'baseline' : `baseline${i + 1}`, resolve(root))),
  )),
];
const { responses, ends } = await buildResponses(records, Math.round(records / 1.26));
const runs: { checkout: string; round: number; restored: number; cpuMs: number; wallMs: number; threadCpuMs: Record<string, number> }[] =
  [];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? checkouts : [...checkouts].reverse();
  for (const checkout of order) {
    const run = { checkout: checkout.name, round, ...(await restoreOnce(checkout, responses, ends)) };
    process.stderr.write(`[restore-in-place] ${JSON.stringify(run)}\n`);
    runs.push(run);
  }
}
const medians = Object.fromEntries(
  checkouts.map(({ name }) => {
    const mine = runs.filter((r) => r.checkout === name);
    return [
      name,
      {
        cpuMs: median(mine.map((r) => r.cpuMs)),
        wallMs: median(mine.map((r) => r.wallMs)),
        mainThreadCpuMs: median(mine.map((r) => r.threadCpuMs.MainThread ?? 0)),
      },
    ];
  }),
);
process.stdout.write(`${JSON.stringify({ records, rounds, runs, medians }, null, 2)}\n`);
