import assert from "node:assert/strict";
import {
  type BuiltTemplate,
  imageTemplateDigest,
  imageTemplateName,
} from "../core/image_template.ts";
import type { Config, MachineTemplate } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { templateHashOf } from "../core/reconcile.ts";
import { testConfig, testTemplate } from "../core/testing/arbitraries.ts";
import type { JobData } from "./context.ts";
import type {
  ImageTemplatePort,
  TemplateJobError,
  TemplateSurvey,
} from "./ports/image_templates.ts";
import { queueTemplateJobs, runTemplateJob } from "./template_jobs.ts";
import { unitContext } from "./testing/context_fake.ts";
import { fakeClaim, FakeProvider } from "./testing/provider_fake.ts";
import { FakeQueue } from "./testing/queue_fake.ts";

const IMAGE: MachineTemplate["source"] = {
  kind: "image",
  url: "http://127.0.0.1:9/noble.img",
  checksum: { algorithm: "sha256", value: "e".repeat(64) },
  storage: "local-lvm",
  importStorage: "local",
  full: true,
};

function config(): Config {
  return testConfig({ machineTemplates: [testTemplate({ source: IMAGE })] });
}

/** A port whose survey answers `built` on hosts h1..h3 and whose builds are recorded. */
class FakeImageTemplates implements ImageTemplatePort {
  built: BuiltTemplate[] = [];
  builds: string[] = [];
  removed: number[] = [];
  buildError?: TemplateJobError;

  survey(): Promise<Result<TemplateSurvey, TemplateJobError>> {
    return Promise.resolve(
      ok({ built: this.built, buildHosts: ["h1", "h2", "h3"], shared: false }),
    );
  }

  build(t: MachineTemplate, host: string) {
    this.builds.push(`${t.name}@${host}`);
    return Promise.resolve(
      this.buildError ? err(this.buildError) : ok({ vmid: 8000, steps: ["download", "create"] }),
    );
  }

  remove(t: BuiltTemplate): Promise<Result<void, TemplateJobError>> {
    this.removed.push(t.vmid);
    return Promise.resolve(ok(undefined));
  }
}

function setup() {
  const port = new FakeImageTemplates();
  const provider = Object.assign(new FakeProvider({ name: "pve" }), { imageTemplates: port });
  const queue = new FakeQueue<JobData>();
  const u = unitContext({ pve: provider }, { config: config(), queue });
  return { port, queue, ...u };
}

Deno.test("a build job is queued once for each host without a finished template of today's digest", async () => {
  const { port, queue, ctx } = setup();
  const t = ctx.config().machineTemplates[0]!;
  port.built = [{ vmid: 8000, host: "h2", name: imageTemplateName(t), template: true }];
  await queueTemplateJobs(ctx, []);
  await queueTemplateJobs(ctx, []);
  const d = imageTemplateDigest(t);
  assert.deepEqual([...queue.jobs.keys()], [`template-tpl-${d}-h1`, `template-tpl-${d}-h3`]);
});

Deno.test("an old template is removed only once no claim carries an older template hash", async () => {
  const { port, queue, ctx } = setup();
  const t = ctx.config().machineTemplates[0]!;
  const old = `pxs-tpl-tpl-${"0".repeat(16)}`;
  port.built = ["h1", "h2", "h3"].map((host, i) => ({
    vmid: 8000 + i,
    host,
    name: imageTemplateName(t),
    template: true,
  }));
  port.built.push({ vmid: 8010, host: "h1", name: old, template: true });
  const today = templateHashOf(ctx.config(), "general")!;
  await queueTemplateJobs(ctx, [
    fakeClaim("a", { templateHash: today }),
    fakeClaim("b", { templateHash: "v1-00000000" }),
  ]);
  assert.equal(queue.jobs.size, 0, "claim b may still run a clone of the old template");
  await queueTemplateJobs(ctx, [fakeClaim("a", { templateHash: today })]);
  assert.deepEqual([...queue.jobs.keys()], ["remove-template-pve-8010"]);
  const r = await runTemplateJob(ctx, queue.jobs.get("remove-template-pve-8010")!.data as never);
  assert.ok(r.ok);
  assert.deepEqual(port.removed, [8010]);
});

Deno.test("a build job of a digest that changed since it was queued does nothing", async () => {
  const { port, ctx } = setup();
  const r = await runTemplateJob(ctx, {
    kind: "build-template",
    template: "tpl",
    host: "h1",
    digest: "0123456789abcdef",
  });
  assert.ok(r.ok);
  assert.deepEqual(port.builds, []);
});

Deno.test("a failed build is reported with its message and fails the job without a retry when none helps", async () => {
  const { port, ctx, reports } = setup();
  port.buildError = {
    kind: "ChecksumMismatch",
    message: "checksum mismatch: got 'a' != expect 'b'",
    retry: false,
  };
  const t = ctx.config().machineTemplates[0]!;
  const r = await runTemplateJob(ctx, {
    kind: "build-template",
    template: "tpl",
    host: "h1",
    digest: imageTemplateDigest(t),
  });
  assert.ok(!r.ok);
  assert.equal(r.error.retry, false);
  assert.equal(r.error.reason.code, "TemplateBuildFailed");
  assert.deepEqual(reports.map((x) => [x.what, x.outcome, x.host]), [
    ["TemplateBuildFailed", "failed", "h1"],
  ]);
  assert.match(reports[0]!.reason.message, /checksum mismatch: got 'a' != expect 'b'/);
});
