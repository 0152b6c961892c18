/**
 * The non-resource half of kubelet admission: a pod bound to a node (by the scheduler or by
 * setting spec.nodeName directly) is rejected when the node's labels do not satisfy its
 * nodeSelector and required node affinity (reason NodeAffinity), or when the node has a
 * NoExecute taint the pod does not tolerate (reason TaintToleration), as the kubelet's
 * predicate admission does after its resource check. Only the first failure is reported, as
 * "Predicate <name> failed".
 *
 * May import: fakes/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Rejection } from "./pod_runtime.ts";

type Requirement = { key: string; operator: string; values?: string[] };
type Term = { matchExpressions?: Requirement[]; matchFields?: Requirement[] };
type Taint = { key: string; value?: string; effect: string };
type Toleration = { key?: string; operator?: string; value?: string; effect?: string };

function requirementHolds(r: Requirement, value: string | undefined): boolean {
  const vs = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && vs.includes(value);
    case "NotIn":
      return value === undefined || !vs.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(vs[0] ?? "")) {
        return false;
      }
      return r.operator === "Gt" ? BigInt(value) > BigInt(vs[0]!) : BigInt(value) < BigInt(vs[0]!);
    }
    default:
      return false;
  }
}

/** One node selector term: every expression holds (an empty term matches nothing). */
function termMatches(t: Term, labels: Record<string, string>, name: string): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => requirementHolds(r, labels[r.key])) &&
    fields.every((r) => r.key === "metadata.name" && requirementHolds(r, name));
}

/** Whether the node satisfies the pod's nodeSelector and required node affinity. */
export function matchesNodeAffinity(pod: KObj, node: KObj): boolean {
  const labels = node.metadata.labels ?? {};
  const selector = (pod.spec?.nodeSelector ?? {}) as Record<string, string>;
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms as Term[] | undefined;
  if (!terms) return true;
  return terms.some((t) => termMatches(t, labels, node.metadata.name ?? ""));
}

/** Whether a toleration tolerates a taint (operator Equal by default; empty key with Exists tolerates all). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const op = t.operator ?? "Equal";
  if (!t.key) return op === "Exists";
  if (t.key !== taint.key) return false;
  return op === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** The kubelet's predicate rejection of a pod on this node, if any. */
export function nodeFitRejection(pod: KObj, node: KObj): Rejection | undefined {
  if (!matchesNodeAffinity(pod, node)) {
    return {
      reason: "NodeAffinity",
      message: "Pod was rejected: Predicate NodeAffinity failed",
    };
  }
  const tolerations = (pod.spec?.tolerations ?? []) as Toleration[];
  const taints = ((node.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === "NoExecute");
  const bad = taints.find((taint) => !tolerations.some((t) => tolerates(t, taint)));
  if (bad) {
    return {
      reason: "TaintToleration",
      message: "Pod was rejected: Predicate TaintToleration failed",
    };
  }
  return undefined;
}
