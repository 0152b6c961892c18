/**
 * Writes NodeClaim custom resources: create (idempotent: the name is the launch job's key, so
 * an AlreadyExists means the decision was already recorded), status conditions (metav1
 * semantics: lastTransitionTime moves only when status changes) and delete.
 *
 * Status is written to the /status subresource as a merge patch that carries the
 * resourceVersion it was computed from, so two writers cannot silently overwrite each other's
 * conditions; a 409 re-reads and re-applies. `applyNodeClaimStatus` is the server-side-apply
 * alternative for a single owner (fieldManager proxscale, force).
 */
import type { ClaimAddress, Condition, NodeClaim } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import {
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  type KubeError,
  PatchType,
} from "./client.ts";
import { type ConflictRetry, retryOnConflict } from "./conflict.ts";
import { conditionsToKube, kubeTime, nodeClaimToKube } from "./translate.ts";

const GROUP = "proxscale.io";
const VERSION = "v1alpha1";
const PLURAL = "nodeclaims";
const path = (name: string) => `/apis/${GROUP}/${VERSION}/${PLURAL}/${encodeURIComponent(name)}`;

/** The field manager proxscale writes with (server-side apply, managedFields). */
export const FIELD_MANAGER = "proxscale";

/** Creates the NodeClaim; `created: false` when one with this name already existed. */
export async function createNodeClaim(
  client: KubeClient,
  claim: NodeClaim,
): Promise<Result<{ created: boolean; object: unknown }, KubeError>> {
  const r = await client.requestJson("POST", `/apis/${GROUP}/${VERSION}/${PLURAL}`, {
    body: nodeClaimToKube(claim),
    query: { fieldManager: FIELD_MANAGER },
  });
  if (r.ok) return ok({ created: true, object: r.value.body });
  if (!isAlreadyExists(r.error)) return r;
  const existing = await client.requestJson("GET", path(claim.name));
  return existing.ok ? ok({ created: false, object: existing.value.body }) : existing;
}

/** Status fields the launch workers and lifecycle controller report. */
export type NodeClaimStatusUpdate = {
  conditions?: Condition[];
  vmid?: number;
  host?: string;
  providerID?: string;
  nodeName?: string;
  /** Static addresses from IP pools (replaces the recorded list). */
  addresses?: ClaimAddress[];
};

type KubeCondition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
};

/**
 * Merges conditions by type the metav1 way: an unchanged status keeps its lastTransitionTime,
 * a changed one takes `now`. Reasons must not be empty (the CRD requires one).
 */
export function mergeConditions(
  current: KubeCondition[],
  updates: Condition[],
  now: number,
  generation?: number,
): KubeCondition[] {
  const out = current.map((c) => ({ ...c }));
  for (const u of conditionsToKube(updates, generation)) {
    u.reason ||= "Unknown";
    const i = out.findIndex((c) => c.type === u.type);
    if (i < 0) out.push({ ...u, lastTransitionTime: kubeTime(now) });
    else {
      const prev = out[i]!;
      out[i] = {
        ...u,
        lastTransitionTime: prev.status === u.status ? prev.lastTransitionTime : kubeTime(now),
      };
    }
  }
  return out;
}

/**
 * Writes status fields and upserts conditions on a NodeClaim, guarded by the resourceVersion
 * read and retried on conflict. Returns `changed: false` without writing when nothing differs.
 */
export function setNodeClaimStatus(
  client: KubeClient,
  name: string,
  update: NodeClaimStatusUpdate,
  now: () => number = Date.now,
  retry: ConflictRetry = {},
): Promise<Result<{ changed: boolean }, KubeError>> {
  return retryOnConflict<{ changed: boolean }>(async () => {
    const read = await client.requestJson("GET", path(name));
    if (!read.ok) return read;
    const obj = read.value.body as {
      metadata?: { resourceVersion?: string; generation?: number };
      status?: Record<string, unknown> & { conditions?: KubeCondition[] };
    };
    const status: Record<string, unknown> = { ...(obj.status ?? {}) };
    for (const k of ["vmid", "host", "providerID", "nodeName", "addresses"] as const) {
      if (update[k] !== undefined) status[k] = update[k];
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
    const w = await client.requestJson("PATCH", `${path(name)}/status`, {
      body: { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status },
      contentType: PatchType.MergePatch,
    });
    return w.ok ? ok({ changed: true }) : w;
  }, retry);
}

/**
 * Server-side apply of the whole status as proxscale's field manager (force: proxscale owns
 * NodeClaim status). For single-writer use; `setNodeClaimStatus` merges with other writers.
 */
export async function applyNodeClaimStatus(
  client: KubeClient,
  name: string,
  status: Record<string, unknown>,
): Promise<Result<void, KubeError>> {
  // JSON is YAML, so the apply body can be sent as JSON under the apply Content-Type.
  const r = await client.requestJson("PATCH", `${path(name)}/status`, {
    query: { fieldManager: FIELD_MANAGER, force: "true" },
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: "NodeClaim", metadata: { name }, status },
    contentType: PatchType.ServerSideApply,
  });
  return r.ok ? ok(undefined) : r;
}

/** Deletes a NodeClaim; one that is already gone counts as deleted. */
export async function deleteNodeClaim(
  client: KubeClient,
  name: string,
): Promise<Result<{ existed: boolean }, KubeError>> {
  const r = await client.requestJson("DELETE", path(name));
  if (r.ok) return ok({ existed: true });
  if (isNotFound(r.error)) return ok({ existed: false });
  return err(r.error);
}
