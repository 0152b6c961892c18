/**
 * The drain the finalize job does before it deletes a claim's VM: a claim the lifecycle ends
 * (LaunchTimeout, RegistrationTimeout, NodeNotReady, or a user's delete) may still have a node
 * with pods bound to it, and destroying the VM under them would skip their PDBs. So whenever
 * the claim's node still holds pods that need a drain, the job taints it
 * `proxscale.io/disrupted:NoSchedule` and drains it with daemon/termination.ts's runner and
 * ports (core/drain.ts decides; one eviction attempt per call, a PDB refusal backs off), with
 * the pool's scaleDown.drainTimeout and disruption.drainTimeoutAction.
 *
 * This is decided from the pods, not from the lifecycle's `drainFirst` hint: drainFirst is
 * false for a NotReady node, yet its pods' objects still count against their PDBs.
 *
 * The rules that differ from a disruption's drain, because the claim is already ending:
 * - drainTimeoutAction "uncordon" at drainTimeout keeps the taint, the Node and the VM and
 *   fails the job, so the queue (and the next pass) tries again later: no VM goes while pods
 *   that need a drain are on it, unless the configured outcome is "force".
 * - NotReady node (node repair): evictions still go through the eviction API and its PDBs,
 *   but a pod whose eviction was accepted (it is terminating) counts as gone at once. Its
 *   kubelet is not there to run its shutdown, so waiting out its grace period buys nothing,
 *   and its controller already made its replacement. Pods a PDB protects are not forced
 *   unless drainTimeoutAction is "force".
 *
 * May import: core/, adapters/, daemon/.
 */
import type { NodeClaim } from "../core/model.ts";
import { ok } from "../core/result.ts";
import { reason } from "../core/reason.ts";
import { drainable } from "../core/drain.ts";
import { jobFailed, type JobOutcome } from "./ports/queue.ts";
import type { DaemonContext } from "./context.ts";
import { DISRUPTED_TAINT, drainTarget, targetOf, type TerminationPorts } from "./termination.ts";
import { terminationPorts } from "./termination_ports.ts";

/**
 * Drains every live node of `claim` that still holds pods needing a drain. Undefined when the
 * VM may go now; otherwise the job outcome to return (retried).
 */
export async function drainBeforeVmDelete(
  ctx: DaemonContext,
  claim: NodeClaim,
): Promise<JobOutcome | undefined> {
  const nodes = ctx.informers.nodes.list().filter((n) =>
    !n.deleting &&
    ((claim.providerID !== undefined && n.providerID === claim.providerID) ||
      (claim.nodeName !== undefined && n.name === claim.nodeName))
  );
  const pool = ctx.config().nodePools.find((p) => p.name === claim.nodePool);
  for (const node of nodes) {
    const pods = ctx.informers.pods.list().filter((p) => p.nodeName === node.name);
    const left = drainable(pods, node.name).filter((p) => node.ready || !p.deleting);
    if (left.length === 0) continue;
    const why = reason(
      "Draining",
      `NodeClaim ${claim.name} is being deleted: drain node ${node.name}${
        node.ready ? "" : " (NotReady)"
      } before its VM goes`,
    );
    const base = terminationPorts(ctx, why);
    const ports: TerminationPorts = {
      ...base,
      // The claim is ending: the node stays tainted while a later attempt tries again.
      untaintNode: () => Promise.resolve(ok(undefined)),
      async listPods(name) {
        const r = await base.listPods(name);
        if (!r.ok || node.ready) return r;
        return ok(r.value.filter((p) => !p.deleting));
      },
    };
    const t = await base.taintNode(node.name, DISRUPTED_TAINT);
    if (!t.ok) return jobFailed(reason("KubernetesError", t.error.message));
    const target = targetOf(
      { nodeClaim: claim.name, node: node.name, nodePool: claim.nodePool },
      pool,
      why,
    );
    const report = (step: string, r: typeof why) =>
      ctx.report({
        time: ctx.clock.now(),
        what: `Finalize:${step}`,
        nodeclaim: claim.name,
        node: node.name,
        reason: r,
      });
    report("draining", why);
    const d = await drainTarget(target, ports, ctx.clock, {
      pollInterval: ctx.pollInterval,
      retryDelay: Math.min(500, ctx.pollInterval),
      onStep: report,
    });
    if (d.kind !== "Drained") {
      return jobFailed(d.outcome.reason);
    }
  }
  return undefined;
}
