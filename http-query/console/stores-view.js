// @ts-check
/**
 * The store browser: pick a store, look a key up, or scan by prefix or range page by page; for a window store, one
 * key's windows or every key's windows in a time range (windows-view.js). Everything goes through the public query
 * routes (GET /stores/:store/keys/:key, /entries and the window routes), so forwarding to the owning instance, 404s
 * and 503s with Retry-After behave exactly as for any client; the answer is shown as it came.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { request, segment } from './api.js';
import { formatInt } from './format.js';
import { usePoll } from './poll.js';
import { AnswerMeta, ErrorAnswer, Routing } from './store-answers.js';
import { Badge, Card, Empty, ErrorNote, JsonView } from './ui.js';
import { formatWindowSize, WindowLookup, WindowScan } from './windows-view.js';

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {import('./store-answers.js').StoreListEntry} StoreListEntry */
/** @typedef {import('./store-answers.js').Answer} Answer */

/** @param {{ store: StoreListEntry, metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props */
function Lookup({ store, metadata, colors }) {
  const [keyText, setKeyText] = useState('');
  const [result, setResult] = useState(
    /** @type {{ key: string, answer: Answer } | { key: string, failure: string } | undefined} */ (undefined),
  );
  const [busy, setBusy] = useState(false);
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault();
    if (keyText === '') return;
    setBusy(true);
    try {
      const answer = await request(`stores/${segment(store.name)}/keys/${segment(keyText)}`);
      setResult({ key: keyText, answer });
    } catch (error) {
      setResult({ key: keyText, failure: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  };
  const body =
    result !== undefined && 'answer' in result ? /** @type {{ key?: unknown, value?: unknown }} */ (result.answer.body) : undefined;
  return html`<${Card}
    title="Look up a key"
    subtitle=${html`<code>GET /stores/${store.name}/keys/:key</code>, from any instance`}
    testId="lookup-card"
  >
    <form class="form-row" onSubmit=${submit}>
      <input
        class="input grow"
        data-testid="lookup-key"
        placeholder=${`a key of ${store.name} (${store.keySerde})`}
        value=${keyText}
        onInput=${(/** @type {InputEvent} */ e) => setKeyText(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
        aria-label="Key"
      />
      <button class="button primary" type="submit" data-testid="lookup-submit" disabled=${busy || keyText === ''}>
        ${busy ? 'Looking up…' : 'Look up'}
      </button>
    </form>
    ${
      result === undefined
        ? html`<p class="hint">
            The answer is shown exactly as the API gave it: a value, a 404 for a missing key, or a 503 while its partition moves.
          </p>`
        : 'failure' in result
          ? html`<div class="note note-bad" data-testid="lookup-result" data-status="error">${result.failure}</div>`
          : html`<div class="lookup-result" data-testid="lookup-result" data-status=${String(result.answer.status)}>
              <div class="result-head">
                <span>Key <code>${result.key}</code></span>
                <${AnswerMeta} answer=${result.answer} />
              </div>
              <div class="result-routing"><${Routing} store=${store} keyText=${result.key} metadata=${metadata} colors=${colors} /></div>
              ${result.answer.status === 200 && body !== undefined ? html`<${JsonView} value=${body.value} />` : html`<${ErrorAnswer} answer=${result.answer} />`}
            </div>`
    }
  <//>`;
}

/** @typedef {{ prefix: string, from: string, to: string, reverse: boolean, limit: number }} ScanForm */

/** @param {ScanForm} form @param {string | null} cursor */
function scanQuery(form, cursor) {
  const params = new URLSearchParams();
  if (form.prefix !== '') params.set('prefix', form.prefix);
  if (form.from !== '') params.set('from', form.from);
  if (form.to !== '') params.set('to', form.to);
  if (form.reverse) params.set('reverse', 'true');
  params.set('limit', String(form.limit));
  if (cursor !== null) params.set('cursor', cursor);
  return params.toString();
}

/** @param {{ store: StoreListEntry }} props */
function Scan({ store }) {
  const [form, setForm] = useState(/** @type {ScanForm} */ ({ prefix: '', from: '', to: '', reverse: false, limit: 25 }));
  const [page, setPage] = useState(/** @type {{ answer: Answer, index: number, cursors: (string | null)[] } | undefined} */ (undefined));
  const [open, setOpen] = useState(/** @type {number | null} */ (null));
  const [busy, setBusy] = useState(false);
  const load = async (/** @type {number} */ index, /** @type {(string | null)[]} */ cursors) => {
    setBusy(true);
    setOpen(null);
    try {
      const answer = await request(`stores/${segment(store.name)}/entries?${scanQuery(form, cursors[index] ?? null)}`);
      setPage({ answer, index, cursors });
    } finally {
      setBusy(false);
    }
  };
  /** @param {keyof ScanForm} field */
  const bind = (field) => (/** @type {InputEvent} */ e) => {
    const target = /** @type {HTMLInputElement} */ (e.currentTarget);
    setForm({ ...form, [field]: field === 'reverse' ? target.checked : field === 'limit' ? Number(target.value) : target.value });
  };
  const body =
    page?.answer.status === 200
      ? /** @type {{ entries: { key: unknown, value: unknown }[], nextCursor: string | null }} */ (page.answer.body)
      : undefined;
  const next = body?.nextCursor ?? null;
  return html`<${Card}
    title="Scan"
    subtitle=${html`<code>GET /stores/${store.name}/entries</code>: key byte order, merged across instances`}
    testId="scan-card"
  >
    <form
      class="form-grid"
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        void load(0, [null]);
      }}
    >
      <label>Prefix<input class="input" data-testid="scan-prefix" value=${form.prefix} onInput=${bind('prefix')} /></label>
      <label>From (inclusive)<input class="input" value=${form.from} onInput=${bind('from')} /></label>
      <label>To (exclusive)<input class="input" value=${form.to} onInput=${bind('to')} /></label>
      <label
        >Page size<select class="input" value=${String(form.limit)} onChange=${bind('limit')}>
          ${[10, 25, 50, 100].map((n) => html`<option value=${String(n)}>${n}</option>`)}
        </select></label
      >
      <label class="check"><input type="checkbox" checked=${form.reverse} onChange=${bind('reverse')} /> Reverse</label>
      <button class="button primary" type="submit" data-testid="scan-submit" disabled=${busy}>${busy ? 'Scanning…' : 'Scan'}</button>
    </form>
    ${
      page === undefined
        ? null
        : html`<div class="scan-result" data-testid="scan-result" data-status=${String(page.answer.status)}>
            <div class="result-head">
              <span>Page ${page.index + 1}${body === undefined ? '' : `, ${formatInt(body.entries.length)} entries`}</span>
              <${AnswerMeta} answer=${page.answer} />
            </div>
            ${
              body === undefined
                ? html`<${ErrorAnswer} answer=${page.answer} />`
                : body.entries.length === 0
                  ? html`<${Empty}>No entries.<//>`
                  : html`<table class="table entries">
                      <thead>
                        <tr>
                          <th class="key-col">Key</th>
                          <th>Value</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${body.entries.map(
                          (entry, i) =>
                            html`<tr
                                class=${`entry-row${open === i ? ' open' : ''}`}
                                data-testid="scan-entry"
                                onClick=${() => setOpen(open === i ? null : i)}
                              >
                                <td class="key"><code>${typeof entry.key === 'string' ? entry.key : JSON.stringify(entry.key)}</code></td>
                                <td class="value-preview"><code>${JSON.stringify(entry.value)}</code></td>
                              </tr>
                              ${
                                open === i
                                  ? html`<tr class="entry-detail">
                                      <td colspan="2"><${JsonView} value=${entry.value} /></td>
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
                data-testid="scan-next"
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

/** @param {{ metadata: ClusterMetadata | undefined, colors: Map<string, string> }} props */
export function StoresView({ metadata, colors }) {
  const stores = usePoll('stores', 10_000);
  const list = /** @type {{ stores: StoreListEntry[] } | undefined} */ (stores.data)?.stores ?? [];
  const [chosen, setChosen] = useState(/** @type {string | null} */ (null));
  // Partitioned stores first: their keys live on one instance each (the routing shown with a lookup).
  const store = list.find((s) => s.name === chosen) ?? list.find((s) => s.kind === 'partitioned') ?? list[0];
  return html`<div class="split">
    <aside class="side">
      <${Card} title="Stores" subtitle="Counts are approximate, for the partitions this instance holds." testId="store-list">
        <${ErrorNote} error=${stores.error} what="/stores" />
        ${list.length === 0 && stores.error === undefined ? html`<${Empty}>Loading…<//>` : null}
        <ul class="store-list">
          ${list.map(
            (s) =>
              html`<li>
                <button
                  class=${`store-item${s.name === store?.name ? ' active' : ''}`}
                  data-testid="store-item"
                  data-store=${s.name}
                  onClick=${() => setChosen(s.name)}
                >
                  <span class="store-name">${s.name}</span>
                  <span class="store-meta"
                    ><${Badge} tone=${s.kind === 'global' ? 'teal' : 'purple'}>${s.kind}<//> ${s.keySerde} → ${s.valueSerde}${
                      s.windowSizeMs === undefined ? '' : ` · ${formatWindowSize(s.windowSizeMs)} windows`
                    }</span
                  >
                  <span class="store-meta"
                    >${`~${formatInt(s.approximateCount)} entries · ${s.kind === 'global' ? 'all partitions' : `${s.localPartitions.length} of ${s.partitionCount} partitions here`}`}</span
                  >
                </button>
              </li>`,
          )}
        </ul>
      <//>
    </aside>
    <div class="main-col">
      ${
        store === undefined
          ? null
          : store.kind === 'windowed'
            ? html`<${WindowLookup} key=${`wlookup-${store.name}`} store=${store} metadata=${metadata} colors=${colors} /><${WindowScan}
                  key=${`wscan-${store.name}`}
                  store=${store}
                />`
            : html`<${Lookup} key=${`lookup-${store.name}`} store=${store} metadata=${metadata} colors=${colors} /><${Scan}
                  key=${`scan-${store.name}`}
                  store=${store}
                />`
      }
    </div>
  </div>`;
}
