/**
 * NodeAffinity: spec.nodeSelector (every pair equal) AND the required node affinity terms
 * (any term; each term's expressions and metadata.name fields all hold). Preferred terms only
 * add their weight to the node's score.
 *
 * May import: ./cluster_state.ts, ./label_match.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { NodeState } from "./cluster_state.ts";
import { anyTermMatches, type Labels, type NodeSelectorTerm, termMatches } from "./label_match.ts";

/** The reason for a node outside the pod's nodeSelector or required node affinity. */
export const AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";

/** Does a node with these labels and name satisfy the pod's nodeSelector and required terms? */
export function podMatchesNode(pod: KObj, labels: Labels, nodeName: string): boolean {
  const sel: Record<string, string> = pod.spec?.nodeSelector ?? {};
  for (const k in sel) if (!Object.hasOwn(labels, k) || labels[k] !== sel[k]) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && Array.isArray(required.nodeSelectorTerms)) {
    return anyTermMatches(required.nodeSelectorTerms as NodeSelectorTerm[], labels, nodeName);
  }
  return true;
}

/** Does the pod constrain nodes at all (nodeSelector or required node affinity)? */
export function hasNodeConstraints(pod: KObj): boolean {
  return Object.keys(pod.spec?.nodeSelector ?? {}).length > 0 ||
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution != null;
}

/** Reasons the pod's node constraints rule the node out; empty when it matches. */
export function nodeAffinity(pod: KObj, n: NodeState): string[] {
  return podMatchesNode(pod, n.labels, n.name) ? [] : [AFFINITY_MISMATCH];
}

/** Sum of the weights of the pod's preferred node affinity terms the node matches. */
export function preferredNodeAffinityScore(pod: KObj, n: NodeState): number {
  let sum = 0;
  const prefs = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  for (const p of Array.isArray(prefs) ? prefs : []) {
    if (p?.preference && termMatches(p.preference, n.labels, n.name)) sum += Number(p.weight ?? 0);
  }
  return sum;
}
