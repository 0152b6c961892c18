/**
 * TaintToleration: a node's NoSchedule and NoExecute taints must each be tolerated by the pod;
 * PreferNoSchedule taints only lower the node's score. Node lifecycle taints
 * (node.kubernetes.io/not-ready, unreachable, ...) are ordinary taints here: the scheduler does
 * not look at node conditions. A toleration with an empty key and operator Exists tolerates
 * every taint (of its effect, or all effects when it names none).
 *
 * May import: ./cluster_state.ts.
 */
import type { NodeState, Taint } from "./cluster_state.ts";

/** A pod toleration as the API stores it. */
export type Toleration = { key?: string; operator?: string; value?: string; effect?: string };

/** Does one toleration tolerate one taint? (operator defaults to Equal) */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const op = t.operator || "Equal";
  if (!t.key) return op === "Exists";
  if (t.key !== taint.key) return false;
  if (op === "Exists") return true;
  return op === "Equal" && (t.value ?? "") === (taint.value ?? "");
}

function tolerated(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

const NONE: string[] = [];

/** Reasons the node's hard taints rule the pod out: the first untolerated one, by its key and value. */
export function taintToleration(tolerations: readonly Toleration[], n: NodeState): string[] {
  for (const taint of n.taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!tolerated(tolerations, taint)) {
      return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`];
    }
  }
  return NONE;
}

/** How many PreferNoSchedule taints the pod does not tolerate (fewer scores higher). */
export function intolerablePreferNoSchedule(
  tolerations: readonly Toleration[],
  n: NodeState,
): number {
  let count = 0;
  for (const taint of n.taints) {
    if (taint.effect === "PreferNoSchedule" && !tolerated(tolerations, taint)) count++;
  }
  return count;
}
