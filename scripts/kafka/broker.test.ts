import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findFreePort, newClusterId, serverProperties } from './broker.mjs';

describe('newClusterId', () => {
  it('is 16 random bytes in base64url without padding, never starting with "-"', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const id = newClusterId();
        expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
        expect(Buffer.from(id, 'base64url')).toHaveLength(16);
      }),
      { numRuns: 500 },
    );
  });
});

describe('serverProperties', () => {
  it('binds both listeners to 127.0.0.1 and sets the single-node and fast-test settings', () => {
    const lines = serverProperties({ port: 19092, controllerPort: 19093, logDirs: '/tmp/x' }).split('\n');
    for (const expected of [
      'listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners=PLAINTEXT://127.0.0.1:19092',
      'controller.quorum.voters=1@127.0.0.1:19093',
      'log.dirs=/tmp/x',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'auto.create.topics.enable=false',
      'group.initial.rebalance.delay.ms=0',
      'log.initial.task.delay.ms=0',
    ]) {
      expect(lines).toContain(expected);
    }
    // No property is set twice.
    const keys = lines.filter((l) => l.includes('=')).map((l) => l.split('=')[0]);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('findFreePort', () => {
  it('returns a usable port number', async () => {
    const port = await findFreePort();
    expect(Number.isInteger(port) && port > 0 && port < 65536).toBe(true);
  });
});
