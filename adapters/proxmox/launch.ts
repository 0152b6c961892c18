/**
 * Launching a VM: choose a VMID (core/vmid.ts) against PVE's view plus this process's
 * reservations, check it with `nextid?vmid=`, send the create or clone exactly once, await the
 * task, and confirm that the VM under the VMID carries the claim. "already exists" anywhere is a
 * collision with another actor and leads to another id; a rolled-back task leads to another
 * attempt; an unclear answer is resolved by looking at the VMID. Attempts are bounded.
 */
import type { MachineTemplate, NodeClaim } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { chooseVmid, vmidExhaustedReason, vmidStart } from "../../core/vmid.ts";
import type { PveError } from "./errors.ts";
import type { CreateOptions, ProviderError } from "../../daemon/ports/provider.ts";
import { type Ctx, type InFlight, persist, pveFail } from "./provider_context.ts";
import type { ResourceVm } from "./schemas.ts";
import { imageTemplateVm } from "./template_build.ts";
import { claimFromDescription, createParams, type DesiredConfig } from "./vm_config.ts";

/** How one launch at one VMID ended. */
export type LaunchOutcome =
  | { kind: "ok"; node: string }
  | { kind: "collision"; why: string }
  /** Not created. `reuseVmid`: a request of ours may still land there, so try the same id. */
  | { kind: "retry"; why: string; reuseVmid?: boolean }
  | { kind: "fail"; error: ProviderError };

/** Chooses VMIDs and launches until one launch is ours, or the attempts or the range run out. */
export async function launchWithRetries(
  ctx: Ctx,
  host: string,
  claim: NodeClaim,
  template: MachineTemplate,
  desired: DesiredConfig,
  flight: InFlight,
  opts: CreateOptions,
): Promise<Result<{ node: string; vmid: number }, ProviderError>> {
  const range = ctx.provider.vmidRange;
  const avoid = new Set<number>();
  // An id where a request of ours may have landed unseen: re-sending there is safe, because a
  // VMID exists once cluster-wide, so the id itself is the idempotency key.
  let reuse: number | undefined;
  let last = "";
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    if (attempt > 1) await ctx.sleep(ctx.backoff(attempt - 1));
    const res = await persist(ctx, () => ctx.client.resourcesVm());
    if (!res.ok) return err(pveFail("list VMIDs", res.error));
    if (reuse !== undefined) {
      const vmid = reuse;
      reuse = undefined;
      const out = await launch(ctx, host, vmid, claim, template, desired, res.value, opts, true);
      if (out.kind === "ok") return ok({ node: out.node, vmid });
      if (out.kind === "fail") return err(out.error);
      last = out.why;
      if (out.kind === "retry" && out.reuseVmid) reuse = vmid;
      else {
        ctx.ledger.release(vmid);
        avoid.add(vmid);
      }
      continue;
    }
    const choice = chooseVmid({
      range,
      taken: [...res.value.map((v) => v.vmid), ...avoid],
      reserved: ctx.ledger.reserved(),
      quarantined: ctx.ledger.quarantined(),
      start: vmidStart(range, ctx.rng()),
    });
    if (!choice.ok) {
      return err({ ...choice.error, message: vmidExhaustedReason(choice.error).message });
    }
    const vmid = choice.value.vmid;
    ctx.ledger.reserve(vmid, ctx.t.vmidReservation);
    flight.vmid = vmid;
    const free = await persist(ctx, () => ctx.client.nextid(vmid));
    if (!free.ok) {
      ctx.ledger.release(vmid);
      if (free.error.kind === "alreadyExists") {
        avoid.add(vmid);
        last = `VMID ${vmid} taken`;
        attempt--; // a cheap check, not a launch: bounded by the range via `avoid`
        if (avoid.size > ctx.maxAttempts * 4) {
          return err(exhaustedAttempts(attempt, last));
        }
        continue;
      }
      return err(pveFail(`check VMID ${vmid}`, free.error));
    }
    if (opts.recordVmid) {
      // Written down before the clone is sent: a crash from here on leaves a claim that knows
      // where its VM may appear.
      const recorded = await opts.recordVmid(vmid, host);
      if (!recorded.ok) {
        ctx.ledger.release(vmid);
        return err({
          kind: "VmidNotRecorded",
          vmid,
          message: `VMID ${vmid} could not be recorded on NodeClaim ${claim.name}, ` +
            `so nothing was cloned: ${recorded.error}`,
        });
      }
    }
    const out = await launch(ctx, host, vmid, claim, template, desired, res.value, opts, false);
    if (out.kind === "ok") return ok({ node: out.node, vmid });
    if (out.kind === "fail") return err(out.error);
    last = out.why;
    if (out.kind === "retry" && out.reuseVmid) {
      reuse = vmid; // keep the reservation: the next attempt goes to the same id
      continue;
    }
    ctx.ledger.release(vmid);
    avoid.add(vmid);
  }
  if (reuse !== undefined) {
    // A request of ours may still create this VM: the claim must come back here, not elsewhere.
    return err({
      kind: "InProgress",
      vmid: reuse,
      host,
      message: `no answer for the launch at VMID ${reuse} after ${ctx.maxAttempts} attempts; ` +
        `it may still appear and is resumed on the next try (last: ${last})`,
    });
  }
  return err(exhaustedAttempts(ctx.maxAttempts, last));
}

