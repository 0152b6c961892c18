/**
 * Label requirements (In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte, Lte), node selectors,
 * required node affinity and label selectors, evaluated against concrete node labels.
 * The same functions serve existing nodes (concrete labels) and planned NodeClaims, whose
 * labels are fixed when the claim is opened.
 */
import type { LabelSelector, NodeSelectorTerm, Requirement } from "./model.ts";

function integerOf(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined;
  return Number(text);
}

/** Does a node with `labels` satisfy one requirement? */
export function matchesRequirement(
  labels: Readonly<Record<string, string>>,
  r: Requirement,
): boolean {
  const v = labels[r.key];
  switch (r.operator) {
    case "In":
      return v !== undefined && (r.values ?? []).includes(v);
    case "NotIn":
      return v === undefined || !(r.values ?? []).includes(v);
    case "Exists":
      return v !== undefined;
    case "DoesNotExist":
      return v === undefined;
    case "Gt":
    case "Lt":
    case "Gte":
    case "Lte": {
      const have = integerOf(v);
      const want = integerOf(r.values?.[0]);
      if (have === undefined || want === undefined) return false;
      if (r.operator === "Gt") return have > want;
      if (r.operator === "Lt") return have < want;
      if (r.operator === "Gte") return have >= want;
      return have <= want;
    }
  }
}

/** All requirements hold. */
export function matchesAll(
  labels: Readonly<Record<string, string>>,
  reqs: readonly Requirement[],
): boolean {
  for (const r of reqs) if (!matchesRequirement(labels, r)) return false;
  return true;
}

/** A node selector term: every expression holds (matchFields on metadata.name use `nodeName`). */
export function matchesTerm(
  labels: Readonly<Record<string, string>>,
  term: NodeSelectorTerm,
  nodeName?: string,
): boolean {
  if (!matchesAll(labels, term.matchExpressions ?? [])) return false;
  for (const f of term.matchFields ?? []) {
    if (f.key !== "metadata.name") return false;
    if (nodeName === undefined || !matchesRequirement({ "metadata.name": nodeName }, f)) {
      return false;
    }
  }
  return true;
}

/**
 * Pod node constraints: nodeSelector AND (any of the required affinity terms).
 * An empty term list means no affinity constraint.
 */
export function matchesNodeConstraints(
  labels: Readonly<Record<string, string>>,
  nodeSelector: Readonly<Record<string, string>> | undefined,
  requiredTerms: readonly NodeSelectorTerm[] | undefined,
  nodeName?: string,
): boolean {
  if (nodeSelector) {
    for (const k in nodeSelector) if (labels[k] !== nodeSelector[k]) return false;
  }
  if (!requiredTerms || requiredTerms.length === 0) return true;
  for (const t of requiredTerms) if (matchesTerm(labels, t, nodeName)) return true;
  return false;
}

/** Kubernetes label selector semantics; an empty selector matches everything, a missing one nothing. */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  sel: LabelSelector | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const k in sel.matchLabels ?? {}) if (l[k] !== sel.matchLabels![k]) return false;
  for (const e of sel.matchExpressions ?? []) if (!matchesRequirement(l, e)) return false;
  return true;
}

/**
 * Values a requirement allows for a key the node does not have yet, given the values a
 * NodePool offers (`offered`, null = any value). Returns the allowed subset, or null for "any".
 * Used to narrow a planned claim's label when a pool lists several values (e.g. zones).
 */
export function allowedValues(offered: readonly string[] | null, r: Requirement): string[] | null {
  if (r.operator === "In") {
    const want = r.values ?? [];
    return offered === null ? [...want] : offered.filter((v) => want.includes(v));
  }
  if (offered === null) return null;
  return offered.filter((v) => matchesRequirement({ [r.key]: v }, r));
}

/** Stable text of a selector, for grouping pods that count against the same selector. */
export function selectorKey(sel: LabelSelector | undefined): string {
  if (!sel) return "none";
  // Disruption rebuilds topology counts for every simulated node: remember each selector's key.
  const known = selectorKeys.get(sel);
  if (known !== undefined) return known;
  const ml = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const me = (sel.matchExpressions ?? []).map((e) =>
    `${e.key}${e.operator}${(e.values ?? []).join(",")}`
  ).sort();
  const key = JSON.stringify([ml, me]);
  selectorKeys.set(sel, key);
  return key;
}
const selectorKeys = new WeakMap<LabelSelector, string>();
