// @ts-check
/**
 * The cluster view: the instances (URL, state, tasks), the task → instance map (sub-topologies × partitions) polled
 * from /metadata, and the rebalances seen while the page is open (tasks that moved are highlighted for a while).
 *
 * The map has one row per sub-topology and one cell per partition; a cell lists the instances holding that task with
 * their role. Today every task has one active owner; when /metadata also lists standby tasks (`standbyTasks` per
 * instance), they show up in the same cells as `standby` chips without another change here.
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatClock, formatInt } from './format.js';
import { shortTopic } from './topology-view.js';
import { Badge, Card, Empty, ErrorNote, InstanceChip, StateBadge } from './ui.js';

/** @typedef {import('../query-source.js').ClusterMetadata} ClusterMetadata */
/** @typedef {import('../query-source.js').InstanceInfo & { readonly standbyTasks?: readonly string[] }} InstanceView */
/** @typedef {import('../routes/stats.js').ClusterInstanceStats} ClusterInstanceStats */
/** @typedef {{ assignmentId: string | null, instances: readonly ClusterInstanceStats[] }} ClusterStats */
/** @typedef {import('../../topology/graph.js').TopologyGraph} TopologyGraph */

/** @typedef {{ task: string, from: string | null, to: string | null }} TaskMove */
/** @typedef {{ at: number, from: string | null, to: string | null, moves: TaskMove[], members: number }} RebalanceEvent */

const HIGHLIGHT_MS = 12_000;

/** Task id → active owner. @param {ClusterMetadata} metadata */
function owners(metadata) {
  /** @type {Map<string, string>} */
  const map = new Map();
  for (const instance of metadata.instances) for (const task of instance.tasks) map.set(task, instance.id);
  return map;
}

/**
 * Follows /metadata and records every change of assignment seen while the page is open, with the tasks that moved.
 * @param {ClusterMetadata | undefined} metadata
 */
export function useRebalances(metadata) {
  const previous = useRef(/** @type {ClusterMetadata | undefined} */ (undefined));
  const [events, setEvents] = useState(/** @type {RebalanceEvent[]} */ ([]));
  useEffect(() => {
    if (metadata === undefined) return;
    const before = previous.current;
    previous.current = metadata;
    if (before === undefined || before.assignmentId === metadata.assignmentId) return;
    const was = owners(before);
    const now = owners(metadata);
    /** @type {TaskMove[]} */
    const moves = [];
    for (const task of new Set([...was.keys(), ...now.keys()])) {
      const from = was.get(task) ?? null;
      const to = now.get(task) ?? null;
      if (from !== to) moves.push({ task, from, to });
    }
    const event = { at: Date.now(), from: before.assignmentId, to: metadata.assignmentId, moves, members: metadata.instances.length };
    setEvents((list) => [event, ...list].slice(0, 20));
  }, [metadata]);
  return events;
}

/** "1 task", "3 tasks". @param {number} count @param {string} noun */
const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** "1_3" → [1, 3]. @param {string} task */
function parseTask(task) {
  const [sub, partition] = task.split('_').map(Number);
  return { sub: sub ?? 0, partition: partition ?? 0 };
}

/**
 * @param {{ metadata: ClusterMetadata | undefined, metadataError: Error | undefined, cluster: ClusterStats | undefined,
 *   graph: TopologyGraph | undefined, colors: Map<string, string>, rebalances: RebalanceEvent[] }} props
 */