function exhaustedAttempts(attempts: number, last: string): ProviderError {
  return {
    kind: "AttemptsExhausted",
    attempts,
    last,
    message: `gave up after ${attempts} launch attempts; last: ${last}`,
  };
}

/**
 * One create or clone at `vmid`, awaited and verified; the POST is sent once. `suspect`: an
 * earlier request of ours at this id may have landed, so "already exists" must be looked at
 * rather than taken as someone else's VM.
 */
export async function launch(
  ctx: Ctx,
  host: string,
  vmid: number,
  claim: NodeClaim,
  template: MachineTemplate,
  desired: DesiredConfig,
  vms: ResourceVm[],
  opts: CreateOptions,
  suspect: boolean,
): Promise<LaunchOutcome> {
  const source = template.source;
  const pool = template.resourcePool ?? ctx.provider.resourcePool;
  let step: string;
  let start: () => Promise<Result<string, PveError>>;
  let storageKey = "";
  if (source.kind === "scratch") {
    step = `create VM ${vmid} on ${host}`;
    const params = createParams(vmid, desired, source.options, pool);
    start = () => ctx.client.createVm(host, params);
  } else {
    // An image template: the finished template VM of today's digest, on this host if any.
    const built = source.kind === "image" ? imageTemplateVm(template, host, vms) : undefined;
    const templateVmid = source.kind === "image"
      ? built?.vmid
      : source.perHost?.[host] ?? source.templateVmid;
    const srcNode = source.kind === "image"
      ? built?.node
      : source.perHost?.[host] !== undefined
      ? host
      : vms.find((v) => v.vmid === templateVmid)?.node;
    if (templateVmid === undefined || srcNode === undefined) {
      return {
        kind: "fail",
        error: {
          kind: "InvalidTemplate",
          message: `template VM ${templateVmid ?? "(none)"} for host ${host} does not exist`,
        },
      };
    }
    step = `clone template ${templateVmid} to VM ${vmid} on ${host}`;
    storageKey = source.storage ?? `${srcNode}:template-${templateVmid}`;
    start = () =>
      ctx.client.cloneVm(srcNode, templateVmid, {
        newid: vmid,
        name: desired.scalars.name,
        description: desired.scalars.description,
        full: source.full,
        storage: source.full ? source.storage : undefined,
        target: srcNode !== host ? host : undefined,
        pool,
      });
  }
  const gate = storageKey ? ctx.cloneGate(storageKey) : undefined;
  const release = gate ? await gate.acquire() : () => {};
  try {
    const started = await start();
    if (!started.ok) {
      const e = started.error;
      if (e.kind === "alreadyExists" && !suspect) {
        return { kind: "collision", why: `${step}: ${e.pveMessage}` };
      }
      if (e.ambiguous || e.kind === "alreadyExists") {
        return await resolve(ctx, vmid, claim, step, e, true);
      }
      if (
        ["lockTimeout", "noQuorum", "transient", "circuitOpen", "connection"].includes(e.kind)
      ) {
        return { kind: "retry", why: e.message }; // PVE said no, or nothing was sent: not created
      }
      return { kind: "fail", error: pveFail(step, e) };
    }
    const done = await ctx.client.waitTask(started.value, {
      endpoint: step,
      deadlineMs: opts.taskDeadlineMs ?? ctx.t.taskDeadline,
    });
    if (!done.ok) {
      if (done.error.kind === "taskDeadline") {
        return {
          kind: "fail",
          error: {
            kind: "InProgress",
            vmid,
            host,
            upid: started.value,
            message: `${step}: task ${started.value} still running at the deadline; ` +
              `it is watched again on the next attempt, not destroyed`,
          },
        };
      }
      // A task that ended with an exitstatus failed and was rolled back, unless a request of
      // ours that landed unseen holds the id; a task whose status is unknown may have succeeded.
      const ended = done.error.upid !== undefined && done.error.pveMessage !== undefined;
      const mine = !ended ||
        (suspect && ["alreadyExists", "lockTimeout"].includes(done.error.kind));
      return await resolve(ctx, vmid, claim, step, done.error, mine);
    }
  } finally {
    release();
  }
  return await verify(ctx, host, vmid, claim, step);
}

