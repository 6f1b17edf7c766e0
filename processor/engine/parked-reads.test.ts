import { describe, expect, it } from 'vitest';
import type { ProducedRecord } from '../../common/records.js';
import { taskId } from '../../common/task-id.js';
import { MemoryKeyValueStore } from '../../state-store/memory-store.js';
import { StreamsBuilder } from '../../topology/builder.js';
import type { StreamGlobalJoinNode, StreamTableJoinNode } from '../../topology/nodes.js';
import { Serdes } from '../../topology/serdes.js';
import { resolveErrorPolicy } from './error-policy.js';
import { RecordFate, type InFlight } from './in-flight.js';
import { ParkedReads, type ParkingNode, type StoreReader } from './parked-reads.js';
import { TaskOutputs } from './output-slots.js';
import { TaskStoreView } from './task-store.js';

const str = Serdes.string();

/** Counts round trips, to check lookups are batched. */
class CountingStore extends MemoryKeyValueStore<unknown> {
  readonly calls: string[][] = [];
  override async getMany(keys: readonly Uint8Array[]): Promise<(unknown | undefined)[]> {
    this.calls.push(keys.map((k) => Buffer.from(k).toString()));
    return super.getMany(keys);
  }
}

/** orders ⋈ customers ⋈ regions (co-partitioned) ⋈ products (global). */
function setup() {
  const b = new StreamsBuilder();
  const customers = b.table('customers', { key: str, value: str, store: 'customers' });
  const regions = b.table('regions', { key: str, value: str, store: 'regions' });
  const products = b.globalTable('products', { key: str, value: str, store: 'products' });
  b.stream('orders', { key: str, value: str })
    .leftJoin(customers, (o, c) => `${o}@${c}`)
    .leftJoin(regions, (o, r) => `${o}/${r}`)
    .leftJoin(
      products,
      (k) => k,
      (o, p) => `${o}+${p}`,
    )
    .to('out', { value: str });
  const topology = b.build({ applicationId: 'lookups' });
  const tableJoin = (store: string) =>
    topology.nodes.find((n): n is StreamTableJoinNode => n.kind === 'stream-table-join' && n.store === store) as StreamTableJoinNode;
  const globalJoin = topology.nodes.find((n): n is StreamGlobalJoinNode => n.kind === 'stream-global-join') as StreamGlobalJoinNode;

  const stores = {
    customers: new CountingStore('customers', 0),
    regions: new CountingStore('regions', 0),
    products: new CountingStore('products', 'global'),
  };
  const views = new Map([
    ['customers', new TaskStoreView(stores.customers, 100)],
    ['regions', new TaskStoreView(stores.regions, 100)],
  ]);
  const outputs = new TaskOutputs();
  outputs.begin();
  const lookups = new ParkedReads({
    taskId: taskId(0, 0),
    topology,
    nodeIds: topology.subtopologies[0].nodeIds,
    views,
    globalStores: new Map([['products', stores.products]]),
    outputs,
  });
  const record = { topic: 'orders', partition: 0, offset: 0, timestamp: 0, key: null, value: null, headers: {} };
  const origin = { record, policy: resolveErrorPolicy('lookups', undefined), fate: new RecordFate(record, false) };
  const inFlight = (key: string, value: string): InFlight => ({ key, value, timestamp: 0, headers: {}, origin });
  const park = (node: StreamTableJoinNode | StreamGlobalJoinNode, record: InFlight) => {
    const keyBytes = Buffer.from(record.key as string);
    const hex = keyBytes.toString('hex');
    lookups.park(node, -1, record, [{ store: node.store, keyBytes, hex }], node.kind === 'stream-global-join' ? '' : hex);
  };
  /** The value a resumed join would see for its own key. */
  const tableValue = (node: ParkingNode, record: InFlight, reader: StoreReader): unknown =>
    reader.read((node as StreamTableJoinNode).store, Buffer.from(record.key as string).toString('hex'));
  return { topology, tableJoin, globalJoin, stores, views, outputs, lookups, inFlight, park, tableValue };
}

const out = (value: string): ProducedRecord => ({ topic: 'out', timestamp: 0, key: null, value: Buffer.from(value), headers: {} });
const values = (records: readonly ProducedRecord[]) => records.map((r) => r.value?.toString());

