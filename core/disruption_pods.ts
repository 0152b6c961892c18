/**
 * Which pods and nodes voluntary disruption must leave alone, in every spelling users already
 * write: proxscale's and Karpenter's do-not-disrupt, Cluster Autoscaler's
 * safe-to-evict and scale-down-disabled, and CA's default blockers (kube-system pods without a
 * PodDisruptionBudget, pods with local storage, pods without a controller), which are
 * configurable through Settings.scaleDownRules. Every verdict names the key that caused it.
 */
import type { Node, Pod, ScaleDownRules } from "./model.ts";
import { parseDuration } from "./duration.ts";
import { type Reason, reason } from "./reason.ts";
import { DO_NOT_DISRUPT_ANNOTATIONS } from "./labels.ts";

export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";
export const SCALE_DOWN_DISABLED_ANNOTATION =
  "cluster-autoscaler.kubernetes.io/scale-down-disabled";

/** Pods that die with their node and need no new home: DaemonSet and static (mirror) pods. */
export function followsNode(pod: Pod): boolean {
  return pod.ownerKind === "DaemonSet" || pod.ownerKind === "Node";
}

/** Pods that still hold capacity on their node (not finished, not already terminating). */
export function isActive(pod: Pod): boolean {
  return !pod.deleting && pod.phase !== "Succeeded" && pod.phase !== "Failed";
}

/** Pods that disruption must find a new home for: active and not tied to the node. */
export function needsNewHome(pod: Pod): boolean {
  return isActive(pod) && !followsNode(pod);
}

/**
 * Why a pod must not be evicted now because of a do-not-disrupt annotation, or undefined.
 * `"true"` protects; a duration (`"30m"`) protects until createdAt + duration; `"false"` does
 * not. Any other value protects too: a typo must not make a pod evictable (Karpenter ignores
 * such values; proxscale fails safe and says so).
 */
export function podDoNotDisrupt(pod: Pod, now: number): Reason | undefined {
  const a = pod.annotations;
  if (!a) return undefined;
  for (const key of DO_NOT_DISRUPT_ANNOTATIONS) {
    const v = a[key];
    if (v === undefined || v === "false") continue;
    if (v === "true") {
      return reason("DoNotDisrupt", `pod ${pod.namespace}/${pod.name} has ${key}: "true"`);
    }
    const d = parseDuration(v);
    if (d.ok && d.value !== null) {
      if (now < pod.createdAt + d.value) {
        return reason(
          "DoNotDisrupt",
          `pod ${pod.namespace}/${pod.name} has ${key}: "${v}" (protected for ${
            Math.ceil((pod.createdAt + d.value - now) / 1000)
          }s more)`,
        );
      }
      continue;
    }
    return reason(
      "DoNotDisrupt",
      `pod ${pod.namespace}/${pod.name} has ${key}: "${v}", not a duration; treated as "true"`,
    );
  }
  if (a[SAFE_TO_EVICT_ANNOTATION] === "false") {
    return reason(
      "DoNotDisrupt",
      `pod ${pod.namespace}/${pod.name} has ${SAFE_TO_EVICT_ANNOTATION}: "false"`,
    );
  }
  return undefined;
}

/**
 * Why a pod keeps its node under Cluster Autoscaler's default rules, or undefined.
 * `safe-to-evict: "true"` lifts all three. `hasPdb` says whether a PodDisruptionBudget covers it.
 */
export function podEvictionRule(
  pod: Pod,
  rules: ScaleDownRules,
  hasPdb: boolean,
): Reason | undefined {
  if (pod.annotations?.[SAFE_TO_EVICT_ANNOTATION] === "true") return undefined;
  if (rules.skipNodesWithUnmanagedPods && !pod.ownerKind) {
    return reason(
      "PodNotEvictable",
      `pod ${pod.namespace}/${pod.name} has no controller to recreate it (scaleDownRules.skipNodesWithUnmanagedPods; set ${SAFE_TO_EVICT_ANNOTATION}: "true" to allow)`,
    );
  }
  if (rules.skipNodesWithLocalStorage && pod.localStorage) {
    return reason(
      "PodNotEvictable",
      `pod ${pod.namespace}/${pod.name} has local storage that dies with the node (scaleDownRules.skipNodesWithLocalStorage; set ${SAFE_TO_EVICT_ANNOTATION}: "true" to allow)`,
    );
  }
  if (rules.skipNodesWithSystemPods && pod.namespace === "kube-system" && !hasPdb) {
    return reason(
      "PodNotEvictable",
      `pod ${pod.namespace}/${pod.name} is a kube-system pod without a PodDisruptionBudget (scaleDownRules.skipNodesWithSystemPods)`,
    );
  }
  return undefined;
}

/** Why a node is excluded from voluntary disruption by an annotation, or undefined. */
export function nodeDoNotDisrupt(node: Node): Reason | undefined {
  const a = node.annotations;
  if (!a) return undefined;
  for (const key of DO_NOT_DISRUPT_ANNOTATIONS) {
    if (a[key] === "true") return reason("DoNotDisrupt", `node ${node.name} has ${key}: "true"`);
  }
  if (a[SCALE_DOWN_DISABLED_ANNOTATION] === "true") {
    return reason(
      "DoNotDisrupt",
      `node ${node.name} has ${SCALE_DOWN_DISABLED_ANNOTATION}: "true"`,
    );
  }
  return undefined;
}
