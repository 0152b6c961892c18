/**
 * NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods unless the pod
 * tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
 *
 * May import: ./cluster_state.ts, ./taint_toleration.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { NodeState } from "./cluster_state.ts";
import { toleratesTaint } from "./taint_toleration.ts";

/** The reason for a cordoned node. */
export const UNSCHEDULABLE = "node(s) were unschedulable";

const CORDON_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

/** Does the pod tolerate being placed on a cordoned node? */
export function toleratesCordon(pod: KObj): boolean {
  for (const t of pod.spec?.tolerations ?? []) if (toleratesTaint(t, CORDON_TAINT)) return true;
  return false;
}

/** Reasons a cordoned node rules the pod out; empty when it may go there. */
export function nodeUnschedulable(pod: KObj, n: NodeState): string[] {
  return n.unschedulable && !toleratesCordon(pod) ? [UNSCHEDULABLE] : [];
}
