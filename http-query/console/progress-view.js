// @ts-check
/**
 * Progress and lag: per instance, store and partition the restoration progress (records restored, rate, time left),
 * from /cluster/stats; per input partition the consumer lag and processing rate over the last minutes, from
 * /consumer-lag (the group's committed offsets against the partitions' end offsets, sampled by the instance).
 */
import { html } from 'htm/preact';
import { TimeChart } from './charts.js';
import { shortTopic } from './topology-view.js';
import { formatCompact, formatDuration, formatInt, formatPercent, formatRate } from './format.js';
import { usePoll } from './poll.js';
import { Badge, Card, Empty, ErrorNote, InstanceChip, ProgressBar } from './ui.js';

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {import('../query-source.js').RestorationProgress} RestorationProgress */
/** @typedef {import('../lag-series.js').LagSeries} LagSeries */
/** @typedef {import('../lag-series.js').PartitionLagSeries} PartitionLagSeries */
/** @typedef {import('./cluster-view.js').ClusterStats} ClusterStats */
/** @typedef {import('../../topology/graph.js').TopologyGraph} TopologyGraph */

/**
 * Fraction done, rate and time left of one restoration, as of `now` (the stats' time).
 * @param {RestorationProgress} r
 * @param {number} now
 */
export function restorationFigures(r, now) {
  const start = r.startOffset ?? 0;
  const total = Math.max(0, r.endOffset - start);
  const fraction = r.done ? 1 : total === 0 ? 0 : (r.restoredOffset - start) / total;
  const elapsedMs = r.startedAt === undefined ? undefined : (r.finishedAt ?? now) - r.startedAt;
  const rate =
    r.restoredRecords === undefined || elapsedMs === undefined || elapsedMs <= 0 ? undefined : (r.restoredRecords / elapsedMs) * 1000;
  const remaining = Math.max(0, r.endOffset - r.restoredOffset);
  const leftMs = r.done ? 0 : rate === undefined || rate <= 0 ? undefined : (remaining / rate) * 1000;
  // The local checkpoint was already at the target (e.g. the task stayed here through a rebalance): nothing to read.
  const upToDate = r.done && total === 0;
  return { fraction, rate, remaining, leftMs, elapsedMs, upToDate };
}

/** @param {{ cluster: ClusterStats | undefined, colors: Map<string, string> }} props */
function Restorations({ cluster, colors }) {
  const rows = (cluster?.instances ?? []).flatMap((instance) =>
    (instance.stats?.restoration ?? []).map((r) => ({ instance, r, figures: restorationFigures(r, instance.stats?.time ?? Date.now()) })),
  );
  rows.sort(
    (a, b) =>
      Number(a.r.done) - Number(b.r.done) ||
      a.r.store.localeCompare(b.r.store) ||
      String(a.r.partition).localeCompare(String(b.r.partition), undefined, { numeric: true }),
  );
  const active = rows.filter((row) => !row.r.done).length;
  return html`<${Card}
    title="Restoration"
    subtitle=${
      active > 0
        ? html`<${Badge} tone="info">${active} restoring<//> store partitions are being rebuilt from their changelog topics`
        : 'Every store partition served by the cluster is restored.'
    }
    testId="restoration-card"
  >
    ${
      rows.length === 0
        ? html`<${Empty}>No store partitions restored yet.<//>`
        : html`<div class="table-scroll">
            <table class="table" data-testid="restoration-table">
              <thead>
                <tr>
                  <th>Instance</th>
                  <th>Store</th>
                  <th class="num">Partition</th>
                  <th class="wide">Progress</th>
                  <th class="num">Restored</th>
                  <th class="num">Remaining</th>
                  <th class="num">Rate</th>
                  <th class="num">Time left</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  ({ instance, r, figures }) =>
                    html`<tr
                      data-testid="restoration-row"
                      data-store=${r.store}
                      data-partition=${String(r.partition)}
                      data-instance=${instance.id}
                      data-done=${String(r.done)}
                    >
                      <td><${InstanceChip} id=${instance.id} color=${colors.get(instance.id)} self=${instance.self} /></td>
                      <td><code>${r.store}</code></td>
                      <td class="num">${r.partition === 'global' ? 'all' : r.partition}</td>
                      <td class="wide">
                        <${ProgressBar}
                          fraction=${figures.fraction}
                          tone=${r.done ? 'ok' : 'info'}
                          label=${`${formatPercent(figures.fraction)}  ·  offset ${formatInt(r.restoredOffset)} / ${formatInt(r.endOffset)}`}
                        />
                      </td>
                      <td class="num">${r.restoredRecords === undefined || figures.upToDate ? '–' : formatInt(r.restoredRecords)}</td>
                      <td class="num">${formatInt(figures.remaining)}</td>
                      <td class="num">${figures.upToDate ? '–' : formatRate(figures.rate)}</td>
                      <td class="num">
                        ${
                          figures.upToDate
                            ? html`<${Badge} tone="muted" title="The local checkpoint was already at the target: nothing to read">up to date<//>`
                            : r.done
                              ? html`<${Badge} tone="ok">done<//>`
                              : formatDuration(figures.leftMs)
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  <//>`;
}

/** Last non-null value of a series. @param {readonly (number | null)[]} values */
function latest(values) {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = values[i];
    if (value !== null) return value;
  }
  return null;
}

