/**
 * Requirements as sets of allowed values, the way Karpenter intersects a NodePool's
 * requirements, its template's labels and a pod's node selector and required affinity: every
 * requirement on a key narrows the set of values a new node may carry for it, and the node gets
 * one value inside the intersection. A key with `In` is a finite set; `NotIn`, `Exists`, `Gt`,
 * `Lt`, `Gte`, `Lte` narrow an open set; `DoesNotExist` allows only the absence of the label.
 * Instance types are requirements too; they narrow the shapes a claim may take, never growing
 * past what one of its pods asked for.
 *
 * May import: nothing outside core/.
 */
import type { CostModel, MachineTemplate, NodeSelectorTerm, Requirement, Shape } from "./model.ts";
import { matchesRequirement } from "./requirements.ts";
import { cheapestShape, gpuFilter, type GpuFit, kubeletKeeps, sizeName } from "./shapes.ts";
import { shapeCost } from "./cost.ts";
import { parseQuantity } from "./quantity.ts";

/** The value a new node gets for a key, "absent" (no label), or null when no value satisfies all. */
export function pickValue(
  key: string,
  reqs: readonly Requirement[],
  fallback: string,
): string | "absent" | null {
  if (reqs.length === 0) return "absent";
  const ok = (v: string) => reqs.every((r) => matchesRequirement({ [key]: v }, r));
  let candidates: string[] | undefined;
  for (const r of reqs) {
    if (r.operator !== "In") continue;
    const vals = r.values ?? [];
    candidates = candidates === undefined ? [...vals] : candidates.filter((v) => vals.includes(v));
  }
  if (candidates !== undefined) return candidates.find(ok) ?? null;
  if (reqs.some((r) => r.operator === "DoesNotExist")) {
    return reqs.every((r) => r.operator === "DoesNotExist" || r.operator === "NotIn")
      ? "absent"
      : null;
  }
  // Numeric bounds: the smallest integer inside them that no NotIn excludes.
  let lo = -Infinity;
  let hi = Infinity;
  for (const r of reqs) {
    const n = Number(r.values?.[0]);
    if (r.operator === "Gt") lo = Math.max(lo, n + 1);
    if (r.operator === "Gte") lo = Math.max(lo, n);
    if (r.operator === "Lt") hi = Math.min(hi, n - 1);
    if (r.operator === "Lte") hi = Math.min(hi, n);
  }
  if (lo !== -Infinity || hi !== Infinity) {
    if (Number.isNaN(lo) || Number.isNaN(hi)) return null;
    const start = lo === -Infinity ? Math.min(0, hi) : lo;
    for (let v = start, i = 0; v <= hi && i < 64; v++, i++) if (ok(String(v))) return String(v);
    return null;
  }
  // Exists / NotIn only: any value outside the excluded ones.
  for (let i = 0; i < 64; i++) {
    const v = i === 0 ? fallback : `${fallback}-${i}`;
    if (ok(v)) return v;
  }
  return null;
}

/** Requirements of a term (and node selector) on one key, as a list. */
export function requirementsOn(
  key: string,
  nodeSelector: Readonly<Record<string, string>> | undefined,
  term: NodeSelectorTerm | undefined,
): Requirement[] {
  const out: Requirement[] = [];
  const sel = nodeSelector?.[key];
  if (sel !== undefined) out.push({ key, operator: "In", values: [sel] });
  for (const e of term?.matchExpressions ?? []) if (e.key === key) out.push(e);
  return out;
}

/** The same selector and terms without requirements on `key` (a key decided elsewhere). */
export function withoutKey(
  nodeSelector: Readonly<Record<string, string>> | undefined,
  terms: readonly NodeSelectorTerm[] | undefined,
  key: string,
): { nodeSelector?: Record<string, string>; terms?: NodeSelectorTerm[] } {
  const out: { nodeSelector?: Record<string, string>; terms?: NodeSelectorTerm[] } = {};
  if (nodeSelector) {
    const { [key]: _drop, ...rest } = nodeSelector;
    out.nodeSelector = rest;
  }
  if (terms) {
    out.terms = terms.map((t) => ({
      ...t,
      matchExpressions: (t.matchExpressions ?? []).filter((e) => e.key !== key),
    }));
  }
  return out;
}

/** Requirements a claim's instance type must meet (those of the pool and of each pod on it). */
export type TypeConstraint = readonly Requirement[];

/** Does a shape name satisfy every instance-type requirement? */
export function typeAllows(c: TypeConstraint, name: string, key: string): boolean {
  for (const r of c) if (!matchesRequirement({ [key]: name }, r)) return false;
  return true;
}

function flexFromName(t: MachineTemplate, name: string): Shape | undefined {
  const f = t.flexible;
  const m = /^(\d+)c-(.+)$/.exec(name);
  if (!f || !m) return undefined;
  const cpu = Number(m[1]) * 1000;
  const mem = parseQuantity(m[2]!, 1);
  if (!mem.ok) return undefined;
  const memory = mem.value;
  if (sizeName(cpu, memory) !== name) return undefined;
  if (cpu < f.cpu.min || cpu > f.cpu.max || memory < f.memory.min || memory > f.memory.max) {
    return undefined;
  }
  return { name, cpu, memory };
}

/**
 * The cheapest shape of `template` that holds `need` and whose name meets the instance-type
 * requirements `c` (key `key`); with no requirement, the plain cheapest shape.
 */
export function cheapestShapeWithin(
  template: MachineTemplate,
  need: { cpu: number; memory: number },
  cost: CostModel,
  c: TypeConstraint,
  key: string,
  gpus: GpuFit = 0,
): Shape | undefined {
  if (c.length === 0) return cheapestShape(template, need, cost, gpus);
  const kept = kubeletKeeps(template);
  const wantCpu = need.cpu + kept.cpu;
  const wantMem = need.memory + kept.memory;
  const allowed = gpuFilter(template, gpus);
  const fits = (s: Shape) =>
    s.cpu >= wantCpu && s.memory >= wantMem && typeAllows(c, s.name, key) &&
    (!allowed || allowed(s));
  let best: Shape | undefined;
  const consider = (s: Shape | undefined) => {
    if (!s || !fits(s)) return;
    if (
      !best ||
      shapeCost(s, template.vmMemOverhead, cost) < shapeCost(best, template.vmMemOverhead, cost)
    ) best = s;
  };
  for (const s of template.shapes) consider(s);
  if (template.flexible) {
    consider(cheapestShape({ ...template, shapes: [] }, need, cost, gpus));
    // Named flexible sizes the requirements list (In values) are offered as they are.
    for (const r of c) {
      if (r.operator === "In") {
        for (const v of r.values ?? []) consider(flexFromName(template, v));
      }
    }
  }
  return best;
}
