/**
 * The job handler: runs the multi-step operations the executor queued. Each job re-reads the
 * world before acting and is safe to run again after a crash at any step:
 *
 * - launch: the NodeClaim exists first (the executor created it), so the VM is made with the
 *   claim's identity and a restarted launch adopts it (the provider looks the claim up first);
 *   success writes Launched=True with vmid, host and providerID; a failure writes
 *   Launched=False with the provider's words and is retried with backoff by the queue.
 * - finalize: VM (by claim identity) then Node then the finalizer, so a claim never disappears
 *   while its VM lives.
 * - gc-vm / remove-node: orphans found by core/reconcile.ts.
 * - disrupt: daemon/termination.ts carries out the command through ports over the adapters.
 *
 * May import: core/, adapters/, daemon/.
 */
import { runTemplateJob } from "./template_jobs.ts";
import type { NodeClaim } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import { providerIdFor } from "../core/lifecycle_nodes.ts";
import { claimCarriesTemplate, templateHash } from "../core/drift.ts";
import { describeKubeError, type KubeError } from "../adapters/kubernetes/client.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";
import { setNodeClaimStatus } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { deleteNode } from "../adapters/kubernetes/node_writer.ts";
import { launchFailureCause, providerErrorReason } from "./ports/provider.ts";
import {
  jobDone,
  jobFailed,
  type JobHandler,
  type JobOutcome,
  launchJobId,
} from "./ports/queue.ts";
import { terminateCommand } from "./termination.ts";
import { bootstrapCreateOptions, releaseBootstrap } from "./bootstrap.ts";
import type { DaemonContext, JobData } from "./context.ts";
import type { SpanAttrs } from "../adapters/telemetry/tracing.ts";
import { recordClaimTemplateHash, releaseClaimFinalizer } from "./kube_actions.ts";
import { terminationPorts } from "./termination_ports.ts";
import { drainBeforeVmDelete } from "./finalize_drain.ts";
import { destroyClaimVms } from "./claim_vms.ts";
import { addressedTemplate } from "./launch_addresses.ts";

/** A Kubernetes API failure as the reason a job failed (retried). */
const kubeFailed = (e: KubeError): JobOutcome =>
  jobFailed(reason("KubernetesError", describeKubeError(e)));

/** A provider call that failed outside a launch (delete, list), as the reason a job failed. */
const providerFailed = (message: string): JobOutcome => jobFailed(reason("ProviderError", message));

/**
 * Reads a NodeClaim from the API server (not the cache: a job must see the latest): undefined
 * when it is gone; a KubernetesError when it cannot be read.
 */
export async function readClaim(
  ctx: DaemonContext,
  name: string,
): Promise<Result<NodeClaim | undefined, Reason>> {
  const r = await ctx.kube.requestJson(
    "GET",
    `/apis/proxscale.io/v1alpha1/nodeclaims/${encodeURIComponent(name)}`,
  );
  if (!r.ok) {
    if (r.error.kind === "Status" && r.error.code === 404) return ok(undefined);
    return err(reason("KubernetesError", describeKubeError(r.error)));
  }
  const c = nodeClaimFromKube(r.value.body);
  return c.ok
    ? ok(c.value)
    : err(reason("KubernetesError", `NodeClaim ${name} cannot be read: ${String(c.error)}`));
}

