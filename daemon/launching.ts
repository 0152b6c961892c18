/**
 * Starting a launch in the crash-safe order: the NodeClaim object (with its finalizer) is
 * created in Kubernetes first, then the launch job is queued under `launch-<nodeclaim>`. A
 * crash between the two leaves a claim without a VM, which the next pass resumes (or deletes at
 * launchTimeout); never a VM without a claim.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { NodeClaim } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import { describeKubeError } from "../adapters/kubernetes/client.ts";
import { type JobQueue, launchJobId } from "./ports/queue.ts";
import type { DaemonContext, JobOrigin } from "./context.ts";
import { createClaimWithFinalizer } from "./kube_actions.ts";

/**
 * Forgets a finished (completed or failed) job `id`, so enqueueing the id runs it again; a
 * waiting or running one stays. A queue that cannot tell or forget is a QueueError: enqueueing
 * after it would add nothing and say so only as `added: false`.
 */
export async function clearFinishedJob(
  queue: JobQueue<unknown>,
  id: string,
): Promise<Result<void, Reason>> {
  const prev = await queue.get(id);
  if (!prev.ok) return err(reason("QueueError", `reading ${id}: ${prev.error.message}`));
  if (prev.value?.state !== "completed" && prev.value?.state !== "failed") return ok(undefined);
  const rm = await queue.remove(id);
  if (!rm.ok) return err(reason("QueueError", `removing the finished ${id}: ${rm.error.message}`));
  return ok(undefined);
}

/**
 * Creates the claim (when `isNew`) and queues its launch; `queued` false if already queued.
 * `relaunch`: the claim's VM vanished, so a finished launch job of the claim may run again.
 * `origin`: the deciding action (reason, span), carried by the job so its span joins the trace.
 */
export async function startLaunch(
  ctx: DaemonContext,
  claim: NodeClaim,
  isNew: boolean,
  relaunch = false,
  origin?: JobOrigin,
): Promise<Result<{ queued: boolean }, Reason>> {
  const id = launchJobId(claim.name);
  if (relaunch) {
    const cleared = await clearFinishedJob(ctx.queue, id);
    if (!cleared.ok) return cleared;
  }
  if (isNew) {
    const c = await createClaimWithFinalizer(ctx.kube, claim);
    if (!c.ok) return err(reason("KubernetesError", describeKubeError(c.error)));
    if (c.value.created) {
      // A finished job of an earlier claim with the same name must not block this one.
      const cleared = await clearFinishedJob(ctx.queue, id);
      if (!cleared.ok) return cleared;
    }
    await ctx.hook("after-claim-created", claim.name);
  }
  const q = await ctx.queue.enqueue({
    id,
    name: "launch",
    data: { kind: "launch", claim: claim.name, ...(origin ? { origin } : {}) },
  });
  if (!q.ok) return err(reason("QueueError", `queueing ${id}: ${q.error.message}`));
  return ok({ queued: q.value.added });
}
