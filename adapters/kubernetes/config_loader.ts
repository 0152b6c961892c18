/**
 * Reads proxscale's configuration from the cluster: the Provider, MachineTemplate and NodePool
 * custom resources and the settings ConfigMap, validated and normalised by
 * adapters/config/crd_source.ts (the same schema and cross-checks as the YAML file).
 */
import type { Config } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { configFromObjects, type CrdProblem, SETTINGS_CONFIGMAP } from "../config/crd_source.ts";
import { DEFAULT_NAMESPACE } from "../config/crd_manifests.ts";
import { describeKubeError, isNotFound, type KubeClient } from "./client.ts";

const PLURALS = ["providers", "machinetemplates", "nodepools", "tenants"] as const;

/** Lists the configuration objects and returns the core Config, or every problem found. */
export async function loadConfigFromCluster(
  client: KubeClient,
  namespace = DEFAULT_NAMESPACE,
): Promise<Result<Config, CrdProblem[]>> {
  const objects: unknown[] = [];
  for (const plural of PLURALS) {
    const r = await client.requestJson("GET", `/apis/proxscale.io/v1alpha1/${plural}`);
    // The Tenant CRD is optional: a cluster without it has no tenants.
    if (!r.ok && plural === "tenants" && isNotFound(r.error)) continue;
    if (!r.ok) {
      return err([{
        object: `${plural}.proxscale.io`,
        path: "",
        message: describeKubeError(r.error),
      }]);
    }
    const items = (r.value.body as { items?: unknown[] })?.items ?? [];
    objects.push(...items);
  }
  const cm = await client.requestJson(
    "GET",
    `/api/v1/namespaces/${namespace}/configmaps/${SETTINGS_CONFIGMAP}`,
  );
  if (cm.ok) objects.push(cm.value.body);
  else if (!isNotFound(cm.error)) {
    return err([{
      object: `ConfigMap/${SETTINGS_CONFIGMAP}`,
      path: "",
      message: describeKubeError(cm.error),
    }]);
  }
  const c = configFromObjects(objects);
  return c.ok ? ok(c.value) : c;
}
