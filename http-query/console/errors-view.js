// @ts-check
/**
 * Errors: dead letters per stage and source over the cluster (the `tributary_records_dead_lettered_total` counters of every
 * instance since it started, from /cluster/stats), errors per stage and action, and the newest records of the
 * dead-letter topic with their headers (GET /dead-letters, one page at a time, older pages on request).
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { formatBytes, formatInt, formatTimestamp } from './format.js';
import { Badge, Card, Empty, ErrorNote, Facts, InstanceChip } from './ui.js';

/** @typedef {import('./cluster-view.js').ClusterStats} ClusterStats */
/** @typedef {import('../dead-letter-view.js').DeadLetterJson} DeadLetterJson */
/** @typedef {import('../dead-letter-view.js').BytesPreview} BytesPreview */
/** @typedef {{ topic: string, partitions: { partition: number, earliest: number, end: number }[], deadLetters: DeadLetterJson[], next: string | null }} DeadLetterPage */

const PAGE_SIZE = 20;

/** @type {Record<string, import('./ui.js').Tone>} */
const STAGE_TONES = { deserialization: 'warn', processing: 'bad', production: 'purple' };

/**
 * Samples of one metric family over every instance: `{ instance, labels, value }`.
 * @param {ClusterStats | undefined} cluster
 * @param {string} name
 */
function samples(cluster, name) {
  return (cluster?.instances ?? []).flatMap((instance) =>
    (instance.stats?.metrics ?? [])
      .filter((f) => f.name === name)
      .flatMap((f) => f.samples.map((s) => ({ instance: instance.id, labels: s.labels, value: s.value }))),
  );
}

