/**
 * Label and field matching as the Kubernetes API defines it, for the fake scheduler: label
 * selectors (matchLabels, matchExpressions with In/NotIn/Exists/DoesNotExist), node selector
 * requirements (adding Gt/Lt on integer label values) and node selector terms (matchFields
 * on metadata.name only).
 *
 * May import: nothing of the project.
 */

/** Labels of an object; absent labels read as an empty map. */
export type Labels = Readonly<Record<string, string>>;

/** One node selector requirement or label selector expression. */
export type Requirement = { key: string; operator: string; values?: string[] };

/** A metav1.LabelSelector. */
export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
};

/** A v1.NodeSelectorTerm. */
export type NodeSelectorTerm = { matchExpressions?: Requirement[]; matchFields?: Requirement[] };

const INTEGER = /^[+-]?\d+$/;

/** Does `labels` satisfy one requirement? Gt/Lt need exactly one integer value and an integer label. */
export function requirementMatches(labels: Labels, r: Requirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(v!);
    case "NotIn":
      return !has || !values.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || values.length !== 1 || !INTEGER.test(v!) || !INTEGER.test(values[0]!)) {
        return false;
      }
      return r.operator === "Gt" ? Number(v) > Number(values[0]) : Number(v) < Number(values[0]);
    }
    default:
      return false;
  }
}

/**
 * A label selector against labels: every matchLabels pair and every expression holds. An
 * empty selector matches everything; an absent one (undefined or null) matches nothing.
 */
export function selectorMatches(sel: LabelSelector | null | undefined, labels: Labels): boolean {
  if (sel === undefined || sel === null) return false;
  for (const k in sel.matchLabels ?? {}) {
    if (!Object.hasOwn(labels, k) || labels[k] !== sel.matchLabels![k]) return false;
  }
  for (const e of sel.matchExpressions ?? []) if (!requirementMatches(labels, e)) return false;
  return true;
}

/**
 * One node selector term against a node: all expressions and all fields hold. A term with
 * neither expressions nor fields matches no node (the API's rule for an empty term).
 */
export function termMatches(term: NodeSelectorTerm, labels: Labels, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const e of exprs) if (!requirementMatches(labels, e)) return false;
  for (const f of fields) {
    if (f.key !== "metadata.name") return false;
    if (!requirementMatches({ "metadata.name": nodeName }, f)) return false;
  }
  return true;
}

/** Required node selector terms are ORed: any one matching term is enough. */
export function anyTermMatches(
  terms: readonly NodeSelectorTerm[],
  labels: Labels,
  nodeName: string,
): boolean {
  for (const t of terms) if (termMatches(t, labels, nodeName)) return true;
  return false;
}

/** A selector turned into a test once, for checking it against many pods. */
export type LabelMatcher = (labels: Labels) => boolean;

const NOTHING: LabelMatcher = () => false;
const EVERYTHING: LabelMatcher = () => true;

/** Compiles `selectorMatches(sel, ·)` into a function (same semantics, fewer allocations). */
export function compileSelector(sel: LabelSelector | null | undefined): LabelMatcher {
  if (sel === undefined || sel === null) return NOTHING;
  const pairs = Object.entries(sel.matchLabels ?? {});
  const exprs = sel.matchExpressions ?? [];
  if (pairs.length === 0 && exprs.length === 0) return EVERYTHING;
  return (labels) => {
    for (let i = 0; i < pairs.length; i++) {
      const [k, v] = pairs[i]!;
      if (labels[k] !== v || !Object.hasOwn(labels, k)) return false;
    }
    for (let i = 0; i < exprs.length; i++) if (!requirementMatches(labels, exprs[i]!)) return false;
    return true;
  };
}
