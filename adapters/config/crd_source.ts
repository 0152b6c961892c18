/**
 * Configuration from the cluster: Provider, MachineTemplate and NodePool custom resources plus
 * the `proxscale-settings` ConfigMap, validated by the same schema and cross-checks as the YAML
 * file (load.ts) and normalised into the same core Config. Problems name the object
 * (`NodePool/general: spec.minNodes: ...`) instead of a file position.
 *
 * `crd_manifests.ts` writes the inverse (objects from a YAML file), which is what makes
 * `proxscale migrate` round-trip.
 */
import { parse as parseYaml } from "yaml";
import type { Config } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { configFile, type ConfigFileInput } from "./schema.ts";
import { crossCheck, pathText } from "./load.ts";
import { normalize } from "./normalize.ts";
import { applyTenantDefaults } from "./tenant_defaults.ts";
import { applyHostMaintenance } from "./host_maintenance_annotation.ts";

/** The API version every proxscale configuration object carries. */
export const CONFIG_API_VERSION = "proxscale.io/v1alpha1";
/** ConfigMap holding the settings that are not per object (cost model, timeouts, queue). */
export const SETTINGS_CONFIGMAP = "proxscale-settings";
export const SETTINGS_KEY = "config.yaml";

/** One problem, located by object instead of by file position. */
export type CrdProblem = { object: string; path: string; message: string };

/** `NodePool/general: spec.minNodes: minNodes 3 exceeds limits.nodes 2` */
export function formatCrdProblem(p: CrdProblem): string {
  return `${p.object}: ${p.path ? p.path + ": " : ""}${p.message}`;
}

const LIST_OF: Record<string, "providers" | "machineTemplates" | "nodePools" | "tenants"> = {
  Provider: "providers",
  MachineTemplate: "machineTemplates",
  NodePool: "nodePools",
  Tenant: "tenants",
};
const KIND_OF: Record<string, string> = {
  providers: "Provider",
  machineTemplates: "MachineTemplate",
  nodePools: "NodePool",
  tenants: "Tenant",
};

type Obj = {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; annotations?: Record<string, unknown> };
  spec?: unknown;
  data?: Record<string, unknown>;
};

/**
 * Builds a Config from Kubernetes objects (as listed from the API or read from manifests).
 * Objects of other kinds (NodeClaim, CRDs, Secrets) are ignored, so a whole `kubectl get -o yaml`
 * dump or a migrate output can be passed as is.
 */
export function configFromObjects(objects: unknown[]): Result<Config, CrdProblem[]> {
  const problems: CrdProblem[] = [];
  const file: Record<string, unknown> & {
    providers: unknown[];
    machineTemplates: unknown[];
    nodePools: unknown[];
    tenants?: unknown[];
  } = { apiVersion: CONFIG_API_VERSION, providers: [], machineTemplates: [], nodePools: [] };
  /** list name + index -> object label, to translate schema paths back. */
  const labels: Record<string, string[]> = {
    providers: [],
    machineTemplates: [],
    nodePools: [],
    tenants: [],
  };
  for (const raw of objects) {
    if (typeof raw !== "object" || raw === null) continue;
    const o = raw as Obj;
    const name = typeof o.metadata?.name === "string" ? o.metadata.name : undefined;
    if (o.kind === "ConfigMap" && name === SETTINGS_CONFIGMAP) {
      const text = o.data?.[SETTINGS_KEY];
      if (typeof text !== "string") continue;
      try {
        const parsed = parseYaml(text) ?? {};
        if (typeof parsed !== "object") throw new Error("not a map");
        for (const [k, v] of Object.entries(parsed)) {
          if (k === "settings" || k === "queue") file[k] = v;
          else {
            problems.push({
              object: `ConfigMap/${name}`,
              path: `data.${SETTINGS_KEY}.${k}`,
              message: "unknown field",
            });
          }
        }
      } catch (e) {
        problems.push({
          object: `ConfigMap/${name}`,
          path: `data.${SETTINGS_KEY}`,
          message: `not valid YAML: ${(e as Error).message.split("\n")[0]}`,
        });
      }
      continue;
    }
    const list = typeof o.kind === "string" ? LIST_OF[o.kind] : undefined;
    if (!list) continue;
    const label = `${o.kind}/${name ?? "<unnamed>"}`;
    if (o.apiVersion !== CONFIG_API_VERSION) {
      problems.push({
        object: label,
        path: "apiVersion",
        message: `must be ${CONFIG_API_VERSION}, got ${JSON.stringify(o.apiVersion)}`,
      });
      continue;
    }
    labels[list]!.push(label);
    if (o.kind === "Provider") {
      const applied = applyHostMaintenance(o.spec, o.metadata?.annotations);
      for (const p of applied.problems) {
        problems.push({ object: label, path: `metadata.annotations.${p.key}`, message: p.message });
      }
      (file[list] ??= []).push({ name, spec: applied.spec });
      continue;
    }
    (file[list] ??= []).push({ name, spec: o.spec });
  }
  if (problems.length) return err(problems);
  const locate = (path: readonly PropertyKey[]): { object: string; path: string } => {
    const [list, index, ...rest] = path;
    if (typeof list === "string" && typeof index === "number" && labels[list]) {
      return {
        object: labels[list][index] ?? `${KIND_OF[list]}[${index}]`,
        path: pathText(rest),
      };
    }
    if (typeof list === "string" && labels[list] && index === undefined) {
      return { object: `${KIND_OF[list]}`, path: "" };
    }
    return { object: `ConfigMap/${SETTINGS_CONFIGMAP}`, path: pathText(path) };
  };
  // Tenant defaults fill what a tenant's pools leave unset, before the global defaults.
  const merged = applyTenantDefaults(file);
  const parsed = configFile.safeParse(merged.value as ConfigFileInput);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = locate(issue.path);
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          problems.push({
            object: where.object,
            path: where.path ? `${where.path}.${k}` : k,
            message: "unknown field",
          });
        }
      } else if (issue.code === "too_small" && where.path === "") {
        problems.push({ ...where, message: `no ${where.object} objects found` });
      } else {
        problems.push({ ...where, message: issue.message });
      }
    }
    return err(problems);
  }
  const cross = crossCheck(parsed.data, merged.inherited);
  if (cross.length) {
    return err(cross.map((c) => ({ ...locate(c.path), message: c.message })));
  }
  return ok(normalize(parsed.data));
}
