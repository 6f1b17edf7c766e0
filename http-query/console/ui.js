// @ts-check
/** Small shared components: cards, badges, progress bars, errors, formatted JSON, instance colors. */
import { html } from 'htm/preact';

/** @typedef {import('preact').ComponentChildren} Children */

/** @param {{ title?: Children, subtitle?: Children, actions?: Children, children?: Children, className?: string, testId?: string }} props */
export function Card({ title, subtitle, actions, children, className = '', testId }) {
  return html`<section class=${`card ${className}`} data-testid=${testId}>
    ${
      title === undefined && actions === undefined
        ? null
        : html`<header class="card-head">
            <div>
              <h2>${title}</h2>
              ${subtitle === undefined ? null : html`<p class="card-sub">${subtitle}</p>`}
            </div>
            ${actions === undefined ? null : html`<div class="card-actions">${actions}</div>`}
          </header>`
    }
    <div class="card-body">${children}</div>
  </section>`;
}

/** @typedef {'ok' | 'warn' | 'bad' | 'info' | 'muted' | 'purple' | 'teal'} Tone */

/** @param {{ tone?: Tone, children?: Children, title?: string }} props */
export const Badge = ({ tone = 'muted', children, title }) => html`<span class=${`badge badge-${tone}`} title=${title}>${children}</span>`;

/** @type {Record<string, Tone>} */
const STATE_TONES = {
  running: 'ok',
  rebalancing: 'warn',
  bootstrapping: 'info',
  created: 'muted',
  stopping: 'muted',
  stopped: 'muted',
  failed: 'bad',
};

/** @param {{ state: string | undefined }} props */
export const StateBadge = ({ state }) =>
  html`<${Badge} tone=${state === undefined ? 'muted' : (STATE_TONES[state] ?? 'muted')}>${state ?? 'unknown'}<//>`;

const PALETTE = ['#58a6ff', '#3fb950', '#f0883e', '#bc8cff', '#39c5cf', '#db61a2', '#d29922', '#8b949e'];

/** A stable color per instance id (sorted order), so the same instance has one color on every view. @param {readonly string[]} ids */
export function instanceColors(ids) {
  const sorted = [...new Set(ids)].sort();
  return new Map(sorted.map((id, i) => [id, PALETTE[i % PALETTE.length]]));
}

/** @param {{ id: string, color?: string, self?: boolean }} props */
export const InstanceChip = ({ id, color = '#8b949e', self = false }) =>
  html`<span class="instance-chip" title=${self ? `${id} (this instance)` : id}
    ><span class="dot" style=${{ background: color }}></span>${id}${self ? html`<span class="self-mark">you</span>` : null}</span
  >`;

/** @param {{ fraction: number, tone?: Tone, label?: string }} props */
export function ProgressBar({ fraction, tone = 'info', label }) {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  return html`<div
    class=${`progress progress-${tone}`}
    role="progressbar"
    aria-valuenow=${Math.floor(clamped * 100)}
    aria-valuemin="0"
    aria-valuemax="100"
  >
    <div class="progress-fill" style=${{ width: `${clamped * 100}%` }}></div>
    ${label === undefined ? null : html`<span class="progress-label">${label}</span>`}
  </div>`;
}

/** @param {{ error: Error | undefined, what?: string }} props */
export function ErrorNote({ error, what }) {
  if (error === undefined) return null;
  const code = /** @type {{ code?: unknown }} */ (error).code;
  return html`<div class="note note-bad" role="alert">
    <strong>${what === undefined ? 'Request failed' : `Could not load ${what}`}</strong>
    ${typeof code === 'string' ? html` <code>${code}</code>` : null}
    <span class="note-text">${error.message}</span>
  </div>`;
}

/** @param {{ children?: Children }} props */
export const Empty = ({ children }) => html`<p class="empty">${children}</p>`;

const JSON_TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false)|(null)|([{}[\],])/g;

/** A JSON value pretty-printed with colored tokens (built as elements, never as HTML text). @param {{ value: unknown }} props */
export function JsonView({ value }) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  /** @type {Children[]} */
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(JSON_TOKEN)) {
    const index = match.index ?? 0;
    if (index > last) parts.push(text.slice(last, index));
    if (match[1] !== undefined) {
      parts.push(html`<span class=${match[2] === undefined ? 'j-str' : 'j-key'}>${match[1]}</span>`);
      if (match[2] !== undefined) parts.push(match[2]);
    } else if (match[3] !== undefined) parts.push(html`<span class="j-num">${match[3]}</span>`);
    else if (match[4] !== undefined) parts.push(html`<span class="j-bool">${match[4]}</span>`);
    else if (match[5] !== undefined) parts.push(html`<span class="j-null">null</span>`);
    else parts.push(html`<span class="j-punct">${match[6]}</span>`);
    last = index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return html`<pre class="json" data-testid="json-view">${parts}</pre>`;
}

/** A label / value pair list. @param {{ items: readonly (readonly [Children, Children])[] }} props */
export const Facts = ({ items }) =>
  html`<dl class="facts">
    ${items.map(
      ([label, value]) =>
        html`<div class="fact">
          <dt>${label}</dt>
          <dd>${value}</dd>
        </div>`,
    )}
  </dl>`;
