import { describe, expect, it } from 'vitest';
import { customerValue, joinableOrders, orderCustomerIndex, orderValue } from '../../examples/data-generator.js';
import { enrich } from '../../examples/order-enrichment.js';
import { checkEnrichedOutputs } from './enriched-check.js';

const MIX = { updateEvery: 4, deleteEvery: 10 };
const CUSTOMERS = 50;
const ORDERS = 300;

/** What a correct join writes: every order whose customer exists, enriched with the customer's final version. */
function correctOutputs(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const customer = orderCustomerIndex(i, CUSTOMERS);
    if (customer % MIX.deleteEvery === 7) continue;
    const version = customer % MIX.updateEvery === 0 ? 2 : 1;
    out.push(Buffer.from(JSON.stringify(enrich(orderValue(i, CUSTOMERS, 1), customerValue(customer, version, 2)))));
  }
  return out;
}

describe('checking join outputs', () => {
  const options = { orders: ORDERS, customers: CUSTOMERS, ...MIX };

  it('accepts exactly the joinable orders with their customers’ final versions', () => {
    const outputs = correctOutputs();
    expect(outputs.length).toBe(joinableOrders(0, ORDERS, CUSTOMERS, MIX));
    expect(checkEnrichedOutputs(outputs, options)).toEqual({
      records: outputs.length,
      expected: outputs.length,
      found: outputs.length,
      missing: 0,
      duplicates: 0,
      wrong: 0,
      examples: [],
    });
  });

  it('counts missing orders, duplicates and wrong records separately', () => {
    const outputs = correctOutputs();
    const dropped = outputs.slice(3);
    const stale = JSON.parse(outputs[5].toString()) as { customerVersion: number };
    const withProblems = [
      ...dropped,
      outputs[10],
      Buffer.from(JSON.stringify({ ...stale, customerVersion: 99 })),
      Buffer.from('not json'),
      null,
      Buffer.from(JSON.stringify({ orderId: 'order-999999' })),
    ];
    const check = checkEnrichedOutputs(withProblems, options);
    expect(check.missing).toBe(3);
    expect(check.duplicates).toBe(1);
    expect(check.wrong).toBe(4);
    expect(check.examples).toHaveLength(4);
  });

  it('flags an order of a deleted customer', () => {
    const deletedOrder = [...Array(ORDERS).keys()].find((i) => orderCustomerIndex(i, CUSTOMERS) % MIX.deleteEvery === 7)!;
    const customer = orderCustomerIndex(deletedOrder, CUSTOMERS);
    const record = Buffer.from(JSON.stringify(enrich(orderValue(deletedOrder, CUSTOMERS, 1), customerValue(customer, 1, 2))));
    expect(checkEnrichedOutputs([...correctOutputs(), record], options).wrong).toBe(1);
  });
});