async function launch(ctx: DaemonContext, name: string): Promise<JobOutcome> {
  const read = await readClaim(ctx, name);
  if (!read.ok) return jobFailed(read.error);
  const claim = read.value;
  if (!claim || claim.deleting) return jobDone(); // deleted meanwhile: nothing to launch
  const config = ctx.config();
  const template = config.machineTemplates.find((t) => t.name === claim.machineTemplate);
  const providerCfg = config.providers.find((p) => p.name === claim.provider);
  const provider = ctx.providers.get(claim.provider);
  if (!template || !providerCfg || !provider) {
    return jobFailed(
      reason("ConfigInvalid", `NodeClaim ${name} names an unknown MachineTemplate or Provider`),
      false,
    );
  }
  const failed = async (why: Reason) => {
    ctx.report({
      time: ctx.clock.now(),
      what: "LaunchFailed",
      nodeclaim: name,
      nodepool: claim.nodePool,
      outcome: "failed",
      reason: why,
    });
    // A failed launch is something to look at: a Warning Event on the NodeClaim.
    await ctx.events?.record(
      { apiVersion: "proxscale.io/v1alpha1", kind: "NodeClaim", name },
      reason("LaunchFailed", `${why.code}: ${why.message}`),
    );
  };
  // The VM is built from today's template: its hash, not the one of the configuration the
  // claim was created under, is what drift must compare (recorded before the VM exists).
  // (Only when the claim carries today's labels and taints: otherwise its node would not match
  // the new hash, and the old one keeps it drifted.)
  const pool = config.nodePools.find((p) =>
    p.name === claim.nodePool && claimCarriesTemplate(claim, p, template)
  );
  const builtFrom = pool
    ? templateHash({ ...pool, machineTemplate: template.name }, template)
    : undefined;
  if (builtFrom !== undefined && builtFrom !== claim.templateHash) {
    const h = await recordClaimTemplateHash(ctx.kube, name, builtFrom);
    if (!h.ok) return kubeFailed(h.error);
  }
  // Static addresses are recorded on the claim before anything is made: a crash from here on
  // resumes with the same ones, and they stay held until the claim (so its VM) is gone.
  const addressed = await addressedTemplate(ctx, claim, template);
  if (!addressed.ok) {
    const e = addressed.error;
    if (e.kind === "Gone") return jobDone();
    await failed(e.reason);
    if (e.kind === "Exhausted") {
      await ctx.events?.record(
        { apiVersion: "proxscale.io/v1alpha1", kind: "NodeClaim", name },
        e.reason,
      );
      // More claims of the pool would find the pool as full: the pool backs off (Event and
      // LaunchFailing condition on the NodePool) until a launch succeeds or the config changes.
      await ctx.launchGuard?.failed(claim.nodePool, "IpPoolExhausted", e.reason.message);
    }
    return jobFailed(e.reason, e.kind !== "Exhausted");
  }
  const vmTemplate = addressed.value;
  const boot = await bootstrapCreateOptions(ctx, claim, vmTemplate);
  if (!boot.ok) {
    await failed(boot.error.reason);
    if (boot.error.permanent) {
      await ctx.launchGuard?.failed(claim.nodePool, "BootstrapFailed", boot.error.reason.message);
    }
    return jobFailed(boot.error.reason, !boot.error.permanent);
  }
  const made = await provider.create(claim, vmTemplate, providerCfg, {
    ...boot.value,
    recordVmid: async (vmid, host) => {
      const w = await setNodeClaimStatus(ctx.kube, name, { vmid, host }, ctx.clock.now);
      return w.ok ? ok(undefined) : err(describeKubeError(w.error));
    },
  });
  const now = ctx.clock.now();
  if (!made.ok) {
    // The queue retries; once it gives up, the loop hands the message to the lifecycle, which
    // writes Launched=False with it and deletes the claim (provisioning plans a new one).
    const why = providerErrorReason(made.error);
    await failed(why);
    // This attempt's token and seed must not outlive it; a retry mints fresh ones. (Its
    // failures are reported where they happen; the expiry sweep deletes a token left behind.)
    await releaseBootstrap(ctx, name, claim.provider, template, "launch failed");
    // A failure retrying cannot heal backs the pool off (Event, condition, no new claims).
    const cls = launchFailureCause(made.error);
    if (cls.permanent) await ctx.launchGuard?.failed(claim.nodePool, cls.cause, made.error.message);
    // A planned host that cannot take the VM is not retried: the next pass plans again.
    const permanent = cls.permanent ||
      (made.error.kind === "NoHost" && made.error.reason.code === "PlannedHostUnavailable");
    return jobFailed(why, !permanent);
  }
  const vm = made.value;
  const why = reason("Launched", `VM ${vm.vmid} started on ${vm.host}`);
  const w = await setNodeClaimStatus(ctx.kube, name, {
    vmid: vm.vmid,
    host: vm.host,
    providerID: vm.providerID ?? providerIdFor(vm.provider, vm.vmid),
    conditions: [{
      type: "Launched",
      status: "True",
      reason: why.code,
      message: why.message,
      lastTransitionTime: now,
    }],
  }, ctx.clock.now);
  if (!w.ok) return kubeFailed(w.error);
  await ctx.launchGuard?.succeeded(claim.nodePool);
  ctx.report({
    time: now,
    what: "VmCreated",
    nodeclaim: name,
    nodepool: claim.nodePool,
    outcome: "succeeded",
    vmid: vm.vmid,
    host: vm.host,
    reason: why,
  });
  await ctx.hook("after-launch", name);
  return jobDone();
}

