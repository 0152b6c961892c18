/**
 * Tenant defaults: a NodePool owned by a tenant (`tenancy.tenant`) takes the tenant's
 * `defaults` (machineTemplate, weight, disruption budgets, consolidationPolicy and
 * consolidateAfter) for each of those fields it does not set itself. The pool's own value wins,
 * then the tenant's, then the schema's global defaults.
 *
 * The merge works on the written form, before zod fills the global defaults (after them "the
 * pool did not set it" could no longer be seen), and is the one step both the YAML file
 * (load.ts) and the cluster's objects (crd_source.ts) go through. A tenant default that is not
 * valid itself is not copied: the tenant's own validation reports it, once, at the tenant.
 *
 * May import: this folder, npm:zod.
 */
import type { z } from "zod";
import {
  consolidationPolicy,
  disruptionBudgets,
  durationOrNever,
  name,
  poolWeight,
} from "./schema.ts";

/** One field a pool took from its tenant (for messages that say where a value came from). */
export type Inherited = {
  /** Index of the pool in the configuration's `nodePools` list. */
  pool: number;
  /** Dotted field path inside the pool's spec, e.g. `disruption.budgets`. */
  field: string;
  tenant: string;
};

/** The merged written configuration and the fields each pool took from its tenant. */
export type Merged = { value: unknown; inherited: Inherited[] };

/** The fields a tenant may default, as paths inside a NodePool spec, with their schemas. */
const FIELDS: { path: readonly string[]; schema: z.ZodType }[] = [
  { path: ["machineTemplate"], schema: name },
  { path: ["weight"], schema: poolWeight },
  { path: ["disruption", "budgets"], schema: disruptionBudgets },
  { path: ["disruption", "consolidationPolicy"], schema: consolidationPolicy },
  { path: ["disruption", "consolidateAfter"], schema: durationOrNever },
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function get(o: unknown, path: readonly string[]): unknown {
  let at = o;
  for (const k of path) {
    if (!isObj(at)) return undefined;
    at = at[k];
  }
  return at;
}

/**
 * Returns a copy of a written configuration (`{nodePools: [{name, spec}], tenants: [...]}`)
 * in which every tenant-owned pool carries its tenant's defaults for the fields it leaves
 * unset. Anything malformed (no list, a spec that is not a map, a pool naming no known tenant)
 * is left as it is for the schema and the cross-checks to report. The input is not changed.
 */
export function applyTenantDefaults(config: unknown): Merged {
  if (!isObj(config) || !Array.isArray(config.nodePools) || !Array.isArray(config.tenants)) {
    return { value: config, inherited: [] };
  }
  const defaults = new Map<string, Obj>();
  for (const t of config.tenants) {
    if (!isObj(t) || typeof t.name !== "string" || defaults.has(t.name)) continue;
    const d = get(t, ["spec", "defaults"]);
    if (isObj(d)) defaults.set(t.name, d);
  }
  if (defaults.size === 0) return { value: config, inherited: [] };
  const inherited: Inherited[] = [];
  const nodePools = config.nodePools.map((p, i) => {
    const spec = isObj(p) ? p.spec : undefined;
    const tenant = get(spec, ["tenancy", "tenant"]);
    const d = typeof tenant === "string" ? defaults.get(tenant) : undefined;
    if (!isObj(p) || !isObj(spec) || d === undefined || typeof tenant !== "string") return p;
    let out: Obj = spec;
    for (const f of FIELDS) {
      const value = get(d, f.path);
      if (value === undefined || get(out, f.path) !== undefined) continue;
      if (!f.schema.safeParse(value).success) continue;
      // The pool's parent map must be a map (or absent) to take the field.
      const parent = f.path.length > 1 ? out[f.path[0]!] : out;
      if (parent !== undefined && !isObj(parent)) continue;
      out = f.path.length > 1
        ? {
          ...out,
          [f.path[0]!]: { ...(parent as Obj | undefined), [f.path[1]!]: structuredClone(value) },
        }
        : { ...out, [f.path[0]!]: structuredClone(value) };
      inherited.push({ pool: i, field: f.path.join("."), tenant });
    }
    return out === spec ? p : { ...p, spec: out };
  });
  return { value: { ...config, nodePools }, inherited };
}
