/**
 * Templates built from a cloud image, end to end: the real daemon on the fake cluster (three
 * hosts, the fake PVE really fetching the image from a server on 127.0.0.1) builds one template
 * VM per host from the MachineTemplate's `source.image`, nodes are cloned from them, and a
 * changed image builds new templates beside the old ones, drifts the pool's claims so
 * disruption replaces the nodes one at a time (budget `nodes: 1`), and removes the old templates
 * once no claim uses them. A daemon killed right after asking PVE for a download resumes without
 * a second download; a wrong checksum is refused with PVE's message, reported and recorded as
 * an Event on the MachineTemplate, and not retried.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const IMAGES: Record<string, Uint8Array<ArrayBuffer>> = {
  "/v1.img": new TextEncoder().encode("cloud image, first release\n".repeat(100)),
  "/v2.img": new TextEncoder().encode("cloud image, second release\n".repeat(100)),
};
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The demo configuration with its template built from `url` and a disruption budget of one node. */
function fromImage(c: Config, base: string, path: string, checksum?: string): Config {
  return {
    ...c,
    providers: c.providers.map((p) => ({ ...p, templateVmidRange: { lower: 8000, upper: 8099 } })),
    machineTemplates: c.machineTemplates.map((t) => ({
      ...t,
      source: {
        kind: "image",
        url: `${base}${path}`,
        checksum: { algorithm: "sha256", value: checksum ?? sha256(IMAGES[path]!) },
        storage: "local-lvm",
        importStorage: "local",
        full: false,
      },
    })),
    nodePools: c.nodePools.map((p) => ({
      ...p,
      disruption: {
        ...p.disruption,
        consolidationPolicy: "WhenEmpty",
        consolidateAfter: 600_000,
        budgets: [{ nodes: "1" }],
      },
    })),
  };
}

/** An image server on 127.0.0.1 counting requests per path. */
function serveImages() {
  const hits: Record<string, number> = {};
  const ac = new AbortController();
  const served = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      hits[path] = (hits[path] ?? 0) + 1;
      const body = IMAGES[path];
      return body ? new Response(body) : new Response("no", { status: 404 });
    },
  );
  return {
    hits,
    base: `http://127.0.0.1:${served.addr.port}`,
    close: async () => {
      ac.abort();
      await served.finished;
    },
  };
}

type Obj = {
  metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
};

Deno.test("an image template is built on each host, and a new image rolls the nodes within budget and removes the old templates", async () => {
  const images = serveImages();
  const hits = images.hits;
  const base = images.base;
  const cluster = await startDemoCluster({ seed: 31, tune: (c) => fromImage(c, base, "/v1.img") });
  cluster.pve.model.st.storages.get("local")!.content.push("import");
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  let verdicts = "";
  const log = () =>
    reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n") +
    `\nlast verdicts:\n${verdicts}`;
  const templates = () =>
    [...cluster.pve.model.st.vms.values()].filter((v) =>
      (v.conf.values.get("name") ?? "").startsWith("pxs-tpl-worker-")
    ).map((v) => ({
      vmid: v.vmid,
      host: v.node,
      name: v.conf.values.get("name")!,
      done: v.conf.values.get("template") === "1",
    }));
  const claims = () => {
    const l = cluster.kube.store.list("nodeclaims.proxscale.io");
    return (l.ok ? l.value.items : []) as unknown as Obj[];
  };
  const until = async (what: string, ok: () => boolean, ms = 40_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end && !ok()) await sleep(100);
    assert.ok(ok(), `${what}\n${log()}`);
  };
  try {
    const handle = await cluster.spawn({
      queue,
      tickMs: 300,
      report: (d) => reports.push(d),
      onPass: (plan) => {
        verdicts = plan.disruption.verdicts.map((v) =>
          `${v.nodeClaim} ${v.disrupt} ${v.reason.code}: ${v.reason.message}`
        ).join("\n");
      },
    });
    await until(
      "a template on each of the 3 hosts",
      () => templates().filter((t) => t.done).length === 3,
    );
    const first = templates();
    assert.deepEqual(first.map((t) => t.host).sort(), ["pve1", "pve2", "pve3"]);
    assert.equal(new Set(first.map((t) => t.name)).size, 1, "one digest, one name");
    assert.ok(
      first.every((t) => t.vmid >= 8000 && t.vmid <= 8099),
      "VMIDs from the template range",
    );
    assert.equal(hits["/v1.img"], 3, "each host downloaded the image once");

    cluster.world.deploy({ name: "app", replicas: 3, cpu: 1500, memory: 256 * MiB });
    await until(
      "the pods run on nodes cloned from the templates",
      () => cluster.world.pendingPods() === 0 && claims().length >= 2,
    );
    const oldClaims = new Set(claims().map((c) => c.metadata.name));
    const clones = cluster.pve.requests.filter((q) =>
      q.method === "POST" && /\/clone$/.test(q.path)
    );
    assert.ok(
      clones.every((q) => first.some((t) => q.path.endsWith(`/qemu/${t.vmid}/clone`))),
      "every node VM is a clone of an image template",
    );

    // The image changes: new templates beside the old ones, the claims drift and are replaced.
    let maxDeleting = 0;
    const sampler = setInterval(() => {
      const n = claims().filter((c) => c.metadata.deletionTimestamp).length;
      maxDeleting = Math.max(maxDeleting, n);
    }, 25);
    try {
      handle.daemon.setConfig(fromImage(cluster.config, base, "/v2.img"));
      await until(
        "every old claim replaced",
        () =>
          claims().every((c) => !oldClaims.has(c.metadata.name)) &&
          cluster.world.pendingPods() === 0,
        90_000,
      );
    } finally {
      clearInterval(sampler);
    }
    assert.ok(reports.some((r) => r.reason.code === "Drifted"), log());
    assert.ok(maxDeleting <= 1, `at most one node disrupted at a time, saw ${maxDeleting}`);
    await until(
      "the old templates removed and reported",
      // The removal job reports once PVE has deleted the template: wait for both.
      () =>
        templates().every((t) => t.name !== first[0]!.name) &&
        reports.some((r) => r.what === "TemplateRemoved"),
      30_000,
    );
    const second = templates();
    assert.equal(second.filter((t) => t.done).length, 3);
    assert.equal(hits["/v2.img"], 3);
    assert.equal(hits["/v1.img"], 3, "the first image was never fetched again");
    assert.ok(reports.some((r) => r.what === "TemplateRemoved"), log());
  } finally {
    await cluster.close();
    await queue.close();
    await images.close();
  }
});