async function finalize(ctx: DaemonContext, name: string): Promise<JobOutcome> {
  const read = await readClaim(ctx, name);
  if (!read.ok) return jobFailed(read.error);
  const claim = read.value;
  if (!claim) return jobDone();
  // A launch still running could create the VM after we looked: wait for it to settle. (A
  // queue that cannot say whether one runs does not stop the finalizer: destroying by claim
  // identity finds a VM that launch made, and the retry of a failed delete gets it later.)
  const running = await ctx.queue.get(launchJobId(name));
  if (running.ok && running.value?.state === "active") {
    return jobFailed(
      reason("Finalizing", `launch of ${name} still running; finalize waits for it`),
    );
  }
  // Pods still on the claim's node leave first, by evictions that honour their PDBs.
  const drained = await drainBeforeVmDelete(ctx, claim);
  if (drained) return drained;
  let providerID = claim.providerID;
  if (ctx.providers.has(claim.provider)) {
    const d = await destroyClaimVms(ctx, name, claim, reason("Finalizing", `${name} was deleted`));
    if (!d.ok) return providerFailed(d.error);
    const first = d.value.machines[0];
    if (first) providerID ??= first.providerID ?? providerIdFor(first.provider, first.vmid);
  }
  const nodes = ctx.informers.nodes.list().filter((n) =>
    (providerID !== undefined && n.providerID === providerID) || n.name === claim.nodeName
  );
  for (const n of nodes) {
    const d = await deleteNode(ctx.kube, n.name);
    ctx.report({
      time: ctx.clock.now(),
      what: d.ok ? "NodeDeleted" : "NodeDeleteFailed",
      nodeclaim: name,
      nodepool: claim.nodePool,
      node: n.name,
      outcome: d.ok ? "succeeded" : "failed",
      reason: d.ok
        ? reason("Finalizing", `NodeClaim ${name} ended`)
        : reason("KubernetesError", describeKubeError(d.error)),
    });
    if (!d.ok) return kubeFailed(d.error);
  }
  const template = ctx.config().machineTemplates.find((t) => t.name === claim.machineTemplate);
  const released = await releaseBootstrap(
    ctx,
    name,
    claim.provider,
    template,
    "NodeClaim ended",
    false,
  );
  if (!released.ok) return jobFailed(released.error);
  const f = await releaseClaimFinalizer(ctx.kube, name);
  if (!f.ok) return kubeFailed(f.error);
  return jobDone();
}

/** What a job is about, as span attributes. */
function jobSubject(data: JobData): SpanAttrs {
  switch (data.kind) {
    case "gc-vm":
      return { nodeclaim: data.vm.claim, vmid: data.vm.vmid, host: data.vm.host };
    case "remove-node":
      return { node: data.node };
    case "disrupt":
      return {
        nodeclaim: data.command.candidates.map((c) => c.nodeClaim).join(","),
        node: data.command.candidates.map((c) => c.node).join(","),
      };
    default:
      return "claim" in data ? { nodeclaim: data.claim } : {};
  }
}

/**
 * The handler the daemon's queue worker runs: each job in a `job <name>` span, the child of
 * the action span that queued it (its ref travels in `data.origin`), with that action's reason.
 */
