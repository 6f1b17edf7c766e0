// @ts-check
/**
 * What the store browser's lookups and scans share (stores-view.js, windows-view.js): how an answer of the query API
 * is shown (status, time, Retry-After, the error body) and where a key lives (its partition and owning instance).
 */
import { html } from 'htm/preact';
import { errorOf } from './api.js';
import { formatDuration } from './format.js';
import { stringKeyPartition } from './partition.js';
import { Badge, InstanceChip } from './ui.js';

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {{ name: string, kind: 'global' | 'partitioned' | 'windowed', keySerde: string, valueSerde: string, partitionCount: number, localPartitions: number[], approximateCount: number, windowSizeMs?: number }} StoreListEntry */
/** @typedef {{ status: number, body: unknown, retryAfter: string | null, elapsedMs: number }} Answer */

/** @param {{ status: number }} props */
export function StatusBadge({ status }) {
  const tone = status === 200 ? 'ok' : status === 404 ? 'warn' : status >= 500 ? 'bad' : 'muted';
  const text = { 200: 'OK', 400: 'Bad request', 401: 'Unauthorized', 404: 'Not found', 503: 'Unavailable' }[status] ?? '';
  return html`<${Badge} tone=${tone}>${status} ${text}<//>`;
}

/** @param {{ answer: Answer }} props */
export function AnswerMeta({ answer }) {
  return html`<span class="answer-meta">
    <${StatusBadge} status=${answer.status} />
    <span class="muted">in ${formatDuration(answer.elapsedMs)}</span>
    ${answer.retryAfter === null ? null : html`<${Badge} tone="bad">Retry-After ${answer.retryAfter} s<//>`}
  </span>`;
}

/** @param {{ answer: Answer }} props */
export function ErrorAnswer({ answer }) {
  const error = errorOf(answer.body);
  return html`<div class="note note-muted">
    ${error === undefined ? html`<code>${String(answer.body)}</code>` : html`<code>${error.code}</code> <span class="note-text">${error.message}</span>`}
  </div>`;
}

/**
 * Where a key of the store lives (string keys only: their bytes are the UTF-8 text).
 * @param {{ store: StoreListEntry, keyText: string, metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props
 */
export function Routing({ store, keyText, metadata, colors }) {
  if (store.kind === 'global') return html`<span class="muted">Global store: every instance holds every key; answered here.</span>`;
  if (store.keySerde !== 'string')
    return html`<span class="muted">Key serde ${store.keySerde}: the owning instance is found by the server.</span>`;
  const partition = stringKeyPartition(keyText, store.partitionCount);
  const owner = metadata?.instances.find((i) => (i.storePartitions[store.name] ?? []).includes(partition));
  return html`<span
    class="routing"
    data-testid="lookup-routing"
    data-partition=${String(partition)}
    data-owner=${owner?.id ?? ''}
    data-forwarded=${String(owner !== undefined && !owner.self)}
  >
    Partition <b>${partition}</b> of ${store.partitionCount}, held by
    ${owner === undefined ? html`<${Badge} tone="warn">no instance<//>` : html`<${InstanceChip} id=${owner.id} color=${colors.get(owner.id)} self=${owner.self} />`}
    ${owner === undefined ? null : owner.self ? html`<span class="muted">answered locally</span>` : html`<span class="muted">forwarded there by this instance</span>`}
  </span>`;
}
