/**
 * Taints and tolerations, as the kube-scheduler's TaintToleration filter applies them:
 * NoSchedule and NoExecute taints must be tolerated, PreferNoSchedule only steers.
 */
import type { Taint, Toleration } from "./model.ts";

/** Taints that come and go while a node starts; they never stop planning onto a new node. */
export const EPHEMERAL_TAINT_KEYS: ReadonlySet<string> = new Set([
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
  "node.cloudprovider.kubernetes.io/uninitialized",
  "proxscale.io/unregistered",
]);

/** Does one toleration tolerate one taint? */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if (t.key === undefined || t.key === "") return t.operator === "Exists";
  if (t.key !== taint.key) return false;
  if (t.operator === "Exists") return true;
  return (t.value ?? "") === (taint.value ?? "");
}

/** The first hard taint the pod does not tolerate, or undefined when it tolerates all. */
export function untoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  ignore: ReadonlySet<string> = EPHEMERAL_TAINT_KEYS,
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (taint.effect === "PreferNoSchedule" || ignore.has(taint.key)) continue;
    let ok = false;
    for (const t of tolerations ?? []) {
      if (tolerates(t, taint)) {
        ok = true;
        break;
      }
    }
    if (!ok) return taint;
  }
  return undefined;
}

/** "key=value:Effect" as kubectl prints it. */
export function taintText(t: Taint): string {
  return `${t.key}${t.value ? "=" + t.value : ""}:${t.effect}`;
}
