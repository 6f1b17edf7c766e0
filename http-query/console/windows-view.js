// @ts-check
/**
 * The store browser's window-store part: one key's windows (GET /stores/:store/keys/:key/windows, forwarded to the
 * owning instance) and every key's windows (GET /stores/:store/windows, merged across instances, paged), both within
 * a range of window starts. Times are typed as epoch milliseconds or as an ISO date-time; windows are shown with
 * their start and end (UTC) and their value as the API gave it.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { request, segment } from './api.js';
import { formatInt } from './format.js';
import { AnswerMeta, ErrorAnswer, Routing } from './store-answers.js';
import { Card, Empty, JsonView } from './ui.js';
import { formatWindowSize, formatWindowTime, parseTime } from './window-time.js';

export { formatWindowSize };

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {import('./store-answers.js').StoreListEntry} StoreListEntry */
/** @typedef {import('./store-answers.js').Answer} Answer */
/** @typedef {{ start: number, end: number, value: unknown }} WindowEntry */

/** @typedef {{ from: string, to: string }} TimeRange */

/** @param {TimeRange} range @param {URLSearchParams} params */
function addRange(range, params) {
  const from = parseTime(range.from, 'From');
  const to = parseTime(range.to, 'To');
  if (from !== undefined) params.set('from', String(from));
  if (to !== undefined) params.set('to', String(to));
}

/** @param {{ start: number, end: number }} props */
function WindowSpan({ start, end }) {
  return html`<span class="window-span" title=${`${start} – ${end} (end exclusive)`}
    ><code>${formatWindowTime(start)}</code> → <code>${formatWindowTime(end)}</code></span
  >`;
}

/**
 * @param {{ range: TimeRange, onChange: (range: TimeRange) => void, idPrefix: string }} props
 */
function RangeInputs({ range, onChange, idPrefix }) {
  /** @param {keyof TimeRange} field */
  const bind = (field) => (/** @type {InputEvent} */ e) =>
    onChange({ ...range, [field]: /** @type {HTMLInputElement} */ (e.currentTarget).value });
  return html`<label
      >Window start from<input
        class="input"
        data-testid=${`${idPrefix}-from`}
        placeholder="epoch ms or 2026-12-06T14:00"
        value=${range.from}
        onInput=${bind('from')}
    /></label>
    <label
      >to (inclusive)<input
        class="input"
        data-testid=${`${idPrefix}-to`}
        placeholder="no bound"
        value=${range.to}
        onInput=${bind('to')}
    /></label>`;
}

