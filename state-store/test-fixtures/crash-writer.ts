/**
 * Child process for the crash-atomicity test: writes (data + checkpoint) batches in a loop until it is killed.
 *
 * Batch k (continuing from the stored checkpoint) puts `slot-0..slot-49` = { k, i, pad }, puts `seq-k`,
 * deletes `seq-(k-10)`, and checkpoints `src:0` = k + 1. So checkpoint c implies the exact content:
 * every slot holds k = c - 1 and exactly `seq-max(0, c-10) .. seq-(c-1)` exist.
 *
 * Usage: node --import tsx crash-writer.ts <location>
 */
import { LevelKeyValueStore } from '../level-store.js';
import type { StoreWrite } from '../types.js';

export const CRASH_SLOTS = 50;
export const CRASH_SEQ_WINDOW = 10;
export const CRASH_TOPIC_PARTITION = 'src:0' as const;

export function seqKey(k: number): Buffer {
  return Buffer.from(`seq-${String(k).padStart(10, '0')}`);
}

export function slotKey(i: number): Buffer {
  return Buffer.from(`slot-${String(i).padStart(3, '0')}`);
}

async function main(location: string): Promise<void> {
  // A small write buffer makes memtable flushes and compactions happen while we get killed.
  const store = await LevelKeyValueStore.open({
    location,
    name: 'crash',
    partition: 0,
    tuning: { writeBufferSize: 256 * 1024 },
  });
  let k = store.checkpoints().get(CRASH_TOPIC_PARTITION) ?? 0;
  process.stdout.write(`ready ${k}\n`);
  const pad = 'x'.repeat(200);
  for (;;) {
    const writes: StoreWrite<unknown>[] = [];
    for (let i = 0; i < CRASH_SLOTS; i++) writes.push({ type: 'put', key: slotKey(i), value: { k, i, pad } });
    writes.push({ type: 'put', key: seqKey(k), value: k });
    if (k >= CRASH_SEQ_WINDOW) writes.push({ type: 'delete', key: seqKey(k - CRASH_SEQ_WINDOW) });
    await store.write(writes, new Map([[CRASH_TOPIC_PARTITION, k + 1]]));
    k++;
  }
}

const location = process.argv[2];
if (location !== undefined && process.argv[1]?.endsWith('crash-writer.ts')) {
  main(location).catch((error: unknown) => {
    process.stderr.write(`crash-writer failed: ${String(error)}\n`);
    process.exit(1);
  });
}
