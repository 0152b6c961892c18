/**
 * Destroying a VM safely: only when the description names the claim (and, for `delete`, the
 * managed tag is present or the VMID is in the managed range), never while a create/clone lock is held; stop and wait for the stop
 * task, then DELETE with purge and destroy-unreferenced-disks and wait. A VM already gone is
 * success; the freed VMID is quarantined.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { PveError } from "./errors.ts";
import type { ProviderError } from "../../daemon/ports/provider.ts";
import { type Ctx, persist, pveFail, STEP_RETRY_KINDS } from "./provider_context.ts";
import { findClaimVm } from "./provider_view.ts";
import { claimFromDescription, hasTag } from "./vm_config.ts";

/**
 * Stops and destroys VM `vmid` if (and only if) it is the claim's: description identity, and
 * for `requireTag` the exact managed tag. Gone already counts as done.
 */
/** Rounds of read-stop-destroy before giving up (each re-reads the VM first). */
const ROUNDS = 8;

/**
 * Stops and destroys VM `vmid` if (and only if) it carries the claim's identity line and, with
 * `requireTag`, the exact managed tag. Never while a create/clone lock is held.
 */
export async function destroy(
  ctx: Ctx,
  node: string,
  vmid: number,
  claimName: string,
  requireTag: boolean,
): Promise<Result<void, ProviderError>> {
  let host = node;
  let relocated = false;
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1) await ctx.sleep(ctx.backoff(round - 1));
    const cfg = await persist(ctx, () => ctx.client.vmConfig(host, vmid));
    if (!cfg.ok) {
      if (cfg.error.kind !== "notFound") {
        if (round < ROUNDS && retryableStep(cfg.error)) continue;
        return err(pveFail(`read config of VM ${vmid}`, cfg.error));
      }
      if (relocated) return deleted(ctx, vmid);
      // The VM may have been migrated: find its node once; gone everywhere means done.
      const res = await persist(ctx, () => ctx.client.resourcesVm());
      if (!res.ok) {
        if (round < ROUNDS && retryableStep(res.error)) continue;
        return err(pveFail("list VMs", res.error));
      }
      const entry = res.value.find((v) => v.vmid === vmid);
      if (!entry) return deleted(ctx, vmid);
      host = entry.node;
      relocated = true;
      round--;
      continue;
    }
    const c = cfg.value;
    // A VM being created or cloned has no identity yet and must not get a competing destroy
    // (it would fail on the lock anyway and orphan the VM): report it, whoever it belongs to.
    if (c.lock === "clone" || c.lock === "create") {
      return err({
        kind: "InProgress",
        vmid,
        host,
        message: `VM ${vmid} is still being created (lock ${c.lock}); not destroying it`,
      });
    }
    // Ours: the description names this claim, and the VM carries the managed tag or sits in
    // the managed VMID range (a clone killed before its tags were set has only the first).
    const range = ctx.provider.vmidRange;
    const managed = hasTag(c.tags, ctx.provider.managedTag) ||
      (vmid >= range.lower && vmid <= range.upper);
    if (claimFromDescription(c.description) !== claimName || (requireTag && !managed)) {
      return err({
        kind: "NotOwned",
        vmid,
        host,
        message: `VM ${vmid} on ${host} is not NodeClaim ${claimName}'s (tags "${
          c.tags ?? ""
        }"); refusing to delete it`,
      });
    }
    if (c.lock && c.lock !== "destroyed") {
      if (round < ROUNDS) continue;
      return err({
        kind: "InProgress",
        vmid,
        host,
        message: `VM ${vmid} is locked (${c.lock}); not destroying it`,
      });
    }
    const st = await persist(ctx, () => ctx.client.vmStatus(host, vmid));
    if (!st.ok) {
      if (st.error.kind === "notFound") return deleted(ctx, vmid);
      if (round < ROUNDS && retryableStep(st.error)) continue;
      return err(pveFail(`status of VM ${vmid}`, st.error));
    }
    if (st.value.status !== "stopped") {
      const stop = await ctx.client.runTask(
        ctx.client.power(host, vmid, "stop"),
        `stop VM ${vmid}`,
        ctx.t.powerDeadline,
      );
      if (!stop.ok) {
        if (stop.error.kind === "notFound") return deleted(ctx, vmid);
        if (!retryableStep(stop.error)) return err(pveFail(`stop VM ${vmid}`, stop.error));
        continue;
      }
    }
    const del = await ctx.client.runTask(
      ctx.client.deleteVm(host, vmid),
      `destroy VM ${vmid}`,
      ctx.t.powerDeadline,
    );
    if (del.ok || del.error.kind === "notFound") return deleted(ctx, vmid);
    if (!retryableStep(del.error) && del.error.kind !== "vmRunning") {
      return err(pveFail(`destroy VM ${vmid}`, del.error));
    }
  }
  return err({
    kind: "AttemptsExhausted",
    attempts: ROUNDS,
    last: "destroy",
    message: `VM ${vmid} could not be destroyed`,
  });
}

/** A stop or destroy that failed in a way worth re-reading state and trying again. */
function retryableStep(e: PveError): boolean {
  return STEP_RETRY_KINDS.has(e.kind) || e.kind === "taskFailed" || e.ambiguous === true;
}

/** Gone: quarantine the freed id (PVE hands it out again at once). */
function deleted(
  ctx: Ctx,
  vmid: number,
): Result<void, ProviderError> {
  ctx.ledger.quarantine(vmid, ctx.t.quarantine);
  return ok(undefined);
}

/**
 * Removes whatever VM carries the claim's identity (description line; the tag may not be set
 * yet). The last guard of a failed launch, so a failure never leaves a VM behind.
 */
export async function sweepClaim(
  ctx: Ctx,
  claimName: string,
): Promise<Result<number | undefined, ProviderError>> {
  const found = await findClaimVm(ctx, claimName);
  if (!found.ok) return found;
  if (!found.value) return ok(undefined);
  const d = await destroy(ctx, found.value.node, found.value.vmid, claimName, false);
  return d.ok ? ok(found.value.vmid) : d;
}