/**
 * After an unclear or failed launch: is the VMID ours, someone else's, or free? `mine`: a
 * request of ours may have created it, so an absent id is watched for a grace period and a
 * locked one is waited for; otherwise a locked id is someone else's launch.
 */
export async function resolve(
  ctx: Ctx,
  vmid: number,
  claim: NodeClaim,
  step: string,
  cause: PveError,
  mine: boolean,
): Promise<LaunchOutcome> {
  const graceEnd = ctx.now() + ctx.t.ambiguousGrace;
  const lockEnd = ctx.now() + ctx.t.taskDeadline;
  for (;;) {
    const res = await ctx.client.resourcesVm();
    const entry = res.ok ? res.value.find((v) => v.vmid === vmid) : undefined;
    if (res.ok && !entry) {
      if (!mine) return { kind: "retry", why: `${step}: ${cause.message}` };
      if (ctx.now() >= graceEnd) {
        return { kind: "retry", why: `${step}: ${cause.message}`, reuseVmid: true };
      }
    } else if (entry && entry.lock && !mine) {
      return { kind: "collision", why: `${step}: VMID ${vmid} is being made by someone else` };
    } else if (entry && !entry.lock) {
      return await verify(ctx, entry.node, vmid, claim, step);
    } else if (entry && ctx.now() >= lockEnd) {
      return {
        kind: "fail",
        error: {
          kind: "InProgress",
          vmid,
          host: entry.node,
          message: `${step}: VM ${vmid} still locked (${entry.lock}) after ${cause.message}`,
        },
      };
    } else if (!res.ok && ctx.now() >= lockEnd) {
      return { kind: "fail", error: pveFail(step, res.error) };
    }
    await ctx.sleep(ctx.t.poll);
  }
}

/** Reads the VM under `vmid` and checks it carries this claim; never touches a foreign VM. */
export async function verify(
  ctx: Ctx,
  node: string,
  vmid: number,
  claim: NodeClaim,
  step: string,
): Promise<LaunchOutcome> {
  const cfg = await persist(ctx, () => ctx.client.vmConfig(node, vmid));
  if (!cfg.ok) {
    if (cfg.error.kind === "notFound") return { kind: "retry", why: `${step}: VM vanished` };
    return { kind: "fail", error: pveFail(`verify VM ${vmid}`, cfg.error) };
  }
  if (claimFromDescription(cfg.value.description) !== claim.name) {
    return { kind: "collision", why: `${step}: VMID ${vmid} holds another VM` };
  }
  return { kind: "ok", node };
}
