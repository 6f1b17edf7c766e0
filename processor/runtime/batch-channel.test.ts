import { describe, expect, it } from 'vitest';
import { BatchChannel } from './batch-channel.js';

describe('BatchChannel', () => {
  it('hands items over in order and resolves each push only when the consumer takes it', async () => {
    const channel = new BatchChannel<number>();
    const taken: number[] = [];
    let firstPushResolved = false;
    const first = channel.push(1).then(() => {
      firstPushResolved = true;
    });
    const second = channel.push(2);
    await Promise.resolve();
    expect(firstPushResolved).toBe(false);
    const iterator = channel[Symbol.asyncIterator]();
    taken.push((await iterator.next()).value as number);
    await first;
    expect(firstPushResolved).toBe(true);
    channel.end();
    taken.push((await iterator.next()).value as number);
    await second;
    expect(taken).toEqual([1, 2]);
    expect((await iterator.next()).done).toBe(true);
  });

  it('throws the failure after the queued items, and ignores pushes once the consumer stopped', async () => {
    const channel = new BatchChannel<number>();
    void channel.push(1);
    channel.fail(new Error('reader crashed'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of channel) seen.push(item);
      })(),
    ).rejects.toThrow('reader crashed');
    expect(seen).toEqual([1]);

    const stopped = new BatchChannel<number>();
    const iterator = stopped[Symbol.asyncIterator]();
    await iterator.return?.();
    await expect(stopped.push(5)).resolves.toBeUndefined();
  });
});
