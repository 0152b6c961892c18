/**
 * Writes to Nodes: labels, taints, cordon and delete. Every patch names its Content-Type
 * (client-node's generated patch methods default to JSON Patch). Taints are
 * a list that every patch type replaces wholesale, so taint edits are read-modify-write guarded
 * by resourceVersion and retried on 409 with a fresh read.
 */
import type { Taint } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { isNotFound, type KubeClient, type KubeError, PatchType } from "./client.ts";
import { type ConflictRetry, retryOnConflict } from "./conflict.ts";

const nodePath = (node: string) => `/api/v1/nodes/${encodeURIComponent(node)}`;
const merge = { contentType: PatchType.MergePatch };

type KubeTaint = { key: string; value?: string; effect: string; timeAdded?: unknown };
const sameTaint = (a: { key: string; effect: string }, b: { key: string; effect: string }) =>
  a.key === b.key && a.effect === b.effect;

/** Sets (string) or removes (null) node labels with one merge patch. */
export async function setNodeLabels(
  client: KubeClient,
  node: string,
  labels: Record<string, string | null>,
): Promise<Result<void, KubeError>> {
  const r = await client.requestJson("PATCH", nodePath(node), {
    ...merge,
    body: { metadata: { labels } },
  });
  return r.ok ? ok(undefined) : r;
}

/** Cordons (true) or uncordons (false) a node: spec.unschedulable, as kubectl does. */
export async function setNodeUnschedulable(
  client: KubeClient,
  node: string,
  unschedulable: boolean,
): Promise<Result<void, KubeError>> {
  const body = { spec: { unschedulable: unschedulable ? true : null } };
  const r = await client.requestJson("PATCH", nodePath(node), { ...merge, body });
  return r.ok ? ok(undefined) : r;
}

/**
 * Edits a node's taints: `add` replaces same key+effect entries (stamping timeAdded for the
 * new ones), `remove` drops entries by key+effect. Guarded by the resourceVersion read, retried
 * on conflict with a fresh read; a no-op edit sends nothing.
 */
export function updateNodeTaints(
  client: KubeClient,
  node: string,
  edit: { add?: Taint[]; remove?: Pick<Taint, "key" | "effect">[] },
  now: () => number = Date.now,
  retry: ConflictRetry = {},
): Promise<Result<{ changed: boolean }, KubeError>> {
  return retryOnConflict<{ changed: boolean }>(async () => {
    const read = await client.requestJson("GET", `/api/v1/nodes/${encodeURIComponent(node)}`);
    if (!read.ok) return read;
    const obj = read.value.body as {
      metadata?: { resourceVersion?: string };
      spec?: { taints?: KubeTaint[] };
    };
    const current: KubeTaint[] = obj.spec?.taints ?? [];
    const stamp = new Date(Math.floor(now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
    let next = current.filter((t) => !(edit.remove ?? []).some((r) => sameTaint(t, r)));
    for (const a of edit.add ?? []) {
      const existing = next.find((t) => sameTaint(t, a));
      if (existing && (existing.value ?? "") === (a.value ?? "")) continue;
      next = next.filter((t) => !sameTaint(t, a));
      next.push({ ...a, ...(a.effect === "NoExecute" ? { timeAdded: stamp } : {}) });
    }
    if (JSON.stringify(next) === JSON.stringify(current)) return ok({ changed: false });
    const body = {
      metadata: { resourceVersion: obj.metadata?.resourceVersion },
      spec: { taints: next.length ? next : null },
    };
    const w = await client.requestJson("PATCH", `/api/v1/nodes/${encodeURIComponent(node)}`, {
      body,
      contentType: PatchType.MergePatch,
    });
    return w.ok ? ok({ changed: true }) : w;
  }, retry);
}

/**
 * Deletes a Node object. With `uid` the delete only happens if the node is still the one the
 * decision was about (a node re-registered under the same name is left alone). A node that is
 * already gone counts as deleted.
 */
export async function deleteNode(
  client: KubeClient,
  node: string,
  opts: { uid?: string } = {},
): Promise<Result<{ existed: boolean }, KubeError>> {
  const body = opts.uid ? { preconditions: { uid: opts.uid } } : undefined;
  const r = await client.requestJson("DELETE", nodePath(node), body ? { body } : {});
  if (r.ok) return ok({ existed: true });
  if (isNotFound(r.error)) return ok({ existed: false });
  return err(r.error);
}
