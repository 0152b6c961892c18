/**
 * Template VMs built from cloud images (MachineTemplate `source.image`), kept by queue jobs:
 *
 * - every pass (while acting), for each image template, a `build-template` job per host that
 *   lacks a finished template VM of today's digest, keyed `template-<name>-<digest>-<host>` so
 *   a repeated decision, or a restarted daemon, never builds twice; the build itself resumes
 *   at the first PVE step not yet done (adapters/proxmox/template_build.ts);
 * - once no NodeClaim of the template carries a template hash other than today's (the drifted
 *   ones were replaced), a `remove-template` job per old template VM of that MachineTemplate.
 *
 * Launches wait meanwhile: an image template serves only hosts with a finished template VM
 * (core/template_locality.ts), and a new digest is part of the claims' template hash, so a
 * changed image drifts the pool's claims and disruption replaces them within its budgets.
 * Each build or removal is reported (status lines, logs, the provider-errors metric on failure)
 * and recorded as an Event on the MachineTemplate.
 *
 * May import: core/, adapters/, daemon/.
 */
import {
  imageSource,
  imageTemplateDigest,
  staleTemplates,
  templateFor,
} from "../core/image_template.ts";
import type { MachineTemplate, NodeClaim } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import { templateHashOf } from "../core/reconcile.ts";
import type { DaemonContext } from "./context.ts";
import { jobDone, jobFailed, type JobOutcome } from "./ports/queue.ts";

/** The template jobs the worker runs. */
export type TemplateJob =
  | { kind: "build-template"; template: string; host: string; digest: string }
  | { kind: "remove-template"; provider: string; template: string; vmid: number; host: string };

const subject = (name: string) => ({
  apiVersion: "proxscale.io/v1alpha1",
  kind: "MachineTemplate",
  name,
});

/** The surveys that failed, by template, so a failure is reported once until it changes. */
const lastSurveyError = new WeakMap<DaemonContext, Map<string, string>>();

async function tell(
  ctx: DaemonContext,
  what: string,
  template: string,
  why: Reason,
  extra: { host?: string; vmid?: number; failed?: boolean } = {},
): Promise<void> {
  ctx.report({
    time: ctx.clock.now(),
    what,
    ...(extra.host ? { host: extra.host } : {}),
    ...(extra.vmid !== undefined ? { vmid: extra.vmid } : {}),
    outcome: extra.failed ? "failed" : "succeeded",
    reason: why,
  });
  await ctx.events?.record(subject(template), why);
}

/** Whether some claim of `t` still carries another hash than today's (its VM may be an old clone). */
function oldClaims(
  ctx: DaemonContext,
  t: MachineTemplate,
  claims: readonly NodeClaim[],
): boolean {
  const config = ctx.config();
  return claims.some((c) =>
    c.machineTemplate === t.name && c.templateHash !== templateHashOf(config, c.nodePool)
  );
}

/** Queues the build and removal jobs the image templates need now (see the file comment). */
export async function queueTemplateJobs(
  ctx: DaemonContext,
  claims: readonly NodeClaim[],
): Promise<void> {
  const seen = lastSurveyError.get(ctx) ?? new Map<string, string>();
  lastSurveyError.set(ctx, seen);
  for (const t of ctx.config().machineTemplates) {
    if (!imageSource(t)) continue;
    const port = ctx.providers.get(t.provider)?.imageTemplates;
    if (!port) continue;
    const s = await port.survey(t);
    if (!s.ok) {
      if (seen.get(t.name) !== s.error.message) {
        seen.set(t.name, s.error.message);
        await tell(
          ctx,
          "TemplateBuildFailed",
          t.name,
          reason("TemplateBuildFailed", s.error.message),
          {
            failed: true,
          },
        );
      }
      continue;
    }
    seen.delete(t.name);
    const digest = imageTemplateDigest(t);
    for (const host of s.value.buildHosts) {
      if (templateFor(t, host, s.value.built, s.value.shared)) continue;
      await ctx.queue.enqueue({
        id: `template-${t.name}-${digest}-${host}`,
        name: "build-template",
        data: { kind: "build-template", template: t.name, host, digest },
      });
    }
    for (const old of staleTemplates(t, s.value.built, oldClaims(ctx, t, claims))) {
      await ctx.queue.enqueue({
        id: `remove-template-${t.provider}-${old.vmid}`,
        name: "remove-template",
        data: {
          kind: "remove-template",
          provider: t.provider,
          template: t.name,
          vmid: old.vmid,
          host: old.host,
        },
      });
    }
  }
}

/** Runs one template job. */
export async function runTemplateJob(ctx: DaemonContext, job: TemplateJob): Promise<JobOutcome> {
  const t = ctx.config().machineTemplates.find((x) => x.name === job.template);
  if (job.kind === "build-template") {
    // A template renamed, removed or changed since the job was queued needs another build.
    if (!t || !imageSource(t) || imageTemplateDigest(t) !== job.digest) return jobDone();
    const port = ctx.providers.get(t.provider)?.imageTemplates;
    if (!port) return jobDone();
    const r = await port.build(t, job.host);
    if (!r.ok) {
      const why = reason(
        "TemplateBuildFailed",
        `MachineTemplate ${t.name} on ${job.host}: ${r.error.message}`,
      );
      await tell(ctx, "TemplateBuildFailed", t.name, why, { host: job.host, failed: true });
      return jobFailed(why, r.error.retry);
    }
    if (r.value.steps.length > 0) {
      await tell(
        ctx,
        "TemplateBuilt",
        t.name,
        reason(
          "TemplateBuilt",
          `template VM ${r.value.vmid} of MachineTemplate ${t.name} (digest ${job.digest}) ` +
            `is ready on ${job.host} (${r.value.steps.join(", ")})`,
        ),
        { host: job.host, vmid: r.value.vmid },
      );
    }
    return jobDone();
  }
  const port = ctx.providers.get(job.provider)?.imageTemplates;
  if (!port) return jobDone();
  const r = await port.remove({ vmid: job.vmid, host: job.host, name: "", template: true });
  if (!r.ok) {
    const why = reason(
      "TemplateBuildFailed",
      `removing old template VM ${job.vmid}: ${r.error.message}`,
    );
    await tell(ctx, "TemplateBuildFailed", job.template, why, {
      host: job.host,
      vmid: job.vmid,
      failed: true,
    });
    return jobFailed(why, r.error.retry);
  }
  await tell(
    ctx,
    "TemplateRemoved",
    job.template,
    reason(
      "TemplateRemoved",
      `old template VM ${job.vmid} of MachineTemplate ${job.template} on ${job.host} ` +
        `removed: no NodeClaim uses it`,
    ),
    { host: job.host, vmid: job.vmid },
  );
  return jobDone();
}
