/**
 * Templates built from a cloud image, end to end: the real daemon on the fake cluster (three
 * hosts, the fake PVE really fetching the image from a server on 127.0.0.1) builds one template
 * VM per host from the MachineTemplate's `source.image`, nodes are cloned from them, and a
 * changed image builds new templates beside the old ones, drifts the pool's claims so
 * disruption replaces the nodes one at a time (budget `nodes: 1`), and removes the old templates
 * once no claim uses them.
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
function fromImage(c: Config, base: string, path: string): Config {
  return {
    ...c,
    providers: c.providers.map((p) => ({ ...p, templateVmidRange: { lower: 8000, upper: 8099 } })),
    machineTemplates: c.machineTemplates.map((t) => ({
      ...t,
      source: {
        kind: "image",
        url: `${base}${path}`,
        checksum: { algorithm: "sha256", value: sha256(IMAGES[path]!) },
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

type Obj = {
  metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
};

Deno.test("an image template is built on each host, and a new image rolls the nodes within budget and removes the old templates", async () => {
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
  const base = `http://127.0.0.1:${served.addr.port}`;
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
      "the old templates removed",
      () => templates().every((t) => t.name !== first[0]!.name),
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
    ac.abort();
    await served.finished;
  }
});
