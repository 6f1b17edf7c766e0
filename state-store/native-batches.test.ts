import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directOperations, NativeBatches } from './native-batches.js';

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

  describe('directOperations', () => {
    let raw: ClassicLevel<Buffer, Buffer>;
    beforeEach(async () => {
      raw = new ClassicLevel<Buffer, Buffer>(join(dir, 'raw'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await raw.open();
    });
    afterEach(async () => {
      await raw.close();
    });
    const b = (text: string): Buffer => Buffer.from(text);

    it('writes a batch of direct operations only, in order, on a reused native batch too', async () => {
      const batches = new NativeBatches();
      for (const round of ['1', '2']) {
        const batch = batches.reuse(raw.batch());
        const direct = directOperations(batch);
        expect(direct).toBeDefined();
        direct?.put(b('a'), b(round));
        direct?.put(b('b'), b(round));
        direct?.del(b('a'));
        direct?.put(b('c'), b(round));
        expect(batch.length).toBe(1); // only the first is counted by abstract-level, so that it writes the batch
        await batch.write();
        batches.written(batch);
        expect(await raw.getMany([b('a'), b('b'), b('c')])).toEqual([undefined, b(round), b(round)]);
      }
    });

    it('counts the first operation after a clear again', async () => {
      const batch = raw.batch();
      const direct = directOperations(batch);
      direct?.put(b('x'), b('1'));
      batch.clear();
      direct?.del(b('y'));
      direct?.put(b('z'), b('1'));
      expect(batch.length).toBe(1);
      await batch.write();
      expect(await raw.getMany([b('x'), b('z')])).toEqual([undefined, b('1')]);
    });
  });
});
