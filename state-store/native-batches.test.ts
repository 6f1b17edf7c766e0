import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeBatches } from './native-batches.js';

describe('NativeBatches', () => {
  let dir: string;
  let db: ClassicLevel<string, string>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-native-batches-'));
    db = new ClassicLevel<string, string>(join(dir, 'db'));
    await db.open();
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const contextOf = (batch: object): unknown => {
    const key = Object.getOwnPropertySymbols(batch).find((s) => s.description === 'context') as symbol;
    return (batch as Record<symbol, unknown>)[key];
  };

  it("puts a written batch's native batch, emptied, under the next one", async () => {
    const batches = new NativeBatches();
    const first = batches.reuse(db.batch());
    first.put('a', '1').put('b', '1');
    await first.write();
    batches.written(first);
    await db.del('a'); // were the first batch's operations still in the reused one, they would bring it back
    const second = batches.reuse(db.batch());
    expect(contextOf(second)).toBe(contextOf(first));
    second.put('c', '2');
    await second.write();
    batches.written(second);
    expect(await db.getMany(['a', 'b', 'c'])).toEqual([undefined, '1', '2']);
    // Two in rotation: one written while the next is filled.
    const third = batches.reuse(db.batch());
    const fourth = batches.reuse(db.batch());
    expect(contextOf(third)).toBe(contextOf(second));
    expect(contextOf(fourth)).not.toBe(contextOf(third));
    third.put('d', '3');
    fourth.put('e', '4');
    await Promise.all([third.write(), fourth.write()]);
    expect(await db.getMany(['c', 'd', 'e'])).toEqual(['2', '3', '4']);
  });

  it('keeps no batch of a closing database', async () => {
    const batches = new NativeBatches();
    const first = batches.reuse(db.batch());
    first.put('a', '1');
    await first.write();
    batches.written(first);
    batches.clear();
    expect(contextOf(batches.reuse(db.batch()))).not.toBe(contextOf(first));
  });
});