export function jobHandler(ctx: DaemonContext): JobHandler<JobData> {
  const run = runJob(ctx);
  const tracing = ctx.tracing;
  if (!tracing) return run;
  return (job) =>
    tracing.job(
      job.name,
      {
        ...jobSubject(job.data),
        job: job.id,
        attempt: job.attempt,
        reason: job.data.origin?.reason,
        nodepool: job.data.origin?.nodepool,
      },
      async (span) => {
        const outcome = await run(job);
        // The span fails with the failure's own code (as the error's kind) and message.
        if (!outcome.ok) {
          const why = outcome.error.reason;
          span.fail({ kind: why.code, message: why.message });
        }
        // Wrapped, so the span helper does not fail the span again with the bare outcome.
        return { outcome };
      },
      job.data.origin?.span,
    ).then((r) => r.outcome);
}

function runJob(ctx: DaemonContext): JobHandler<JobData> {
  return async (job) => {
    const data = job.data;
    switch (data.kind) {
      case "launch":
        return await launch(ctx, data.claim);
      case "finalize":
        return await finalize(ctx, data.claim);
      case "gc-vm": {
        const p = ctx.providers.get(data.vm.provider);
        if (!p) {
          return jobFailed(reason("ConfigInvalid", `unknown provider ${data.vm.provider}`), false);
        }
        const d = await p.delete(data.vm);
        const why = data.origin?.reason ??
          reason("OrphanVM", `VM ${data.vm.vmid} has no NodeClaim`);
        ctx.report({
          time: ctx.clock.now(),
          what: d.ok ? "VmDeleted" : "VmDeleteFailed",
          nodeclaim: data.vm.claim,
          vmid: data.vm.vmid,
          host: data.vm.host,
          outcome: d.ok ? "succeeded" : "failed",
          // A failure is the provider's, with the decision it was carrying out in its words.
          reason: d.ok ? why : reason("ProviderError", `${why.message}: ${d.error.message}`),
        });
        return d.ok ? jobDone() : providerFailed(d.error.message);
      }
      case "remove-node": {
        const d = await deleteNode(ctx.kube, data.node);
        const why = data.origin?.reason ?? reason("OrphanNode", `node ${data.node} has no VM`);
        ctx.report({
          time: ctx.clock.now(),
          what: d.ok ? "NodeDeleted" : "NodeDeleteFailed",
          node: data.node,
          outcome: d.ok ? "succeeded" : "failed",
          reason: d.ok
            ? why
            : reason("KubernetesError", `${why.message}: ${describeKubeError(d.error)}`),
        });
        return d.ok ? jobDone() : kubeFailed(d.error);
      }
      case "release-bootstrap": {
        const read = await readClaim(ctx, data.claim);
        if (!read.ok) return jobFailed(read.error);
        const claim = read.value;
        if (!claim) return jobDone(); // finalize released it with the claim
        const template = ctx.config().machineTemplates.find((t) =>
          t.name === claim.machineTemplate
        );
        const r = await releaseBootstrap(ctx, data.claim, claim.provider, template, data.why);
        return r.ok ? jobDone() : jobFailed(r.error);
      }
      case "build-template":
      case "remove-template":
        return await runTemplateJob(ctx, data);
      case "disrupt": {
        // The decision may come from a cache that has not yet seen an earlier run of the same
        // command finish: a candidate whose claim is gone or deleting is not disrupted again.
        for (const c of data.command.candidates) {
          const read = await readClaim(ctx, c.nodeClaim);
          if (!read.ok) return jobFailed(read.error);
          if (!read.value || read.value.deleting) return jobDone();
        }
        const outcomes = await terminateCommand(
          data.command,
          ctx.config().nodePools,
          terminationPorts(ctx, data.command.reason),
          ctx.clock,
          {
            pollInterval: ctx.pollInterval,
            retryDelay: Math.min(500, ctx.pollInterval),
            onStep: (step, why) =>
              ctx.report({
                time: ctx.clock.now(),
                what: `Disrupt:${step}`,
                nodeclaim: data.command.candidates.map((c) => c.nodeClaim).join(","),
                reason: why,
              }),
          },
        );
        const failed = outcomes.find((o) => o.kind === "Failed");
        return failed ? jobFailed(failed.reason) : jobDone();
      }
    }
  };
}