/** @param {{ cluster: ClusterStats | undefined, colors: Map<string, string> }} props */
function Counts({ cluster, colors }) {
  const letters = samples(cluster, 'tributary_records_dead_lettered_total');
  /** @type {Map<string, { stage: string, source: string, total: number, byInstance: Map<string, number> }>} */
  const rows = new Map();
  for (const s of letters) {
    const stage = s.labels.stage ?? '?';
    const source = s.labels.source ?? '?';
    const key = `${stage}\u0000${source}`;
    const row = rows.get(key) ?? { stage, source, total: 0, byInstance: new Map() };
    row.total += s.value;
    row.byInstance.set(s.instance, (row.byInstance.get(s.instance) ?? 0) + s.value);
    rows.set(key, row);
  }
  const list = [...rows.values()].filter((r) => r.total > 0).sort((a, b) => b.total - a.total);
  const errors = samples(cluster, 'tributary_record_errors_total').filter((s) => s.value > 0);
  /** @type {Map<string, number>} */
  const errorTotals = new Map();
  for (const s of errors) {
    const key = `${s.labels.stage ?? '?'} → ${s.labels.action ?? '?'}`;
    errorTotals.set(key, (errorTotals.get(key) ?? 0) + s.value);
  }
  const total = list.reduce((sum, r) => sum + r.total, 0);
  const instances = (cluster?.instances ?? []).map((i) => i.id);
  return html`<${Card}
    title="Dead letters by stage and source"
    subtitle=${html`<b data-testid="dead-letter-total">${formatInt(total)}</b> dead letters written by the instances since they started.`}
    testId="dead-letter-counts"
  >
    ${
      list.length === 0
        ? html`<${Empty}>No dead letters since the instances started.<//>`
        : html`<table class="table">
            <thead>
              <tr>
                <th>Stage</th>
                <th>Source topic</th>
                ${instances.map((id) => html`<th class="num"><${InstanceChip} id=${id} color=${colors.get(id)} /></th>`)}
                <th class="num">Total</th>
              </tr>
            </thead>
            <tbody>
              ${list.map(
                (row) =>
                  html`<tr data-testid="dead-letter-count" data-stage=${row.stage} data-source=${row.source}>
                    <td><${Badge} tone=${STAGE_TONES[row.stage] ?? 'muted'}>${row.stage}<//></td>
                    <td><code>${row.source}</code></td>
                    ${instances.map((id) => html`<td class="num">${formatInt(row.byInstance.get(id) ?? 0)}</td>`)}
                    <td class="num"><b>${formatInt(row.total)}</b></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${
      errorTotals.size === 0
        ? null
        : html`<div class="error-actions">
            <span class="muted">Errors by stage and action:</span>
            ${[...errorTotals].map(([key, value]) => html`<${Badge} tone="muted">${key}: ${formatInt(value)}<//>`)}
          </div>`
    }
  <//>`;
}

/** @param {{ bytes: BytesPreview | null }} props */
function Bytes({ bytes }) {
  if (bytes === null) return html`<span class="muted">null</span>`;
  let pretty = bytes.data;
  if (bytes.encoding === 'utf8' && !bytes.truncated) {
    try {
      pretty = JSON.stringify(JSON.parse(bytes.data), null, 2);
    } catch {
      // not JSON: the text as it is
    }
  }
  return html`<div class="bytes">
    <pre class="json">${pretty}</pre>
    <span class="muted"
      >${bytes.encoding === 'base64' ? 'binary, shown as base64 · ' : ''}${formatBytes(bytes.size)}${bytes.truncated ? ' · truncated' : ''}</span
    >
  </div>`;
}

/** @param {{ letter: DeadLetterJson }} props */
function DeadLetterRow({ letter }) {
  const [open, setOpen] = useState(false);
  const origin =
    letter.stage === 'production'
      ? html`meant for <code>${letter.targetTopic ?? '?'}</code>`
      : html`<code>${letter.sourceTopic ?? '?'}</code> p${letter.sourcePartition ?? '?'} @ ${letter.sourceOffset ?? '?'}`;
  return html`<li
    class=${`dead-letter${open ? ' open' : ''}`}
    data-testid="dead-letter"
    data-offset=${String(letter.offset)}
    data-partition=${String(letter.partition)}
  >
    <button class="dead-letter-head" onClick=${() => setOpen(!open)} aria-expanded=${open}>
      <span class="dl-stage"
        ><${Badge} tone=${STAGE_TONES[letter.stage ?? ''] ?? 'muted'}>${letter.stage ?? 'not a Tributary dead letter'}<//></span
      >
      <span class="dl-origin">${origin}</span>
      <span class="dl-error"><b>${letter.errorClass ?? ''}</b> ${letter.errorMessage ?? ''}</span>
      <span class="dl-time muted">${formatTimestamp(letter.timestamp)}</span>
      <span class="dl-pos muted">p${letter.partition}@${letter.offset}</span>
    </button>
    ${
      open
        ? html`<div class="dead-letter-body">
            <div class="dl-columns">
              <div>
                <h3>Key</h3>
                <${Bytes} bytes=${letter.key} />
              </div>
              <div>
                <h3>Value</h3>
                <${Bytes} bytes=${letter.value} />
              </div>
            </div>
            <h3>Headers</h3>
            <${Facts}
              items=${letter.headers.map((h) => [html`<code>${h.name}</code>`, h.value.encoding === 'utf8' ? h.value.data : `base64 ${h.value.data}`])}
            />
          </div>`
        : null
    }
  </li>`;
}

function Latest() {
  const [pages, setPages] = useState(/** @type {DeadLetterPage[]} */ ([]));
  const [error, setError] = useState(/** @type {Error | undefined} */ (undefined));
  const [busy, setBusy] = useState(false);
  const load = async (/** @type {string | null} */ before, /** @type {boolean} */ append) => {
    setBusy(true);
    try {
      const query = `dead-letters?limit=${PAGE_SIZE}${before === null ? '' : `&before=${encodeURIComponent(before)}`}`;
      const page = /** @type {DeadLetterPage} */ (await getJson(query));
      setPages((list) => (append ? [...list, page] : [page]));
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load(null, false);
  }, []);
  const first = pages[0];
  const last = pages[pages.length - 1];
  const letters = pages.flatMap((p) => p.deadLetters);
  const inTopic = first?.partitions.reduce((sum, p) => sum + (p.end - p.earliest), 0) ?? 0;
  return html`<${Card}
    title="Latest dead letters"
    subtitle=${
      first === undefined
        ? 'Reading the dead-letter topic…'
        : html`Topic <code>${first.topic}</code>${`: ${formatInt(inTopic)} records in ${first.partitions.length} partition${first.partitions.length === 1 ? '' : 's'}, newest first. `}
            Click one for its key, value and headers.`
    }
    actions=${html`<button class="button" onClick=${() => void load(null, false)} disabled=${busy}>Refresh</button>`}
    testId="dead-letter-list"
  >
    <${ErrorNote} error=${error} what="the dead-letter topic" />
    ${first !== undefined && letters.length === 0 ? html`<${Empty}>The dead-letter topic is empty.<//>` : null}
    <ul class="dead-letters">
      ${letters.map((letter) => html`<${DeadLetterRow} key=${`${letter.partition}:${letter.offset}`} letter=${letter} />`)}
    </ul>
    ${
      last?.next === null || last === undefined
        ? letters.length > 0
          ? html`<p class="hint">That is all of the topic.</p>`
          : null
        : html`<div class="pager">
            <button class="button" data-testid="dead-letters-older" disabled=${busy} onClick=${() => void load(last.next, true)}>
              ${busy ? 'Reading…' : 'Older dead letters'}
            </button>
          </div>`
    }
  <//>`;
}

/** @param {{ cluster: ClusterStats | undefined, clusterError: Error | undefined, colors: Map<string, string> }} props */
export function ErrorsView({ cluster, clusterError, colors }) {
  return html`<${ErrorNote} error=${clusterError} what="/cluster/stats" />
    <${Counts} cluster=${cluster} colors=${colors} />
    <${Latest} />`;
}
