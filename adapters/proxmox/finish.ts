/**
 * Finishing a launched (or adopted) VM: converge its config on what the claim and template want
 * (read, diff, PUT with the digest, resize), start it, and hand back the Machine. Every step can
 * be repeated after a crash without harm; a VM that cannot be finished is removed again.
 */
import type { NodeClaim } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { destroy } from "./destroy.ts";
import type { Machine, ProviderError } from "../../daemon/ports/provider.ts";
import { type Ctx, persist, pveFail, STEP_RETRY_KINDS } from "./provider_context.ts";
import { deviceConflict } from "./pci_devices.ts";
import { machine } from "./provider_view.ts";
import type { VmConfig } from "./schemas.ts";
import { configChanges, type DesiredConfig } from "./vm_config.ts";

/** Converges config, starts, and returns the machine; on failure removes the VM again. */
export async function finish(
  ctx: Ctx,
  node: string,
  vmid: number,
  desired: DesiredConfig,
  claim: NodeClaim,
): Promise<Result<Machine, ProviderError>> {
  const done = await converge(ctx, node, vmid, desired);
  const started = done.ok ? await start(ctx, node, vmid) : done;
  // The converged config is what the VM now is: no further read that could fail on a healthy VM.
  if (!started.ok) {
    if (started.error.kind === "InProgress") return started;
    // A half-made VM would hold capacity and confuse the next attempt: remove it.
    const cleaned = await destroy(ctx, node, vmid, claim.name, false);
    const note = cleaned.ok
      ? "the VM was removed"
      : `removing it failed too: ${cleaned.error.message}`;
    return err({ ...started.error, message: `${started.error.message} (${note})` });
  }
  const m = done.ok ? machine(ctx, node, vmid, done.value, "running") : undefined;
  if (!m) {
    return err({ kind: "NotOwned", vmid, host: node, message: `VM ${vmid} lost its identity` });
  }
  return ok(m);
}

/** Reads, diffs and writes config (guarded by its digest) until nothing is left to change. */
export async function converge(
  ctx: Ctx,
  node: string,
  vmid: number,
  desired: DesiredConfig,
): Promise<Result<VmConfig, ProviderError>> {
  for (let round = 1; round <= 6; round++) {
    const cfg = await unlocked(ctx, node, vmid);
    if (!cfg.ok) return cfg;
    const changes = configChanges(desired, cfg.value);
    const keys = Object.keys(changes.set);
    if (keys.length === 0 && changes.resize.length === 0) return ok(cfg.value);
    if (keys.length) {
      const r = await ctx.client.updateConfig(node, vmid, {
        ...changes.set,
        digest: cfg.value.digest,
      });
      if (!r.ok) {
        if (STEP_RETRY_KINDS.has(r.error.kind) || r.error.ambiguous) {
          await ctx.sleep(ctx.backoff(round));
          continue; // re-read and diff again: a change that landed shows up there
        }
        return err(pveFail(`configure VM ${vmid}`, r.error));
      }
    }
    for (const rz of changes.resize) {
      const r = await ctx.client.runTask(
        ctx.client.resize(node, vmid, rz.disk, rz.size),
        `resize ${rz.disk} of VM ${vmid}`,
        ctx.t.powerDeadline,
      );
      if (!r.ok && !STEP_RETRY_KINDS.has(r.error.kind) && r.error.kind !== "taskFailed") {
        return err(pveFail(`resize ${rz.disk} of VM ${vmid}`, r.error));
      }
    }
  }
  return err({
    kind: "AttemptsExhausted",
    attempts: 6,
    last: "config kept changing",
    message: `VM ${vmid}: configuration did not converge after 6 rounds`,
  });
}

/** GET config, waiting while a create/clone task still holds the `lock` property. */
export async function unlocked(
  ctx: Ctx,
  node: string,
  vmid: number,
): Promise<Result<VmConfig, ProviderError>> {
  const end = ctx.now() + ctx.t.taskDeadline;
  for (;;) {
    const cfg = await persist(ctx, () => ctx.client.vmConfig(node, vmid));
    if (!cfg.ok) return err(pveFail(`read config of VM ${vmid}`, cfg.error));
    if (!cfg.value.lock) return ok(cfg.value);
    if (ctx.now() >= end) {
      return err({
        kind: "InProgress",
        vmid,
        host: node,
        message:
          `VM ${vmid} is locked (${cfg.value.lock}); a task still runs on it or an operator must unlock it`,
      });
    }
    await ctx.sleep(ctx.t.poll);
  }
}

/** Starts the VM unless it runs; "already running" is success. */
export async function start(
  ctx: Ctx,
  node: string,
  vmid: number,
): Promise<Result<void, ProviderError>> {
  for (let round = 1; round <= 4; round++) {
    const st = await persist(ctx, () => ctx.client.vmStatus(node, vmid));
    if (!st.ok) return err(pveFail(`status of VM ${vmid}`, st.error));
    if (st.value.status === "running") return ok(undefined);
    const r = await ctx.client.runTask(
      ctx.client.power(node, vmid, "start"),
      `start VM ${vmid}`,
      ctx.t.powerDeadline,
    );
    if (r.ok || r.error.kind === "vmRunning") return ok(undefined);
    // A passthrough device another VM took since placement: starting again cannot help.
    if (r.error.kind === "taskFailed" && deviceConflict(r.error.pveMessage)) {
      const why = `PCI passthrough device not free on ${node}: ${r.error.pveMessage}`;
      return err(pveFail(`start VM ${vmid}`, { ...r.error, message: why }));
    }
    if (r.error.kind === "taskDeadline") {
      return err({ kind: "InProgress", vmid, host: node, message: r.error.message });
    }
    if (
      !STEP_RETRY_KINDS.has(r.error.kind) && r.error.kind !== "taskFailed" && !r.error.ambiguous
    ) {
      return err(pveFail(`start VM ${vmid}`, r.error));
    }
    await ctx.sleep(ctx.backoff(round));
  }
  return err({
    kind: "AttemptsExhausted",
    attempts: 4,
    last: "start",
    message: `VM ${vmid} did not start`,
  });
}
