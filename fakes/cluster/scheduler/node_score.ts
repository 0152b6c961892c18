/**
 * How the fake scheduler ranks the nodes that passed every filter, after kube-scheduler's
 * default score plugins and weights: NodeResourcesFit LeastAllocated (1) and
 * NodeResourcesBalancedAllocation (1) on cpu and memory, TaintToleration (3, fewer untolerated
 * PreferNoSchedule taints is better), NodeAffinity preferred terms (2), InterPodAffinity
 * preferred terms (2) and PodTopologySpread ScheduleAnyway constraints (2, fewer matching pods
 * in the domain is better). Each plugin's raw values are scaled to 0..100 over the feasible
 * nodes. Unlike kube-scheduler, ties go to the node whose name sorts first (no random pick),
 * so runs repeat.
 *
 * May import: ./cluster_state.ts, ./pod_requests.ts.
 */
import type { NodeState } from "./cluster_state.ts";
import type { ResourceList } from "./pod_requests.ts";

/** Requests kube-scheduler assumes for scoring a pod that asks for no cpu (millicores)... */
const DEFAULT_CPU = 100;
/** ...or no memory (bytes). */
const DEFAULT_MEMORY = 200 * 1024 * 1024;

/** Raw per-node inputs the plugins computed; an absent one is the same on every node. */
export type ScoreInputs = {
  requests: ResourceList;
  taints?: (n: NodeState) => number;
  nodeAffinity?: (n: NodeState) => number;
  podAffinity?: (n: NodeState) => number;
  spread?: (n: NodeState) => number;
};

function fractions(req: ResourceList, n: NodeState): [number, number] {
  const cpu = req.get("cpu") || DEFAULT_CPU;
  const mem = req.get("memory") || DEFAULT_MEMORY;
  const f = (name: string, want: number) => {
    const alloc = n.allocatable.get(name) ?? 0;
    if (alloc <= 0) return 1;
    return Math.min(1, ((n.requested.get(name) ?? 0) + want) / alloc);
  };
  return [f("cpu", cpu), f("memory", mem)];
}

function scaled(
  feasible: readonly NodeState[],
  input: ((n: NodeState) => number) | undefined,
  reverse: boolean,
): number[] | undefined {
  if (!input) return undefined;
  const raw = feasible.map(input);
  const max = Math.max(...raw), min = Math.min(...raw);
  if (max === min) return raw.map(() => (reverse ? 100 : max > 0 ? 100 : 0));
  return raw.map((v) => {
    const s = ((v - min) * 100) / (max - min);
    return reverse ? 100 - s : s;
  });
}

/** The best node of `feasible` (non-empty), by total weighted score, then by name. */
export function pickNode(feasible: readonly NodeState[], inputs: ScoreInputs): NodeState {
  const least: number[] = [];
  const balanced: number[] = [];
  for (const n of feasible) {
    const [c, m] = fractions(inputs.requests, n);
    least.push(((1 - c) * 100 + (1 - m) * 100) / 2);
    balanced.push((1 - Math.abs(c - m) / 2) * 100);
  }
  const taint = scaled(feasible, inputs.taints, true);
  const na = scaled(feasible, inputs.nodeAffinity, false);
  const pa = scaled(feasible, inputs.podAffinity, false);
  const spread = scaled(feasible, inputs.spread, true);
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < feasible.length; i++) {
    const s = least[i]! + balanced[i]! + 3 * (taint?.[i] ?? 0) + 2 * (na?.[i] ?? 0) +
      2 * (pa?.[i] ?? 0) + 2 * (spread?.[i] ?? 0);
    // Rounded so float noise cannot beat the name order between equal nodes.
    const r = Math.round(s * 1e6) / 1e6;
    if (r > bestScore || (r === bestScore && feasible[i]!.name < feasible[best]!.name)) {
      best = i;
      bestScore = r;
    }
  }
  return feasible[best]!;
}
