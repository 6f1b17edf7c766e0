/**
 * The order-enrichment topology with benchmark topic names (`<BENCH_TOPIC_PREFIX>-customers`, ...), so a benchmark
 * run never touches the demo's topics on a shared broker. Run through the CLI like any user module.
 */
import type { Topology } from '../../index.js';
import { buildOrderEnrichment, DEFAULT_APPLICATION_ID, type OrderEnrichmentTopics } from '../../examples/order-enrichment.js';

/** `outputPrefix` (default `prefix`): where the outputs go (the exactly-once run writes to its own). */
export function benchTopics(prefix: string, outputPrefix = prefix): OrderEnrichmentTopics {
  return {
    customers: `${prefix}-customers`,
    orders: `${prefix}-orders`,
    enriched: `${outputPrefix}-orders-enriched`,
    byCustomer: `${outputPrefix}-orders-by-customer`,
  };
}

export default function benchTopology({ applicationId = DEFAULT_APPLICATION_ID }: { applicationId?: string } = {}): Topology {
  const prefix = process.env.BENCH_TOPIC_PREFIX;
  if (!prefix) throw new Error('BENCH_TOPIC_PREFIX is not set: the benchmark passes it to the instances it starts');
  return buildOrderEnrichment(applicationId, benchTopics(prefix, process.env.BENCH_OUTPUT_PREFIX || prefix));
}
