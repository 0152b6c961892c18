/**
 * The node-matching rules controllers apply themselves (the DaemonSet controller decides where
 * its pods belong, the taint manager which pods a NoExecute taint evicts): nodeSelector,
 * required node affinity (matchExpressions on labels, matchFields on metadata.name) and
 * toleration of taints, as the Kubernetes API documents them.
 *
 * May import: fakes/fake_kube/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";

/** One node selector requirement against a value (undefined: the key is absent). */
function requirementHolds(op: string, values: string[], v: string | undefined): boolean {
  switch (op) {
    case "In":
      return v !== undefined && values.includes(v);
    case "NotIn":
      return v === undefined || !values.includes(v);
    case "Exists":
      return v !== undefined;
    case "DoesNotExist":
      return v === undefined;
    case "Gt":
      return v !== undefined && Number(v) > Number(values[0]);
    case "Lt":
      return v !== undefined && Number(v) < Number(values[0]);
    default:
      return false;
  }
}

/** Terms are ORed, requirements within a term ANDed; an empty term matches nothing. */
export function matchNodeSelectorTerms(terms: Json[], node: KObj): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  return terms.some((t: Json) => {
    const exprs: Json[] = t?.matchExpressions ?? [];
    const fields: Json[] = t?.matchFields ?? [];
    if (!exprs.length && !fields.length) return false;
    return exprs.every((e) =>
      requirementHolds(
        e.operator,
        e.values ?? [],
        Object.hasOwn(labels, e.key) ? labels[e.key] : undefined,
      )
    ) &&
      fields.every((f) =>
        f.key === "metadata.name" &&
        requirementHolds(f.operator, f.values ?? [], node.metadata.name)
      );
  });
}

/** nodeSelector and required node affinity of a pod spec both match the node. */
export function podSpecMatchesNode(spec: Json, node: KObj): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return false;
  }
  const req = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req && !matchNodeSelectorTerms(req.nodeSelectorTerms ?? [], node)) return false;
  return true;
}

/** Does this toleration tolerate this taint (key, operator, value, effect)? */
export function tolerationMatches(t: Json, taint: Json): boolean {
  if (t?.effect && t.effect !== taint.effect) return false;
  const op = t?.operator ?? "Equal";
  if (!t?.key) return op === "Exists";
  if (t.key !== taint.key) return false;
  return op === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** The taints among `effects` that no toleration tolerates. */
export function untolerated(tolerations: Json[], taints: Json[], effects: string[]): Json[] {
  return taints.filter((taint) =>
    effects.includes(taint?.effect) && !tolerations.some((t) => tolerationMatches(t, taint))
  );
}
