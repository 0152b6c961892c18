/**
 * Status of the configuration kinds (NodePool, MachineTemplate, Provider): what the controller
 * last observed (observedGeneration), conditions with metav1 semantics, and for NodePools the
 * provisioned totals that `kubectl get nodepools` prints next to the limits. Written to the
 * /status subresource as a resourceVersion-guarded merge patch, re-read and re-applied on 409.
 */
import type { Condition } from "../../core/model.ts";
import { ok, type Result } from "../../core/result.ts";
import { formatCpu, formatMemory } from "../../core/quantity.ts";
import { type KubeClient, type KubeError, PatchType } from "./client.ts";
import { type ConflictRetry, retryOnConflict } from "./conflict.ts";
import { mergeConditions } from "./nodeclaim_writer.ts";

/** Which configuration kind, by plural. */
export type ConfigPlural = "nodepools" | "machinetemplates" | "providers";

/** What to report; `usage` only applies to NodePools (millicores and bytes). */
export type ConfigStatusUpdate = {
  conditions?: Condition[];
  nodes?: number;
  usage?: { cpu: number; memory: number; nodes: number };
};

/** Writes status for one configuration object; `changed: false` when nothing differs. */
export function setConfigStatus(
  client: KubeClient,
  plural: ConfigPlural,
  name: string,
  update: ConfigStatusUpdate,
  now: () => number = Date.now,
  retry: ConflictRetry = {},
): Promise<Result<{ changed: boolean }, KubeError>> {
  const path = `/apis/proxscale.io/v1alpha1/${plural}/${encodeURIComponent(name)}`;
  return retryOnConflict<{ changed: boolean }>(async () => {
    const read = await client.requestJson("GET", path);
    if (!read.ok) return read;
    const obj = read.value.body as {
      metadata?: { resourceVersion?: string; generation?: number };
      status?: Record<string, unknown> & { conditions?: Parameters<typeof mergeConditions>[0] };
    };
    const status: Record<string, unknown> = { ...(obj.status ?? {}) };
    if (obj.metadata?.generation !== undefined) {
      status.observedGeneration = obj.metadata.generation;
    }
    if (plural === "nodepools") {
      if (update.nodes !== undefined) status.nodes = update.nodes;
      if (update.usage) {
        status.resources = {
          cpu: formatCpu(update.usage.cpu),
          memory: formatMemory(update.usage.memory),
          nodes: update.usage.nodes,
        };
      }
    }
    if (update.conditions) {
      status.conditions = mergeConditions(
        obj.status?.conditions ?? [],
        update.conditions,
        now(),
        obj.metadata?.generation,
      );
    }
    if (JSON.stringify(status) === JSON.stringify(obj.status ?? {})) return ok({ changed: false });
    const w = await client.requestJson("PATCH", `${path}/status`, {
      body: { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status },
      contentType: PatchType.MergePatch,
    });
    return w.ok ? ok({ changed: true }) : w;
  }, retry);
}
