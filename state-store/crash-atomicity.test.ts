import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelKeyValueStore } from './level-store.js';
import { killAndWait, spawnFixture, waitForLine } from './test-fixtures/child-process.js';
import { CRASH_SEQ_WINDOW, CRASH_SLOTS, CRASH_TOPIC_PARTITION, seqKey, slotKey } from './test-fixtures/crash-writer.js';

const ITERATIONS = 40;

describe('crash atomicity of write(data, checkpoints)', () => {
  const children = new Set<ChildProcess>();
  let dir: string | undefined;
  afterAll(async () => {
    for (const child of children) await killAndWait(child);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`store content always matches its checkpoint after SIGKILL (${ITERATIONS} kills)`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
    const location = join(dir, 'db');
    let previousCheckpoint = 0;
    let totalBatchesSeen = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const child = spawnFixture('./crash-writer.ts', [location]);
      children.add(child);
      try {
        await waitForLine(child, 'ready');
        await sleep(Math.floor(Math.random() * 120)); // kill at a random point of the write loop
      } finally {
        await killAndWait(child);
        children.delete(child);
      }

      const store = await LevelKeyValueStore.open({ location, name: 'crash', partition: 0 });
      try {
        const checkpoint = store.checkpoints().get(CRASH_TOPIC_PARTITION) ?? 0;
        expect(checkpoint).toBeGreaterThanOrEqual(previousCheckpoint); // no acknowledged batch lost on SIGKILL
        previousCheckpoint = checkpoint;
        totalBatchesSeen = checkpoint;

        const expected = new Map<string, unknown>();
        if (checkpoint > 0) {
          for (let i = 0; i < CRASH_SLOTS; i++) {
            expected.set(slotKey(i).toString(), { k: checkpoint - 1, i, pad: 'x'.repeat(200) });
          }
          for (let k = Math.max(0, checkpoint - CRASH_SEQ_WINDOW); k < checkpoint; k++) expected.set(seqKey(k).toString(), k);
        }
        const actual = new Map<string, unknown>();
        for await (const entry of store.range()) actual.set(entry.key.toString(), entry.value);
        expect(actual).toEqual(expected);
      } finally {
        await store.close();
      }
    }
    console.log(`crash atomicity: ${ITERATIONS} SIGKILL iterations, ${totalBatchesSeen} batches committed, all consistent`);
    expect(totalBatchesSeen).toBeGreaterThan(0);
  }, 60_000);
});
