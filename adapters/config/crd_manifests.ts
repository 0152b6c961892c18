/**
 * The inverse of crd_source.ts: turns a YAML configuration (as written, before defaults) into
 * the Kubernetes objects that carry the same configuration in-cluster: one Provider,
 * MachineTemplate and NodePool per entry, and the `proxscale-settings` ConfigMap for the rest.
 * Specs are copied verbatim, so the API server applies the same defaults zod would.
 */
import { stringify } from "yaml";
import { CONFIG_API_VERSION, SETTINGS_CONFIGMAP, SETTINGS_KEY } from "./crd_source.ts";

/** Where the settings ConfigMap lives unless the operator says otherwise. */
export const DEFAULT_NAMESPACE = "proxscale-system";

type Named = { name: string; spec: unknown };
/** The written form of a config file (only the parts migrate reads). */
export type WrittenConfig = {
  providers?: Named[];
  machineTemplates?: Named[];
  nodePools?: Named[];
  tenants?: Named[];
  settings?: unknown;
  queue?: unknown;
};

/** A Kubernetes object as migrate writes it. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
};

const MANAGED = { "app.kubernetes.io/managed-by": "proxscale-migrate" };

/** Objects for a written configuration, in apply order (referenced kinds first). */
export function manifestsFromConfig(
  c: WrittenConfig,
  namespace = DEFAULT_NAMESPACE,
): Manifest[] {
  const out: Manifest[] = [];
  const add = (kind: string, list: Named[] | undefined) => {
    for (const o of list ?? []) {
      out.push({
        apiVersion: CONFIG_API_VERSION,
        kind,
        metadata: { name: o.name, labels: { ...MANAGED } },
        spec: o.spec,
      });
    }
  };
  add("Provider", c.providers);
  add("MachineTemplate", c.machineTemplates);
  add("Tenant", c.tenants);
  add("NodePool", c.nodePools);
  const rest: Record<string, unknown> = {};
  if (c.settings !== undefined) rest.settings = c.settings;
  if (c.queue !== undefined) rest.queue = c.queue;
  out.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: SETTINGS_CONFIGMAP, namespace, labels: { ...MANAGED } },
    data: { [SETTINGS_KEY]: Object.keys(rest).length ? stringify(rest) : "{}\n" },
  });
  return out;
}

/** Multi-document YAML, one object per document, ready for `kubectl apply -f`. */
export function renderManifests(objects: Manifest[], header?: string): string {
  const docs = objects.map((o) => stringify(o, { lineWidth: 0 }));
  return (header ? header.replace(/^/gm, "# ") + "\n" : "") + "---\n" + docs.join("---\n");
}
