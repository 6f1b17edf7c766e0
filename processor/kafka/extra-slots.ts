/**
 * Which members get the extra task of each sub-topology: the quota choice of the sticky assignor (assignor.ts), as a
 * small min-cost flow. Pure.
 *
 * Sub-topology s has n_s tasks over m members: every member gets floor(n_s/m) and r_s = n_s mod m members get one
 * more. Across sub-topologies, member totals must also stay within 1: with R = Σ r_s, every member gets
 * floor(R/m) or ceil(R/m) extras. Among those choices, the one keeping the most previous tasks puts extras where a
 * member held more than the base (`wants`); ties go where local state says (a restarted member gets back the tasks
 * it has state for), then to members with fewer previous tasks overall (a newcomer rather than an old member takes
 * what others shed), then to the sorted member order.
 *
 * Flow: source → sub-topology (capacity r_s) → member (capacity 1; cost −W when it wants it, else its previous
 * task count, − L × local preference) → sink (floor(R/m) units at cost −B, one more at cost 0). B makes every
 * member reach floor(R/m); W makes a kept task outweigh every local preference, L a local preference every count. Successive shortest paths (Bellman-Ford): the graphs are tiny.
 */
export interface ExtraSlotProblem {
  /** Members in their sorted order. */
  readonly members: number;
  /** Per sub-topology, how many members get an extra task (< members). */
  readonly extras: readonly number[];
  /** wants[s][m]: member m held more than the base of sub-topology s. */
  readonly wants: readonly (readonly boolean[])[];
  /**
   * localPreference[s][m], a weaker hint than `wants`: +1 when an extra task of s at m would be one m has local state
   * for (it comes back after a restart), −1 when m keeping an extra of s keeps a task another member has state for.
   */
  readonly localPreference?: readonly (readonly number[])[];
  /** Per member, its previous task count (tie-break: fewer first). */
  readonly previousCounts: readonly number[];
}

/** extra[s][m]: member m gets the base + 1 tasks of sub-topology s. */
export function chooseExtraSlots(problem: ExtraSlotProblem): boolean[][] {
  const { members, extras, wants, previousCounts, localPreference } = problem;
  const subs = extras.length;
  const totalExtras = extras.reduce((a, b) => a + b, 0);
  if (totalExtras === 0 || members === 0) return extras.map(() => new Array<boolean>(members).fill(false));
  const low = Math.floor(totalExtras / members);
  const tieBreakMax = Math.max(0, ...previousCounts) + 1;
  const localWeight = tieBreakMax * (totalExtras + 1) + 1;
  const keepWeight = 2 * localWeight * (totalExtras + 1) + 1;
  const floorWeight = keepWeight * (totalExtras + 1) + 1;

  // Nodes: 0 source, 1..subs sub-topologies, subs+1..subs+members members, subs+members+1 sink.
  const source = 0;
  const sink = subs + members + 1;
  const nodeCount = sink + 1;
  const to: number[] = [];
  const capacity: number[] = [];
  const cost: number[] = [];
  const edgesOf: number[][] = Array.from({ length: nodeCount }, () => []);
  const addEdge = (from: number, target: number, cap: number, edgeCost: number): number => {
    const index = to.length;
    to.push(target, from);
    capacity.push(cap, 0);
    cost.push(edgeCost, -edgeCost);
    edgesOf[from]?.push(index);
    edgesOf[target]?.push(index + 1);
    return index;
  };
  for (let s = 0; s < subs; s++) addEdge(source, 1 + s, extras[s] ?? 0, 0);
  const slotEdge: number[][] = [];
  for (let s = 0; s < subs; s++) {
    slotEdge.push([]);
    for (let m = 0; m < members; m++) {
      const preference = localPreference?.[s]?.[m] ?? 0;
      const edgeCost = (wants[s]?.[m] === true ? -keepWeight : (previousCounts[m] ?? 0)) - preference * localWeight;
      slotEdge[s]?.push(addEdge(1 + s, subs + 1 + m, 1, edgeCost));
    }
  }
  for (let m = 0; m < members; m++) {
    if (low > 0) addEdge(subs + 1 + m, sink, low, -floorWeight);
    addEdge(subs + 1 + m, sink, 1, 0);
  }

  for (let flow = 0; flow < totalExtras; flow++) {
    // Bellman-Ford from the source over the residual graph (negative costs, no negative cycles after each augment).
    const distance = new Array<number>(nodeCount).fill(Number.POSITIVE_INFINITY);
    const via = new Array<number>(nodeCount).fill(-1);
    distance[source] = 0;
    for (let round = 0; round < nodeCount; round++) {
      let changed = false;
      for (let node = 0; node < nodeCount; node++) {
        const d = distance[node] ?? Number.POSITIVE_INFINITY;
        if (d === Number.POSITIVE_INFINITY) continue;
        for (const edge of edgesOf[node] ?? []) {
          if ((capacity[edge] ?? 0) <= 0) continue;
          const target = to[edge] ?? 0;
          const next = d + (cost[edge] ?? 0);
          if (next < (distance[target] ?? Number.POSITIVE_INFINITY)) {
            distance[target] = next;
            via[target] = edge;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    if (via[sink] === -1) break; // unreachable: the quotas always admit a flow of totalExtras
    for (let node = sink; node !== source;) {
      const edge = via[node] ?? 0;
      capacity[edge] = (capacity[edge] ?? 0) - 1;
      capacity[edge ^ 1] = (capacity[edge ^ 1] ?? 0) + 1;
      node = to[edge ^ 1] ?? source;
    }
  }
  return extras.map((_, s) => Array.from({ length: members }, (_, m) => capacity[slotEdge[s]?.[m] ?? -1] === 0));
}