Deno.test("a daemon killed right after asking for a download resumes without downloading again", async () => {
  const images = serveImages();
  const cluster = await startDemoCluster({
    seed: 32,
    tune: (c) => fromImage(c, images.base, "/v1.img"),
  });
  cluster.pve.model.st.storages.get("local")!.content.push("import");
  // Slow downloads: the successor starts while the first daemon's downloads still run.
  cluster.pve.model.st.timing.durations.download = 2_000;
  const queues = [new MemoryJobQueue<JobData>(), new MemoryJobQueue<JobData>()];
  try {
    const first = await cluster.spawn({
      queue: queues[0]!,
      tickMs: 300,
      crashAt: "after-download",
    });
    assert.equal(await first.crashed, "after-download");
    const started = images.hits["/v1.img"] ?? 0;
    await cluster.spawn({ queue: queues[1]!, tickMs: 300, identity: "proxscale-2" });
    const done = () =>
      [...cluster.pve.model.st.vms.values()].filter((v) =>
        v.conf.values.get("template") === "1" &&
        (v.conf.values.get("name") ?? "").startsWith("pxs-tpl-worker-")
      ).length;
    const end = Date.now() + 30_000;
    while (Date.now() < end && done() < 3) await sleep(100);
    assert.equal(done(), 3, "a template on each host");
    assert.ok(started >= 1, "the first daemon had started a download");
    assert.equal(images.hits["/v1.img"], 3, "one download per host, none repeated");
    const asked = cluster.pve.requests.filter((q) => q.path.endsWith("/download-url"));
    assert.equal(asked.length, 3, "no download was asked for twice");
  } finally {
    await cluster.close();
    for (const q of queues) await q.close();
    await images.close();
  }
});

Deno.test("a wrong checksum is refused with PVE's message, reported on the MachineTemplate and not retried", async () => {
  const images = serveImages();
  const wrong = "0".repeat(64);
  const cluster = await startDemoCluster({
    seed: 33,
    tune: (c) => fromImage(c, images.base, "/v1.img", wrong),
  });
  cluster.pve.model.st.storages.get("local")!.content.push("import");
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  try {
    const waiting: string[] = [];
    await cluster.spawn({
      queue,
      tickMs: 300,
      report: (d) => reports.push(d),
      onPass: (plan) => {
        for (const u of plan.provisioning.unhelped) {
          waiting.push(`${u.reason.code}: ${u.reason.message}`);
        }
      },
    });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const pveText = `checksum mismatch: got '${sha256(IMAGES["/v1.img"]!)}' != expect '${wrong}'`;
    const failures = () => reports.filter((r) => r.what === "TemplateBuildFailed");
    const end = Date.now() + 20_000;
    while (Date.now() < end && failures().length < 3) await sleep(100);
    assert.equal(failures().length, 3, "one failure per host");
    for (const f of failures()) {
      assert.equal(f.reason.code, "TemplateBuildFailed");
      assert.ok(f.reason.message.includes(pveText), f.reason.message);
    }
    const events = cluster.kube.store.list("events");
    const onTemplate = (events.ok ? events.value.items : []).filter((e) =>
      (e as { involvedObject?: { kind?: string } }).involvedObject?.kind === "MachineTemplate"
    ) as { reason?: string; type?: string; message?: string }[];
    assert.ok(
      onTemplate.some((e) =>
        e.reason === "TemplateBuildFailed" && e.type === "Warning" &&
        (e.message ?? "").includes("checksum mismatch")
      ),
      JSON.stringify(onTemplate),
    );
    await sleep(1_500);
    const jobs = await queue.list();
    assert.ok(jobs.ok);
    const builds = jobs.value.filter((j) => j.name === "build-template");
    assert.equal(builds.length, 3);
    for (const j of builds) {
      assert.equal(j.state, "failed");
      assert.equal(j.attemptsStarted, 1, "a checksum mismatch is not retried");
      assert.ok(j.lastError?.includes("checksum mismatch"));
    }
    assert.equal(
      [...cluster.pve.model.st.vms.values()].filter((v) =>
        (v.conf.values.get("name") ?? "").startsWith("pxs-tpl-")
      ).length,
      0,
      "no template VM is made from a refused image",
    );
    assert.equal(cluster.world.liveVms().filter((v) => v.claim).length, 0, "no node launched");
    assert.ok(
      waiting.some((w) => /^TemplateNotReady: .*no finished template VM/.test(w)),
      `the pending pod waits for the template: ${waiting.slice(-3).join("\n")}`,
    );
  } finally {
    await cluster.close();
    await queue.close();
    await images.close();
  }
});
