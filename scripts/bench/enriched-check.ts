/**
 * Checks the output of an order-enrichment join against what the data generator wrote: every order whose customer
 * still exists appears (once, ideally) with that customer's final version, and nothing else appears.
 */
import {
  customerKey,
  customerValue,
  isDeletedCustomer,
  isUpdatedCustomer,
  joinableOrders,
  orderCustomerIndex,
  type CustomerMix,
} from '../../examples/data-generator.js';

export interface EnrichedCheck {
  /** Output records read. */
  readonly records: number;
  /** Joinable orders (what an inner join must emit). */
  readonly expected: number;
  /** Distinct expected orders found. */
  readonly found: number;
  readonly missing: number;
  /** Extra copies of an order already seen (at-least-once replays). */
  readonly duplicates: number;
  /** Records that are not an expected order or carry the wrong customer data (first few in `examples`). */
  readonly wrong: number;
  readonly examples: readonly string[];
}

export interface EnrichedCheckOptions extends CustomerMix {
  readonly orders: number;
  readonly customers: number;
}

interface EnrichedValue {
  readonly orderId?: unknown;
  readonly customerId?: unknown;
  readonly customer?: { readonly name?: unknown; readonly tier?: unknown; readonly country?: unknown };
  readonly customerVersion?: unknown;
}

/** Checks output values (JSON EnrichedOrder) of orders `order-0 .. order-<orders-1>`. */
export function checkEnrichedOutputs(values: Iterable<Buffer | null>, options: EnrichedCheckOptions): EnrichedCheck {
  const seen = new Uint8Array(options.orders);
  let records = 0;
  let found = 0;
  let duplicates = 0;
  let wrong = 0;
  const examples: string[] = [];
  const flag = (text: string): void => {
    wrong++;
    if (examples.length < 5) examples.push(text);
  };
  for (const bytes of values) {
    records++;
    if (bytes === null) {
      flag('a null value');
      continue;
    }
    let value: EnrichedValue;
    try {
      value = JSON.parse(bytes.toString('utf8')) as EnrichedValue;
    } catch {
      flag(`not JSON: ${bytes.toString('utf8').slice(0, 80)}`);
      continue;
    }
    const match = typeof value.orderId === 'string' ? /^order-(\d+)$/.exec(value.orderId) : null;
    const index = match ? Number(match[1]) : -1;
    if (!(index >= 0 && index < options.orders)) {
      flag(`unexpected orderId ${JSON.stringify(value.orderId)}`);
      continue;
    }
    const customer = orderCustomerIndex(index, options.customers);
    const version = isUpdatedCustomer(customer, options) ? 2 : 1;
    const want = customerValue(customer, version, 0);
    if (
      isDeletedCustomer(customer, options) ||
      value.customerId !== customerKey(customer) ||
      value.customerVersion !== version ||
      value.customer?.name !== want.name ||
      value.customer?.tier !== want.tier ||
      value.customer?.country !== want.country
    ) {
      flag(`order-${index}: ${bytes.toString('utf8').slice(0, 200)}`);
      continue;
    }
    if (seen[index] === 1) duplicates++;
    else {
      seen[index] = 1;
      found++;
    }
  }
  const expected = joinableOrders(0, options.orders, options.customers, options);
  return { records, expected, found, missing: expected - found, duplicates, wrong, examples };
}
