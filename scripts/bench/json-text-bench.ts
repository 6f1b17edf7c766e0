/**
 * The JSON-text check of restoration (topology/json-text.ts `isJsonText`) against the alternatives that give the same
 * verdict as `Serdes.json().deserialize`: JSON.parse of the strict UTF-8 decoding (the serde itself), and JSON.parse of
 * `Buffer#toString` after Node's native UTF-8 check. Input: the bench's customer records (~200-byte JSON objects).
 * Prints ns per record and bytes per record of heap growth per variant, best of `--rounds`, as JSON.
 *
 *   npx tsx scripts/bench/json-text-bench.ts [--records 200000] [--rounds 5] [--baseline <path of another json-text.ts>]
 */
import { isUtf8 } from 'node:buffer';
import { parseArgs } from 'node:util';
import { customerValue } from '../../examples/data-generator.js';
import { isJsonText } from '../../topology/json-text.js';
import { Serdes } from '../../topology/serdes.js';

const { values } = parseArgs({ options: { records: { type: 'string' }, rounds: { type: 'string' }, baseline: { type: 'string' } } });
const count = Number(values.records ?? 200_000);
const rounds = Number(values.rounds ?? 5);
const records = Array.from({ length: count }, (_, i) => Buffer.from(JSON.stringify(customerValue(i, 1 + (i % 3), 1_765_000_000_000 + i))));
const serde = Serdes.json();

const variants: Record<string, (bytes: Buffer) => boolean> = {
  isJsonText,
  'serde (TextDecoder fatal + JSON.parse)': (bytes) => {
    try {
      serde.deserialize(bytes);
      return true;
    } catch {
      return false;
    }
  },
  'isUtf8 + toString + JSON.parse': (bytes) => {
    if (!isUtf8(bytes)) return false;
    try {
      JSON.parse(bytes.toString('utf8'));
      return true;
    } catch {
      return false;
    }
  },
};
if (values.baseline !== undefined) {
  const baseline = (await import(values.baseline)) as { isJsonText: (bytes: Uint8Array) => boolean };
  variants['baseline isJsonText'] = baseline.isJsonText;
}

const results: Record<string, { nsPerRecord: number; heapBytesPerRecord: number }> = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, check] of Object.entries(variants)) {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = process.hrtime.bigint();
    let accepted = 0;
    for (const bytes of records) if (check(bytes)) accepted++;
    const ns = Number(process.hrtime.bigint() - started) / count;
    const heap = Math.max(0, process.memoryUsage().heapUsed - heapBefore) / count;
    if (accepted !== count) throw new Error(`${name} rejected valid records`);
    const best = results[name];
    if (best === undefined || ns < best.nsPerRecord) results[name] = { nsPerRecord: Math.round(ns), heapBytesPerRecord: Math.round(heap) };
  }
}
const bytesPerRecord = Math.round(records.reduce((sum, r) => sum + r.length, 0) / count);
process.stdout.write(`${JSON.stringify({ records: count, bytesPerRecord, rounds, results }, null, 2)}\n`);
