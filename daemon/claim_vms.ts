/**
 * Destroying every VM of one NodeClaim, by claim identity, for the two paths that end a claim:
 * its finalizer (workers.ts) and a disruption's termination (termination_ports.ts). "Gone" is
 * said only when PVE could show every host the VM may be on: a VM on an offline host is
 * unknown, and releasing the claim then would leave a VM no claim counts (it returns with the
 * host, over the pool's limits, until the orphan sweep finds it).
 *
 * May import: core/, adapters/, daemon/.
 */
import type { NodeClaim } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { Machine } from "./ports/provider.ts";
import type { DaemonContext } from "./context.ts";

/** Whether a VM was destroyed ("gone": there was none), and which. */
export type ClaimVmsDestroyed = { outcome: "deleted" | "gone"; machines: Machine[] };

/**
 * Destroys the VMs of claim `name` on `claim.provider` (every Provider when the claim is not
 * known any more). Each destroy is reported with `why`; the hook runs after each.
 */
export async function destroyClaimVms(
  ctx: DaemonContext,
  name: string,
  claim: NodeClaim | undefined,
  why: Reason,
): Promise<Result<ClaimVmsDestroyed, string>> {
  const providers = claim
    ? [ctx.providers.get(claim.provider)].filter((p) => p !== undefined)
    : [...ctx.providers.values()];
  const destroyed: Machine[] = [];
  for (const p of providers) {
    const listed = await p.listing();
    if (!listed.ok) return err(listed.error.message);
    const mine = listed.value.machines.filter((m) => m.claim === name);
    // Its recorded host, or any host when none is recorded (a launch that died early).
    const unknown = listed.value.unknownHosts.filter((h) =>
      claim?.host === undefined || claim.host === h
    );
    if (mine.length === 0 && unknown.length > 0) {
      return err(
        `the VM of NodeClaim ${name} may be on ${unknown.join(", ")}, which cannot be reached: ` +
          "it is kept until it can be destroyed",
      );
    }
    for (const m of mine) {
      const d = await p.delete(m);
      const base = {
        time: ctx.clock.now(),
        nodeclaim: name,
        ...(claim ? { nodepool: claim.nodePool } : {}),
        vmid: m.vmid,
        host: m.host,
      };
      if (!d.ok) {
        ctx.report({
          ...base,
          what: "VmDeleteFailed",
          outcome: "failed",
          reason: reason("ProviderError", `${why.message}: ${d.error.message}`),
        });
        return err(d.error.message);
      }
      destroyed.push(m);
      ctx.report({ ...base, what: "VmDeleted", outcome: "succeeded", reason: why });
      await ctx.hook("after-vm-deleted", name);
    }
  }
  return ok({ outcome: destroyed.length > 0 ? "deleted" : "gone", machines: destroyed });
}
