/**
 * Where the daemon keeps each NodePool's demand history in the cluster: one ConfigMap in
 * proxscale's own namespace, `proxscale-demand-history`, whose data maps a pool name to its
 * encoded history (core/forecast_history.ts `encodeHistory`). Read at start and by followers,
 * written by the leader; a restart or a failover reads back what the previous leader wrote.
 *
 * A ConfigMap holds at most 1 MiB: the histories share STORE_BUDGET_BYTES, each pool keeping its
 * latest buckets up to its share (four full weeks for up to six pools).
 *
 * May import: core/, adapters/kubernetes/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import {
  decodeHistory,
  type DemandHistory,
  encodeHistory,
  HISTORY_BUCKETS,
  lastBuckets,
} from "../../core/forecast_history.ts";
import { isNotFound, type KubeClient, type KubeError, PatchType } from "./client.ts";

/** Name of the history ConfigMap in proxscale's namespace. */
export const DEMAND_HISTORY_CONFIGMAP = "proxscale-demand-history";
/** Bytes of encoded history the ConfigMap holds at most, over all pools. */
export const STORE_BUDGET_BYTES = 900_000;

const path = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;

/** The stored histories by pool; an empty record when the ConfigMap does not exist yet. */
export async function readDemandHistories(
  client: KubeClient,
  namespace: string,
): Promise<Result<Record<string, DemandHistory>, KubeError>> {
  const r = await client.requestJson("GET", `${path(namespace)}/${DEMAND_HISTORY_CONFIGMAP}`);
  if (!r.ok) return isNotFound(r.error) ? ok({}) : err(r.error);
  const data = (r.value.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const out: Record<string, DemandHistory> = {};
  for (const [pool, text] of Object.entries(data)) {
    const h = typeof text === "string" ? decodeHistory(text) : undefined;
    if (h) out[pool] = h;
  }
  return ok(out);
}

/** Buckets each of `pools` histories may keep within the budget. */
export function bucketsPerPool(pools: number): number {
  // 12 bytes a bucket before base64 (4/3), plus the prefix.
  const share = Math.floor(STORE_BUDGET_BYTES / Math.max(1, pools)) - 64;
  return Math.min(HISTORY_BUCKETS, Math.floor((share * 3) / 4 / 12));
}

/** Writes the histories (a merge patch; creates the ConfigMap when missing). */
export async function writeDemandHistories(
  client: KubeClient,
  namespace: string,
  histories: Record<string, DemandHistory>,
): Promise<Result<void, KubeError>> {
  const keep = bucketsPerPool(Object.keys(histories).length);
  const data: Record<string, string> = {};
  for (const [pool, h] of Object.entries(histories)) {
    data[pool] = encodeHistory(lastBuckets(h, keep - (h.open ? 1 : 0)));
  }
  const patch = await client.requestJson(
    "PATCH",
    `${path(namespace)}/${DEMAND_HISTORY_CONFIGMAP}`,
    { body: { data }, contentType: PatchType.MergePatch },
  );
  if (patch.ok) return ok(undefined);
  if (!isNotFound(patch.error)) return err(patch.error);
  const made = await client.requestJson("POST", path(namespace), {
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: DEMAND_HISTORY_CONFIGMAP,
        namespace,
        labels: { "app.kubernetes.io/managed-by": "proxscale" },
      },
      data,
    },
  });
  if (made.ok) return ok(undefined);
  if (made.error.kind === "Status" && made.error.code === 409) {
    return await writeDemandHistories(client, namespace, histories);
  }
  return err(made.error);
}
