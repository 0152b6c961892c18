/**
 * Where `proxscale pool scale-min` writes a NodePool's `minNodes`: the NodePool custom resource
 * (a merge patch of spec.minNodes, checked by its CEL rules), or with `--config FILE` the pool's
 * `spec.minNodes` in the file (comments and layout kept; the daemon hot-reloads it). Each says
 * what it changed.
 *
 * May import: core/, adapters/, cli/.
 */
import { isMap, isSeq, parseDocument, type YAMLMap } from "yaml";
import { err, ok, type Result } from "../core/result.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";

/** NodePools in the cluster (cluster-scoped custom resources). */
export const NODEPOOLS_PATH = "/apis/proxscale.io/v1alpha1/nodepools";

/** Sets one field of a pool's spec in a config file's text. */
export function setPoolFieldInConfigText(
  text: string,
  pool: string,
  field: string,
  value: unknown,
): Result<string, string> {
  const doc = parseDocument(text);
  if (doc.errors.length) return err(`not valid YAML: ${doc.errors[0]!.message}`);
  const pools = doc.get("nodePools");
  const found = isSeq(pools)
    ? pools.items.find((p) => isMap(p) && p.get("name") === pool) as YAMLMap | undefined
    : undefined;
  if (!found) return err(`no NodePool ${pool}`);
  if (!isMap(found.get("spec"))) found.set("spec", doc.createNode({}));
  found.setIn(["spec", field], value);
  return ok(doc.toString());
}

/** Edits the config file in place; says what it changed. */
export async function setPoolFieldInConfigFile(
  path: string,
  pool: string,
  field: string,
  value: unknown,
): Promise<Result<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    return err(`${path}: ${(e as Error).message}`);
  }
  const r = setPoolFieldInConfigText(text, pool, field, value);
  if (!r.ok) return err(`${path}: ${r.error}`);
  await Deno.writeTextFile(path, r.value);
  return ok(
    `${path}: NodePool ${pool} ${field} set to ${
      JSON.stringify(value)
    } (the daemon reloads the file)`,
  );
}

/** Merge-patches one field of a NodePool's spec in the cluster; says what it changed. */
export async function setPoolFieldInCluster(
  kube: KubeClient,
  pool: string,
  field: string,
  value: unknown,
): Promise<Result<string, string>> {
  const r = await kube.requestJson("PATCH", `${NODEPOOLS_PATH}/${pool}`, {
    body: { spec: { [field]: value } },
    contentType: "application/merge-patch+json",
  });
  if (!r.ok) return err(`NodePool ${pool}: ${r.error.message}`);
  return ok(`NodePool ${pool}: spec.${field} set to ${JSON.stringify(value)}`);
}
