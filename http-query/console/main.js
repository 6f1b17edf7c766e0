// @ts-check
/**
 * The Tributary web console: one page, five views (#/topology, #/cluster, #/progress, #/stores, #/errors), all data
 * from this instance's HTTP API (relative URLs, same origin). /metadata and /cluster/stats are polled here and shared
 * by the views; each view polls what only it needs.
 */
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { storedToken, storeToken } from './api.js';
import { ClusterView, useRebalances } from './cluster-view.js';
import { ErrorsView } from './errors-view.js';
import { formatClock } from './format.js';
import { usePoll } from './poll.js';
import { ProgressView } from './progress-view.js';
import { StoresView } from './stores-view.js';
import { TopologyView } from './topology-view.js';
import { InstanceChip, StateBadge, instanceColors } from './ui.js';

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {import('./cluster-view.js').ClusterStats} ClusterStats */
/** @typedef {import('../../topology/graph.js').TopologyGraph} TopologyGraph */

const VIEWS = /** @type {const} */ ([
  ['topology', 'Topology'],
  ['cluster', 'Cluster'],
  ['progress', 'Progress & lag'],
  ['stores', 'Store browser'],
  ['errors', 'Errors'],
]);

/** @typedef {(typeof VIEWS)[number][0]} ViewId */

/** @returns {ViewId} */
function currentView() {
  const id = window.location.hash.replace(/^#\/?/, '');
  return VIEWS.some(([view]) => view === id) ? /** @type {ViewId} */ (id) : 'topology';
}

/** @param {{ onClose: () => void, reason: string }} props */
function TokenDialog({ onClose, reason }) {
  const [token, setToken] = useState(storedToken());
  return html`<div class="overlay" role="dialog" aria-modal="true" aria-labelledby="token-title">
    <form
      class="card dialog"
      data-testid="token-dialog"
      onSubmit=${(/** @type {Event} */ e) => {
        e.preventDefault();
        storeToken(token.trim());
        onClose();
      }}
    >
      <h2 id="token-title">Bearer token</h2>
      <p class="card-sub">${reason}</p>
      <p class="hint">
        The token stays in this tab only (sessionStorage) and is sent as <code>Authorization: Bearer …</code> with every API call of the
        console. It is the token the instance was started with (<code>--auth-token</code> / <code>http.authToken</code>).
      </p>
      <input
        class="input"
        type="password"
        autocomplete="off"
        data-testid="token-input"
        value=${token}
        onInput=${(/** @type {InputEvent} */ e) => setToken(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
        aria-label="Bearer token"
      />
      <div class="dialog-actions">
        <button class="button" type="button" onClick=${onClose}>Cancel</button>
        <button class="button primary" type="submit" data-testid="token-save">Use this token</button>
      </div>
    </form>
  </div>`;
}

/** @param {{ view: ViewId, tokenVersion: number, onToken: () => void }} props */
function Console({ view, tokenVersion, onToken }) {
  const metadata = usePoll(/** @type {string} */ ('metadata'), 2000);
  // Progress view: every second, twice a second while something restores (or nothing is known yet), else every 2 s.
  const [restoring, setRestoring] = useState(true);
  const cluster = usePoll(/** @type {string} */ ('cluster/stats'), view !== 'progress' ? 2000 : restoring ? 500 : 1000);
  const topology = usePoll(/** @type {string} */ ('topology'), 60_000);
  const meta = /** @type {ClusterMetadata | undefined} */ (metadata.data);
  const stats = /** @type {ClusterStats | undefined} */ (cluster.data);
  const graph = /** @type {TopologyGraph | undefined} */ (topology.data);
  const rebalances = useRebalances(meta);
  const anyRestoring =
    stats === undefined ||
    stats.instances.some((i) => i.stats?.state === 'bootstrapping' || (i.stats?.restoration ?? []).some((r) => !r.done));
  useEffect(() => setRestoring(anyRestoring), [anyRestoring]);
  const colors = useMemo(() => instanceColors((meta?.instances ?? []).map((i) => i.id)), [meta]);
  const self = meta?.instances.find((i) => i.self);
  const selfState = stats?.instances.find((i) => i.self)?.stats?.state;
  void tokenVersion;
  return html`
    <header class="topbar">
      <div class="brand">
        <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
          <path d="M4 22c5 0 6-12 11-12s6 8 13 8" fill="none" stroke="#58a6ff" stroke-width="3" stroke-linecap="round" />
          <circle cx="4.5" cy="22" r="2.6" fill="#3fb950" />
        </svg>
        <span class="brand-name">Tributary</span>
        ${graph === undefined ? null : html`<span class="app-id" data-testid="application-id">${graph.applicationId}</span>`}
      </div>
      <nav class="tabs" aria-label="Views">
        ${VIEWS.map(
          ([id, label]) =>
            html`<a
              class=${`tab${id === view ? ' active' : ''}`}
              href=${`#/${id}`}
              data-testid=${`tab-${id}`}
              aria-current=${id === view ? 'page' : undefined}
              >${label}</a
            >`,
        )}
      </nav>
      <div class="top-status">
        ${self === undefined ? null : html`<${InstanceChip} id=${self.id} color=${colors.get(self.id)} self=${true} />`}
        <${StateBadge} state=${selfState} />
        <span class="live" title="Polled every few seconds">
          <span class=${`live-dot${metadata.error === undefined ? '' : ' down'}`}></span>
          ${metadata.updatedAt === undefined ? 'connecting' : formatClock(metadata.updatedAt)}
        </span>
        <button class="button small" data-testid="token-button" onClick=${onToken} title="Set the bearer token">
          ${storedToken() === '' ? 'Token' : 'Token ✓'}
        </button>
      </div>
    </header>
    <main class="page" data-testid=${`view-${view}`}>
      ${
        view === 'topology'
          ? html`<${TopologyView} graph=${graph} error=${topology.error} metadata=${meta} colors=${colors} />`
          : view === 'cluster'
            ? html`<${ClusterView}
                metadata=${meta}
                metadataError=${metadata.error}
                cluster=${stats}
                graph=${graph}
                colors=${colors}
                rebalances=${rebalances}
              />`
            : view === 'progress'
              ? html`<${ProgressView} cluster=${stats} clusterError=${cluster.error} metadata=${meta} graph=${graph} colors=${colors} />`
              : view === 'stores'
                ? html`<${StoresView} metadata=${meta} colors=${colors} />`
                : html`<${ErrorsView} cluster=${stats} clusterError=${cluster.error} colors=${colors} />`
      }
    </main>
  `;
}

function App() {
  const [view, setView] = useState(currentView());
  const [tokenVersion, setTokenVersion] = useState(0);
  const [dialog, setDialog] = useState(/** @type {string | null} */ (null));
  useEffect(() => {
    const onHash = () => setView(currentView());
    const onUnauthorized = () => setDialog((open) => open ?? 'This instance requires a bearer token (its API answered 401 Unauthorized).');
    const onToken = () => setTokenVersion((n) => n + 1);
    window.addEventListener('hashchange', onHash);
    window.addEventListener('tributary-unauthorized', onUnauthorized);
    window.addEventListener('tributary-token', onToken);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('tributary-unauthorized', onUnauthorized);
      window.removeEventListener('tributary-token', onToken);
    };
  }, []);
  return html`
    <${Console}
      key=${tokenVersion}
      view=${view}
      tokenVersion=${tokenVersion}
      onToken=${() => setDialog('Set the token the API calls carry.')}
    />
    ${dialog === null ? null : html`<${TokenDialog} reason=${dialog} onClose=${() => setDialog(null)} />`}
  `;
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