/**
 * @param {{ series: PartitionLagSeries, times: readonly number[], owner: string | undefined, color: string | undefined, self: boolean, applicationId: string }} props
 */
function PartitionCard({ series, times, owner, color, self, applicationId }) {
  const lag = latest(series.lag);
  const rate = latest(series.rate);
  return html`<div class="card lag-card" data-testid="lag-card" data-topic=${series.topic} data-partition=${String(series.partition)}>
    <div class="lag-head">
      <div class="lag-title">
        <code title=${series.topic}>${shortTopic(series.topic, applicationId)}</code><span class="partition">p${series.partition}</span>
      </div>
      ${owner === undefined ? html`<${Badge}>unassigned<//>` : html`<${InstanceChip} id=${owner} color=${color} self=${self} />`}
    </div>
    <div class="lag-figures">
      <div>
        <span class=${`figure ${lag !== null && lag > 0 ? 'warn' : ''}`}>${lag === null ? '–' : formatCompact(lag)}</span
        ><span class="figure-label">lag (records)</span>
      </div>
      <div><span class="figure">${formatRate(rate)}</span><span class="figure-label">processed</span></div>
      <div>
        <span class="figure muted">${series.committed === null ? '–' : formatInt(series.committed)}</span
        ><span class="figure-label">committed offset</span>
      </div>
    </div>
    <div class="lag-charts">
      <div>
        <div class="chart-label">Lag</div>
        <${TimeChart} times=${times} values=${series.lag} color="#d29922" label="lag" />
      </div>
      <div>
        <div class="chart-label">Records/s</div>
        <${TimeChart} times=${times} values=${series.rate} color="#3fb950" label="rate" unit="/s" />
      </div>
    </div>
  </div>`;
}

/**
 * @param {{ cluster: ClusterStats | undefined, clusterError: Error | undefined, metadata: ClusterMetadata | undefined,
 *   graph: TopologyGraph | undefined, colors: Map<string, string> }} props
 */
export function ProgressView({ cluster, clusterError, metadata, graph, colors }) {
  const lag = usePoll(/** @type {string} */ ('consumer-lag'), 5000);
  const data = /** @type {LagSeries | undefined} */ (lag.data);
  /** The instance running the task that reads `topic` partition `partition`. */
  const ownerOf = (/** @type {string} */ topic, /** @type {number} */ partition) => {
    const group = graph?.groups.find((g) => g.kind === 'subtopology' && g.sourceTopics.includes(topic));
    if (group === undefined || group.subtopology === null) return undefined;
    return metadata?.instances.find((i) => i.tasks.includes(`${group.subtopology}_${partition}`));
  };
  // Streams first, tables (their topics are changelogs too, mostly idle) last; then by topic and partition.
  const isTable = (/** @type {string} */ topic) =>
    graph?.nodes.some((n) => n.kind === 'topic' && n.name === topic && (n.roles ?? []).includes('changelog')) ?? false;
  const partitions = [...(data?.partitions ?? [])].sort(
    (a, b) => Number(isTable(a.topic)) - Number(isTable(b.topic)) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
  );
  const totalLag = partitions.reduce((sum, p) => sum + (latest(p.lag) ?? 0), 0);
  const totalRate = partitions.reduce((sum, p) => sum + (latest(p.rate) ?? 0), 0);
  return html`
    <${ErrorNote} error=${clusterError} what="/cluster/stats" />
    <${Restorations} cluster=${cluster} colors=${colors} />
    <${Card}
      title="Consumer lag and processing rate"
      subtitle=${
        data === undefined
          ? 'Loading…'
          : html`Group <code>${data.groupId}</code>${`: committed offsets against end offsets, sampled every ${formatDuration(data.intervalMs)} (${data.times.length} samples). `}
              Total lag <b>${formatInt(totalLag)}</b>, processing <b>${formatRate(totalRate)}</b>.`
      }
      testId="lag-section"
    >
      <${ErrorNote} error=${lag.error} what="/consumer-lag" />
      ${data !== undefined && data.times.length < 2 ? html`<p class="hint">Collecting samples: the charts fill in over the next seconds.</p>` : null}
      ${data !== undefined && partitions.length === 0 ? html`<${Empty}>No input partitions sampled yet.<//>` : null}
      <div class="lag-grid">
        ${partitions.map((series) => {
          const owner = ownerOf(series.topic, series.partition);
          return html`<${PartitionCard}
            key=${`${series.topic}:${series.partition}`}
            series=${series}
            times=${data?.times ?? []}
            owner=${owner?.id}
            color=${owner === undefined ? undefined : colors.get(owner.id)}
            self=${owner?.self ?? false}
            applicationId=${graph?.applicationId ?? ''}
          />`;
        })}
      </div>
    <//>
  `;
}
