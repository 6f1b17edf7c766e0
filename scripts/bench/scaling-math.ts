/** Pure helpers of the scaling bench (scripts/bench/scaling-bench.ts): Prometheus text, pauses, delivery counts. */

/** Samples of a Prometheus text exposition: `name{labels}` → value (comments and blank lines skipped). */
export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isNaN(value)) samples.set(line.slice(0, space), value);
  }
  return samples;
}

/**
 * Sum of the samples named `name` whose labels include every `labels` pair exactly (`store="customers"` does not match
 * `store="customers-global"`); undefined when no sample matched (a gauge not exported yet).
 */
export function metricValue(
  samples: ReadonlyMap<string, number>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let total: number | undefined;
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    const labelText = brace < 0 ? '' : series.slice(brace);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total = (total ?? 0) + value;
  }
  return total;
}

/** One instance's view of the unmoved-task pause metrics, in ms. */
export interface PauseReading {
  readonly lastMs: number | undefined;
  readonly maxMs: number | undefined;
  /** tributary_unmoved_task_pauses_total: rebalances after which kept tasks processed again. */
  readonly pauses: number;
}

export function pauseReading(samples: ReadonlyMap<string, number>): PauseReading {
  const seconds = (stat: string) => metricValue(samples, 'tributary_unmoved_task_pause_seconds', { stat });
  const last = seconds('last');
  const max = seconds('max');
  return {
    lastMs: last === undefined ? undefined : Math.round(last * 1000),
    maxMs: max === undefined ? undefined : Math.round(max * 1000),
    pauses: metricValue(samples, 'tributary_unmoved_task_pauses_total') ?? 0,
  };
}

/**
 * The pause of one rebalance across the instances that kept tasks through it: the largest `last` pause among the
 * instances whose pause count went up between `before` and `after` (undefined when none measured one).
 */
export function rebalancePauseMs(before: ReadonlyMap<string, PauseReading>, after: ReadonlyMap<string, PauseReading>): number | undefined {
  let worst: number | undefined;
  for (const [name, reading] of after) {
    const earlier = before.get(name);
    if (earlier === undefined || reading.pauses <= earlier.pauses || reading.lastMs === undefined) continue;
    worst = Math.max(worst ?? 0, reading.lastMs);
  }
  return worst;
}

/** Orders expected (ids `first .. first+count-1` that have a join partner) against the order ids found in an output. */
export interface DeliveryCount {
  readonly expected: number;
  readonly outputs: number;
  readonly distinct: number;
  readonly lost: number;
  readonly duplicates: number;
}

export function deliveryCount(expectedIds: ReadonlySet<string>, foundIds: readonly string[]): DeliveryCount {
  const distinct = new Set<string>();
  for (const id of foundIds) if (expectedIds.has(id)) distinct.add(id);
  return {
    expected: expectedIds.size,
    outputs: foundIds.length,
    distinct: distinct.size,
    lost: expectedIds.size - distinct.size,
    duplicates: foundIds.length - new Set(foundIds).size,
  };
}

/** Keys `keyOf(0)`, `keyOf(1)`, ... until each wanted partition has `perPartition` of them; partition → keys. */
export function sampleKeysByPartition(
  keyOf: (index: number) => string,
  partitionOf: (key: string) => number,
  partitions: readonly number[],
  perPartition: number,
  keyCount: number,
): Map<number, string[]> {
  const wanted = new Set(partitions);
  const samples = new Map<number, string[]>(partitions.map((p) => [p, []]));
  let missing = wanted.size * perPartition;
  for (let i = 0; i < keyCount && missing > 0; i++) {
    const key = keyOf(i);
    const list = samples.get(partitionOf(key));
    if (list === undefined || list.length >= perPartition) continue;
    list.push(key);
    missing--;
  }
  return samples;
}