export function ClusterView({ metadata, metadataError, cluster, graph, colors, rebalances }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  if (metadata === undefined)
    return html`<${ErrorNote}
        error=${metadataError}
        what="/metadata"
      />${metadataError === undefined ? html`<${Empty}>Loading…<//>` : null}`;

  const statsById = new Map((cluster?.instances ?? []).map((i) => [i.id, i]));
  const rebalancing = (cluster?.instances ?? []).some((i) => i.stats?.state === 'rebalancing');
  const latest = rebalances[0];
  const recent = latest !== undefined && now - latest.at < HIGHLIGHT_MS;
  const moved = new Set(recent ? latest.moves.map((m) => m.task) : []);

  /** @type {InstanceView[]} */
  const instances = [...metadata.instances].sort((a, b) => a.id.localeCompare(b.id));
  // Rows: every sub-topology of the topology (or seen in tasks); columns: partitions seen in tasks.
  const subs = new Set((graph?.groups ?? []).flatMap((g) => (g.subtopology === null ? [] : [g.subtopology])));
  let partitions = 0;
  /** @type {Map<string, { id: string, role: 'active' | 'standby' }[]>} */
  const holders = new Map();
  for (const instance of instances) {
    const roles = /** @type {const} */ ([
      ['active', instance.tasks],
      ['standby', instance.standbyTasks ?? []],
    ]);
    for (const [role, tasks] of roles) {
      for (const task of tasks) {
        const { sub, partition } = parseTask(task);
        subs.add(sub);
        partitions = Math.max(partitions, partition + 1);
        holders.set(task, [...(holders.get(task) ?? []), { id: instance.id, role }]);
      }
    }
  }
  const groupOf = (/** @type {number} */ sub) => graph?.groups.find((g) => g.subtopology === sub);

  return html`
    ${
      rebalancing
        ? html`<div class="banner banner-warn" data-testid="rebalance-banner">
            <strong>Rebalance in progress.</strong> Queries for moving partitions answer 503 with Retry-After until it ends.
          </div>`
        : recent
          ? html`<div class="banner banner-info" data-testid="rebalance-banner">
              <strong>Rebalanced at ${formatClock(latest.at)}</strong>${`: ${plural(latest.moves.length, 'task')} moved, ${plural(latest.members, 'instance')} in the group. `}
              Moved tasks are outlined below.
            </div>`
          : null
    }
    <div class="grid-cards instances" data-testid="instances">
      ${instances.map((instance) => {
        const stats = statsById.get(instance.id);
        const restoring = (stats?.stats?.restoration ?? []).filter((r) => !r.done).length;
        return html`<div class="card instance-card" data-testid="instance-card" data-instance=${instance.id}>
          <div class="instance-head">
            <${InstanceChip} id=${instance.id} color=${colors.get(instance.id)} self=${instance.self} />
            <${StateBadge} state=${stats?.stats?.state} />
          </div>
          <a class="instance-url" href=${instance.url === '' ? undefined : `${instance.url}/ui/`} title="Open this instance's console"
            >${instance.url === '' ? 'no query URL' : instance.url}</a
          >
          <div class="instance-facts">
            <span><b>${instance.tasks.length}</b> active tasks</span>
            ${instance.standbyTasks === undefined ? null : html`<span><b>${instance.standbyTasks.length}</b> standby</span>`}
            <span><b>${Object.keys(instance.storePartitions).length}</b> stores</span>
            ${restoring > 0 ? html`<${Badge} tone="info">restoring ${restoring}<//>` : null}
          </div>
          ${stats?.error === null || stats === undefined ? null : html`<p class="instance-error"><code>${stats.error.code}</code> ${stats.error.message}</p>`}
        </div>`;
      })}
    </div>
    <${Card}
      title="Task map"
      subtitle=${html`Assignment <code>${metadata.assignmentId ?? 'none yet'}</code> as seen by this instance; one row per sub-topology, one column per partition.`}
      testId="task-map-card"
    >
      ${
        partitions === 0
          ? html`<${Empty}>No tasks assigned yet.<//>`
          : html`<div class="task-map-scroll">
              <table class="task-map" data-testid="task-map">
                <thead>
                  <tr>
                    <th>Sub-topology</th>
                    ${Array.from({ length: partitions }, (_, p) => html`<th class="num">p${p}</th>`)}
                  </tr>
                </thead>
                <tbody>
                  ${[...subs]
                    .sort((a, b) => a - b)
                    .map(
                      (sub) =>
                        html`<tr>
                          <th class="row-head">
                            <div>${sub}</div>
                            <div class="row-sub">${(groupOf(sub)?.sourceTopics ?? []).map((t) => shortTopic(t, graph?.applicationId ?? '')).join(', ')}</div>
                          </th>
                          ${Array.from({ length: partitions }, (_, p) => {
                            const task = `${sub}_${p}`;
                            const cell = holders.get(task) ?? [];
                            return html`<td
                              class=${`task-cell${moved.has(task) ? ' moved' : ''}`}
                              data-testid="task-cell"
                              data-task=${task}
                            >
                              ${
                                cell.length === 0
                                  ? html`<span class="unassigned">–</span>`
                                  : cell.map(
                                      (h) =>
                                        html`<span
                                          class=${`task-holder role-${h.role}`}
                                          data-instance=${h.id}
                                          data-role=${h.role}
                                          style=${{ borderColor: colors.get(h.id) }}
                                          ><span class="dot" style=${{ background: colors.get(h.id) }}></span>${h.id}<span class="role"
                                            >${h.role === 'active' ? 'A' : 'S'}</span
                                          ></span
                                        >`,
                                    )
                              }
                            </td>`;
                          })}
                        </tr>`,
                    )}
                </tbody>
              </table>
            </div>`
      }
      <p class="hint">
        A = active task (processes records, answers queries). Standby replicas will appear as S once the runtime keeps them.
      </p>
    <//>
    <${Card}
      title="Rebalances seen"
      subtitle="Since this page was opened (changes of the assignment id in /metadata)."
      testId="rebalance-log"
    >
      ${
        rebalances.length === 0
          ? html`<${Empty}>No rebalance since the page was opened.<//>`
          : html`<table class="table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Assignment</th>
                  <th class="num">Instances</th>
                  <th>Moved tasks</th>
                </tr>
              </thead>
              <tbody>
                ${rebalances.map(
                  (event) =>
                    html`<tr>
                      <td>${formatClock(event.at)}</td>
                      <td><code>${event.from ?? '–'}</code> → <code>${event.to ?? '–'}</code></td>
                      <td class="num">${formatInt(event.members)}</td>
                      <td>
                        ${
                          event.moves.length === 0
                            ? 'none'
                            : event.moves.map(
                                (m) => html`<span class="move"><code>${m.task}</code> ${m.from ?? '–'} → ${m.to ?? '–'}</span>`,
                              )
                        }
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    <//>
  `;
}