describe('ParkedReads', () => {
  it('one getMany per store per round, distinct unknown keys only; resumes in parking order into reserved slots', async () => {
    const { tableJoin, globalJoin, stores, views, outputs, lookups, inFlight, park, tableValue: valueOf } = setup();
    await stores.customers.write([{ type: 'put', key: Buffer.from('c1'), value: 'Ada' }]);
    await stores.products.write([{ type: 'put', key: Buffer.from('c2'), value: 'Lamp' }]);
    views.get('customers')?.write(Buffer.from('c3').toString('hex'), { type: 'put', key: Buffer.from('c3'), value: 'Grace' });

    outputs.push(out('before'));
    park(tableJoin('customers'), inFlight('c1', 'o1'));
    park(globalJoin, inFlight('c2', 'o2'));
    outputs.push(out('between'));
    park(tableJoin('customers'), inFlight('c2', 'o3'));
    park(tableJoin('customers'), inFlight('c1', 'o4'));
    park(tableJoin('customers'), inFlight('c3', 'o5')); // pending write: known without a read
    park(globalJoin, inFlight('c2', 'o6'));
    outputs.push(out('after'));
    expect(lookups.count).toBe(6);

    const resumed: string[] = [];
    await lookups.resolveRound(({ node, record }, reader) => {
      const tableValue = valueOf(node, record, reader);
      resumed.push(`${record.value as string}:${node.store}=${String(tableValue)}`);
      outputs.push(out(`${record.value as string}@${String(tableValue)}`));
    });
    expect(resumed).toEqual([
      'o1:customers=Ada',
      'o2:products=Lamp',
      'o3:customers=undefined',
      'o4:customers=Ada',
      'o5:customers=Grace',
      'o6:products=Lamp',
    ]);
    expect(stores.customers.calls).toEqual([['c1', 'c2']]);
    expect(stores.products.calls).toEqual([['c2']]);
    expect(stores.regions.calls).toEqual([]);
    expect(lookups.count).toBe(0);
    outputs.push(out('end')); // the round put the current slot back
    expect(values(outputs.flatten())).toEqual([
      'before',
      'o1@Ada',
      'o2@Lamp',
      'between',
      'o3@undefined',
      'o4@Ada',
      'o5@Grace',
      'o6@Lamp',
      'after',
      'end',
    ]);

    // Table reads are remembered (absent ones too); global stores change under the task, so they are read again.
    park(tableJoin('customers'), inFlight('c1', 'o7'));
    park(tableJoin('customers'), inFlight('c2', 'o8'));
    park(globalJoin, inFlight('c2', 'o9'));
    await lookups.resolveRound(() => {});
    expect(stores.customers.calls).toHaveLength(1);
    expect(stores.products.calls).toEqual([['c2'], ['c2']]);
  });

  it('a lookup parked while resuming waits for the next round, and its outputs nest in the resumed record’s slot', async () => {
    const { tableJoin, stores, outputs, lookups, inFlight, park, tableValue } = setup();
    await stores.regions.write([{ type: 'put', key: Buffer.from('c1'), value: 'EU' }]);
    park(tableJoin('customers'), inFlight('c1', 'o1'));
    outputs.push(out('later'));
    await lookups.resolveRound(({ record }) => {
      outputs.push(out(`${record.value as string}:first`));
      park(tableJoin('regions'), record);
    });
    expect(lookups.count).toBe(1);
    expect(stores.regions.calls).toEqual([]);
    await lookups.resolveRound(({ node, record }, reader) =>
      outputs.push(out(`${record.value as string}/${String(tableValue(node, record, reader))}`)),
    );
    expect(stores.regions.calls).toEqual([['c1']]);
    expect(values(outputs.flatten())).toEqual(['o1:first', 'o1/EU', 'later']);
  });

  it('a table write must wait for lookups parked on its key, or parked upstream of a join reading that table', () => {
    const { tableJoin, lookups, inFlight, park } = setup();
    const key = (k: string) => Buffer.from(k);
    expect(lookups.mustResolveBeforeWrite('customers', key('c1'))).toBe(false); // nothing parked

    park(tableJoin('regions'), inFlight('c1', 'o1'));
    expect(lookups.mustResolveBeforeWrite('regions', key('c1'))).toBe(true); // same table, same key
    expect(lookups.mustResolveBeforeWrite('regions', key('c2'))).toBe(false);
    expect(lookups.mustResolveBeforeWrite('customers', key('c1'))).toBe(false); // customers is read upstream only
    expect(lookups.mustResolveBeforeWrite('regions', null)).toBe(false); // a keyless record changes no table
    expect(lookups.mustResolveBeforeWrite(undefined, key('c1'))).toBe(false); // not a table input

    const { lookups: other, inFlight: inFlight2, park: park2, tableJoin: tableJoin2 } = setup();
    park2(tableJoin2('customers'), inFlight2('c1', 'o1'));
    // o1 will reach the regions join after it resumes: any regions write could change what it sees.
    expect(other.mustResolveBeforeWrite('regions', key('zzz'))).toBe(true);
    expect(other.mustResolveBeforeWrite('customers', key('c2'))).toBe(false);
  });
});