/** @param {{ store: StoreListEntry, metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props */
export function WindowLookup({ store, metadata, colors }) {
  const [keyText, setKeyText] = useState('');
  const [range, setRange] = useState(/** @type {TimeRange} */ ({ from: '', to: '' }));
  const [result, setResult] = useState(
    /** @type {{ key: string, answer: Answer } | { key: string, failure: string } | undefined} */ (undefined),
  );
  const [busy, setBusy] = useState(false);
  const load = async (/** @type {string | undefined} */ nextFrom) => {
    if (keyText === '') return;
    setBusy(true);
    try {
      const params = new URLSearchParams({ limit: '100' });
      addRange(nextFrom === undefined ? range : { ...range, from: nextFrom }, params);
      const answer = await request(`stores/${segment(store.name)}/keys/${segment(keyText)}/windows?${params.toString()}`);
      setResult({ key: keyText, answer });
    } catch (error) {
      setResult({ key: keyText, failure: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  };
  const body =
    result !== undefined && 'answer' in result && result.answer.status === 200
      ? /** @type {{ key: unknown, windows: WindowEntry[], nextFrom: number | null }} */ (result.answer.body)
      : undefined;
  return html`<${Card}
    title="One key's windows"
    subtitle=${html`<code>GET /stores/${store.name}/keys/:key/windows?from=&to=</code>, from any instance`}
    testId="window-lookup-card"
  >
    <form
      class="form-grid"
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        void load(undefined);
      }}
    >
      <label
        >Key<input
          class="input"
          data-testid="window-key"
          placeholder=${`a key of ${store.name} (${store.keySerde})`}
          value=${keyText}
          onInput=${(/** @type {InputEvent} */ e) => setKeyText(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
      /></label>
      <${RangeInputs} range=${range} onChange=${setRange} idPrefix="window" />
      <button class="button primary" type="submit" data-testid="window-lookup-submit" disabled=${busy || keyText === ''}>
        ${busy ? 'Looking up…' : 'Windows'}
      </button>
    </form>
    ${
      result === undefined
        ? html`<p class="hint">
            ${store.windowSizeMs === undefined ? 'Windows' : `${formatWindowSize(store.windowSizeMs)} windows`} of one key whose start
            is in the range (no range: every window the store keeps), oldest first.
          </p>`
        : 'failure' in result
          ? html`<div class="note note-bad" data-testid="window-lookup-result" data-status="error">${result.failure}</div>`
          : html`<div class="lookup-result" data-testid="window-lookup-result" data-status=${String(result.answer.status)}>
              <div class="result-head">
                <span>Key <code>${result.key}</code>${body === undefined ? '' : `, ${formatInt(body.windows.length)} windows`}</span>
                <${AnswerMeta} answer=${result.answer} />
              </div>
              <div class="result-routing"><${Routing} store=${store} keyText=${result.key} metadata=${metadata} colors=${colors} /></div>
              ${
                body === undefined
                  ? html`<${ErrorAnswer} answer=${result.answer} />`
                  : body.windows.length === 0
                    ? html`<${Empty}>No windows in this range.<//>`
                    : html`<table class="table entries">
                        <thead>
                          <tr>
                            <th>Window</th>
                            <th>Value</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${body.windows.map(
                            (w) =>
                              html`<tr data-testid="window-row" data-start=${String(w.start)}>
                                <td><${WindowSpan} start=${w.start} end=${w.end} /></td>
                                <td class="value-preview"><code>${JSON.stringify(w.value)}</code></td>
                              </tr>`,
                          )}
                        </tbody>
                      </table>`
              }
              ${
                body?.nextFrom === null || body === undefined
                  ? null
                  : html`<div class="pager">
                      <button class="button" disabled=${busy} onClick=${() => void load(String(body.nextFrom))}>Later windows →</button>
                    </div>`
              }
            </div>`
    }
  <//>`;
}

/** @param {{ store: StoreListEntry }} props */
export function WindowScan({ store }) {
  const [range, setRange] = useState(/** @type {TimeRange} */ ({ from: '', to: '' }));
  const [limit, setLimit] = useState(25);
  const [page, setPage] = useState(
    /** @type {{ answer: Answer, index: number, cursors: (string | null)[] } | { failure: string } | undefined} */ (undefined),
  );
  const [open, setOpen] = useState(/** @type {number | null} */ (null));
  const [busy, setBusy] = useState(false);
  const load = async (/** @type {number} */ index, /** @type {(string | null)[]} */ cursors) => {
    setBusy(true);
    setOpen(null);
    try {
      const params = new URLSearchParams({ limit: String(limit) });
      addRange(range, params);
      const cursor = cursors[index] ?? null;
      if (cursor !== null) params.set('cursor', cursor);
      const answer = await request(`stores/${segment(store.name)}/windows?${params.toString()}`);
      setPage({ answer, index, cursors });
    } catch (error) {
      setPage({ failure: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  };
  const answered = page !== undefined && 'answer' in page ? page : undefined;
  const body =
    answered?.answer.status === 200
      ? /** @type {{ entries: (WindowEntry & { key: unknown })[], nextCursor: string | null }} */ (answered.answer.body)
      : undefined;
  const next = body?.nextCursor ?? null;
  return html`<${Card}
    title="Every key's windows"
    subtitle=${html`<code>GET /stores/${store.name}/windows?from=&to=</code>: merged across instances, by time segment then key`}
    testId="window-scan-card"
  >
    <form
      class="form-grid"
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        void load(0, [null]);
      }}
    >
      <${RangeInputs} range=${range} onChange=${setRange} idPrefix="window-scan" />
      <label
        >Page size<select
          class="input"
          value=${String(limit)}
          onChange=${(/** @type {Event} */ e) => setLimit(Number(/** @type {HTMLSelectElement} */ (e.currentTarget).value))}
        >
          ${[10, 25, 50, 100].map((n) => html`<option value=${String(n)}>${n}</option>`)}
        </select></label
      >
      <button class="button primary" type="submit" data-testid="window-scan-submit" disabled=${busy}>${busy ? 'Scanning…' : 'Scan'}</button>
    </form>
    ${
      page === undefined
        ? null
        : 'failure' in page
          ? html`<div class="note note-bad" data-testid="window-scan-result" data-status="error">${page.failure}</div>`
          : html`<div class="scan-result" data-testid="window-scan-result" data-status=${String(page.answer.status)}>
              <div class="result-head">
                <span>Page ${page.index + 1}${body === undefined ? '' : `, ${formatInt(body.entries.length)} windows`}</span>
                <${AnswerMeta} answer=${page.answer} />
              </div>
              ${
                body === undefined
                  ? html`<${ErrorAnswer} answer=${page.answer} />`
                  : body.entries.length === 0
                    ? html`<${Empty}>No windows in this range.<//>`
                    : html`<table class="table entries">
                        <thead>
                          <tr>
                            <th class="key-col">Key</th>
                            <th>Window</th>
                            <th>Value</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${body.entries.map(
                            (entry, i) =>
                              html`<tr
                                  class=${`entry-row${open === i ? ' open' : ''}`}
                                  data-testid="window-scan-entry"
                                  onClick=${() => setOpen(open === i ? null : i)}
                                >
                                  <td class="key"><code>${typeof entry.key === 'string' ? entry.key : JSON.stringify(entry.key)}</code></td>
                                  <td><${WindowSpan} start=${entry.start} end=${entry.end} /></td>
                                  <td class="value-preview"><code>${JSON.stringify(entry.value)}</code></td>
                                </tr>
                                ${
                                  open === i
                                    ? html`<tr class="entry-detail">
                                        <td colspan="3"><${JsonView} value=${entry.value} /></td>
                                      </tr>`
                                    : null
                                }`,
                          )}
                        </tbody>
                      </table>`
              }
              <div class="pager">
                <button class="button" disabled=${busy || page.index === 0} onClick=${() => void load(page.index - 1, page.cursors)}>
                  ← Previous
                </button>
                <button
                  class="button"
                  data-testid="window-scan-next"
                  disabled=${busy || next === null}
                  onClick=${() => void load(page.index + 1, [...page.cursors.slice(0, page.index + 1), next])}
                >
                  Next page →
                </button>
              </div>
            </div>`
    }
  <//>`;
}
