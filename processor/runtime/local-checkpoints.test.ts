import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topicPartitionId } from '../../common/records.js';
import { StateDirectory } from '../../state-store/state-directory.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { LocalCheckpoints } from './local-checkpoints.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function tableTopology() {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: Serdes.string(), value: Serdes.string(), store: 'customers' });
  b.stream('orders', { key: Serdes.string(), value: Serdes.string() })
    .leftJoin(customers, (order) => order)
    .to('out', { value: Serdes.string() });
  return b.build({ applicationId: 'app' });
}

describe('LocalCheckpoints', () => {
  it('reads the checkpoint sums of task state on disk at start, and notes them again when stores close', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tributary-local-checkpoints-'));
    dirs.push(stateDir);
    const topology = tableTopology();
    const directory = await StateDirectory.open({ stateDir, applicationId: 'app' });
    const store = await directory.openStore<unknown>('customers', 1);
    await store.write([], new Map([[topicPartitionId('customers', 1), 42]]));
    await store.close();

    const checkpoints = new LocalCheckpoints(topology);
    await checkpoints.readFromDisk(directory, ['0_0', '0_1']);
    expect([...checkpoints.offsetSums(new Set())]).toEqual([['0_1', 42]]);
    // Held tasks report a lag instead.
    expect([...checkpoints.offsetSums(new Set(['0_1']))]).toEqual([]);

    const reopened = await directory.openStore<unknown>('customers', 1);
    await reopened.write([], new Map([[topicPartitionId('customers', 1), 50]]));
    checkpoints.note('0_1', new Map([['customers', reopened]]));
    await reopened.close();
    expect(checkpoints.offsetSums(new Set()).get('0_1')).toBe(50);
    await directory.close();
  });
});
