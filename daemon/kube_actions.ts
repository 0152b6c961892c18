/**
 * The Kubernetes writes the daemon's executor and workers need beyond the adapter's writers:
 * a NodeClaim created with proxscale's finalizer (so the VM is always gone before the claim),
 * finalizer release, node registration (labels, taints, the unregistered taint removed), and a
 * single eviction attempt as daemon/termination.ts expects from its `evict` port.
 *
 * May import: core/, adapters/.
 */
import type { NodeClaim, Pod, Taint } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { UNREGISTERED_TAINT_KEY } from "../core/labels.ts";
import {
  describeKubeError,
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  type KubeError,
  PatchType,
} from "../adapters/kubernetes/client.ts";
import { nodeClaimToKube, TEMPLATE_HASH_ANNOTATION } from "../adapters/kubernetes/translate.ts";
import { setNodeLabels, updateNodeTaints } from "../adapters/kubernetes/node_writer.ts";
import type { EvictError } from "./termination.ts";

/** The finalizer that keeps a NodeClaim until its VM and Node are gone. */
export const TERMINATION_FINALIZER = "proxscale.io/termination";

const CLAIMS = "/apis/proxscale.io/v1alpha1/nodeclaims";
const claimPath = (name: string) => `${CLAIMS}/${encodeURIComponent(name)}`;

/** Creates the NodeClaim with the finalizer; `created: false` when it already existed. */
export async function createClaimWithFinalizer(
  client: KubeClient,
  claim: NodeClaim,
): Promise<Result<{ created: boolean }, KubeError>> {
  const body = nodeClaimToKube(claim) as { metadata: Record<string, unknown> };
  body.metadata.finalizers = [TERMINATION_FINALIZER];
  const r = await client.requestJson("POST", CLAIMS, {
    body,
    query: { fieldManager: "proxscale" },
  });
  if (r.ok) return ok({ created: true });
  if (isAlreadyExists(r.error)) return ok({ created: false });
  return err(r.error);
}

/** Requests deletion of a NodeClaim (the finalizer holds it until the VM is gone). */
export async function requestClaimDeletion(
  client: KubeClient,
  name: string,
): Promise<Result<void, KubeError>> {
  const r = await client.requestJson("DELETE", claimPath(name));
  return r.ok || isNotFound(r.error) ? ok(undefined) : err(r.error);
}

/**
 * Records on the NodeClaim the template hash its VM is being built from (the launch-time
 * configuration, not the one the claim was created under), so drift compares the VM's own
 * record with the pool.
 */
export async function recordClaimTemplateHash(
  client: KubeClient,
  name: string,
  hash: string,
): Promise<Result<void, KubeError>> {
  const r = await client.requestJson("PATCH", claimPath(name), {
    body: { metadata: { annotations: { [TEMPLATE_HASH_ANNOTATION]: hash } } },
    contentType: PatchType.MergePatch,
  });
  return r.ok ? ok(undefined) : err(r.error);
}

/** Drops proxscale's finalizer; a claim already gone is fine. */
export async function releaseClaimFinalizer(
  client: KubeClient,
  name: string,
): Promise<Result<void, KubeError>> {
  for (let i = 0; i < 5; i++) {
    const read = await client.requestJson("GET", claimPath(name));
    if (!read.ok) return isNotFound(read.error) ? ok(undefined) : err(read.error);
    const meta = (read.value.body as {
      metadata?: { finalizers?: string[]; resourceVersion?: string };
    }).metadata ?? {};
    const finalizers = meta.finalizers ?? [];
    if (!finalizers.includes(TERMINATION_FINALIZER)) return ok(undefined);
    const w = await client.requestJson("PATCH", claimPath(name), {
      body: {
        metadata: {
          resourceVersion: meta.resourceVersion,
          finalizers: finalizers.filter((f) => f !== TERMINATION_FINALIZER),
        },
      },
      contentType: PatchType.MergePatch,
    });
    if (w.ok || isNotFound(w.error)) return ok(undefined);
    if (!(w.error.kind === "Status" && w.error.code === 409)) return err(w.error);
  }
  return err({ kind: "Transport", message: `finalizer of ${name}: conflicts kept repeating` });
}

/** Registration: claim labels and taints onto the node, then `removeTaintKeys` off. */
export async function registerNode(
  client: KubeClient,
  node: string,
  labels: Record<string, string>,
  taints: Taint[],
  removeTaintKeys: readonly string[] = [UNREGISTERED_TAINT_KEY],
): Promise<Result<void, KubeError>> {
  const l = await setNodeLabels(client, node, labels);
  if (!l.ok) return l;
  const effects = ["NoExecute", "NoSchedule", "PreferNoSchedule"] as const;
  const t = await updateNodeTaints(client, node, {
    add: taints,
    remove: removeTaintKeys.flatMap((key) => effects.map((effect) => ({ key, effect }))),
  });
  return t.ok ? ok(undefined) : err(t.error);
}

/** One policy/v1 Eviction with the pod's UID as precondition; no retry (the caller paces). */
export async function evictOnce(
  client: KubeClient,
  pod: Pod,
): Promise<Result<"evicted" | "gone", EvictError>> {
  const r = await client.requestJson(
    "POST",
    `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${
      encodeURIComponent(pod.name)
    }/eviction`,
    {
      body: {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: pod.name, namespace: pod.namespace },
        deleteOptions: { preconditions: { uid: pod.uid } },
      },
    },
  );
  if (r.ok) return ok("evicted");
  const e = r.error;
  if (e.kind === "Status" && (e.code === 404 || e.code === 409)) return ok("gone");
  if (e.kind === "Status" && e.code === 429) {
    const pdb = e.causes.length > 0 || /disruption budget/i.test(e.message);
    return err({ kind: pdb ? "PdbBlocked" : "TooManyRequests", message: describeKubeError(e) });
  }
  if (e.kind === "Status" && e.code === 500 && /disruption budget/i.test(e.message)) {
    return err({ kind: "PdbBlocked", message: describeKubeError(e) });
  }
  return err({ kind: "Failed", message: describeKubeError(e) });
}

/** Deletes a pod with a grace period (the "force" outcome of a drain timeout). */
export async function deletePodWithGrace(
  client: KubeClient,
  pod: Pod,
  gracePeriodMs: number,
): Promise<Result<"deleted" | "gone", KubeError>> {
  const r = await client.requestJson(
    "DELETE",
    `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`,
    { body: { gracePeriodSeconds: Math.ceil(gracePeriodMs / 1000) } },
  );
  if (r.ok) return ok("deleted");
  return isNotFound(r.error) ? ok("gone") : err(r.error);
}
