/**
 * daemon/termination.ts's ports over the real adapters: taints through the node writer,
 * replacements through the crash-safe launch path, pods and PDBs from the informers' caches,
 * one eviction per call, VM deletion through the claim's provider (by claim identity), Node
 * deletion, and the NodeClaim's deletion plus finalizer release.
 *
 * May import: core/, adapters/, daemon/.
 */
import { ok } from "../core/result.ts";
import { reason } from "../core/reason.ts";
import { isClaimReady } from "../core/claim_state.ts";
import { claimFromPlan } from "../core/reconcile.ts";
import { describeKubeError } from "../adapters/kubernetes/client.ts";
import { nodeClaimSubject } from "../adapters/kubernetes/events.ts";
import {
  deleteNode,
  setNodeUnschedulable,
  updateNodeTaints,
} from "../adapters/kubernetes/node_writer.ts";
import type { TerminationPorts } from "./termination.ts";
import { releaseClaimBootstrap } from "./bootstrap.ts";
import type { DaemonContext, DecisionReport } from "./context.ts";
import type { Reason, ReasonCode } from "../core/reason.ts";
import {
  deletePodWithGrace,
  evictOnce,
  releaseClaimFinalizer,
  requestClaimDeletion,
} from "./kube_actions.ts";
import { startLaunch } from "./launching.ts";
import { readClaim } from "./workers.ts";
import { destroyClaimVms } from "./claim_vms.ts";

const portError = (message: string, code?: ReasonCode) => ({
  ok: false as const,
  error: { kind: "PortError" as const, message, ...(code ? { code } : {}) },
});

/**
 * The ports for one daemon. `why` is the reason of the disruption or drain they carry out; each
 * taint, eviction and VM deletion is reported with it (and its outcome) for the audit stream.
 */
export function terminationPorts(ctx: DaemonContext, why?: Reason): TerminationPorts {
  let evictions = 0;
  const step = (
    what: string,
    outcome: "succeeded" | "failed",
    fields: Partial<DecisionReport>,
    detail?: string,
  ) => {
    const base = why ?? reason("Draining", what);
    ctx.report({
      time: ctx.clock.now(),
      what,
      ...fields,
      outcome,
      reason: detail === undefined
        ? base
        : { code: base.code, message: `${base.message}: ${detail}` },
    });
  };
  return {
    async taintNode(node, taint) {
      const r = await updateNodeTaints(ctx.kube, node, { add: [taint] }, ctx.clock.now);
      step(
        "NodeTainted",
        r.ok ? "succeeded" : "failed",
        { node },
        r.ok ? undefined : describeKubeError(r.error),
      );
      return r.ok ? ok(undefined) : portError(describeKubeError(r.error));
    },
    async untaintNode(node, key) {
      const r = await updateNodeTaints(ctx.kube, node, {
        remove: [{ key, effect: "NoSchedule" }],
      }, ctx.clock.now);
      const u = r.ok ? await setNodeUnschedulable(ctx.kube, node, false) : undefined;
      const failure = !r.ok
        ? describeKubeError(r.error)
        : u && !u.ok
        ? describeKubeError(u.error)
        : undefined;
      step("NodeUntainted", failure ? "failed" : "succeeded", { node }, failure);
      return failure ? portError(failure) : ok(undefined);
    },
    async launchReplacement(planned) {
      const claim = claimFromPlan(planned, ctx.config(), ctx.clock.now());
      const r = await startLaunch(ctx, claim, true);
      if (!r.ok) return portError(r.error.message, r.error.code);
      // Why the replacement exists, on it (describe nodeclaim), like any launch.
      await ctx.events?.record(nodeClaimSubject(claim.name), planned.reason);
      return ok(undefined);
    },
    replacementStatus(name) {
      const c = ctx.informers.nodeClaims.get(name);
      if (!c || c.deleting) return Promise.resolve(ok("Failed" as const));
      return Promise.resolve(ok(isClaimReady(c) ? "Ready" as const : "Pending" as const));
    },
    listPods(node) {
      return Promise.resolve(ok(ctx.informers.pods.list().filter((p) => p.nodeName === node)));
    },
    listPdbs() {
      return Promise.resolve(ok(ctx.informers.pdbs.list()));
    },
    async evict(pod) {
      const r = await evictOnce(ctx.kube, pod);
      const fields = {
        pod: `${pod.namespace}/${pod.name}`,
        ...(pod.nodeName ? { node: pod.nodeName } : {}),
      };
      if (!r.ok) {
        step(
          r.error.kind === "PdbBlocked" ? "EvictBlocked" : "EvictFailed",
          "failed",
          fields,
          r.error.message,
        );
      } else if (r.value === "evicted") step("Evicted", "succeeded", fields);
      else step("EvictGone", "succeeded", fields, "the pod was already gone");
      if (r.ok && r.value === "evicted" && evictions++ === 0) await ctx.hook("mid-drain", pod.name);
      return r;
    },
    async deletePod(pod, graceMs) {
      const r = await deletePodWithGrace(ctx.kube, pod, graceMs);
      step(r.ok ? "PodDeleted" : "PodDeleteFailed", r.ok ? "succeeded" : "failed", {
        pod: `${pod.namespace}/${pod.name}`,
        ...(pod.nodeName ? { node: pod.nodeName } : {}),
      }, r.ok ? "drain timed out: deleted without eviction" : describeKubeError(r.error));
      return r.ok ? r : portError(describeKubeError(r.error));
    },
    async deleteVm(target) {
      const read = await readClaim(ctx, target.nodeClaim);
      if (!read.ok) return portError(read.error.message);
      const d = await destroyClaimVms(ctx, target.nodeClaim, read.value, target.reason);
      return d.ok ? ok(d.value.outcome) : portError(d.error);
    },
    async deleteNode(node) {
      const r = await deleteNode(ctx.kube, node);
      step(
        r.ok ? "NodeDeleted" : "NodeDeleteFailed",
        r.ok ? "succeeded" : "failed",
        { node },
        r.ok ? undefined : describeKubeError(r.error),
      );
      return r.ok ? ok(undefined) : portError(describeKubeError(r.error));
    },
    async releaseFinalizer(name) {
      // The claim ends here, not in the finalize job: its join token and seed ISO go first.
      const b = await releaseClaimBootstrap(ctx, name, "NodeClaim ended", false);
      if (!b.ok) return portError(b.error.message);
      const d = await requestClaimDeletion(ctx.kube, name);
      if (!d.ok) return portError(describeKubeError(d.error));
      const f = await releaseClaimFinalizer(ctx.kube, name);
      if (!f.ok) return portError(describeKubeError(f.error));
      ctx.report({
        time: ctx.clock.now(),
        what: "NodeClaimDeleted",
        nodeclaim: name,
        reason: reason("Drained", `NodeClaim ${name} removed after its VM and Node`),
      });
      return ok(undefined);
    },
  };
}
