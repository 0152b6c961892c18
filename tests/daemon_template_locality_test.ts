/**
 * Template locality with the real daemon on the fake cluster: one template VM (9000) on the
 * first host's local storage, named by `templateVmid` for a Provider of three hosts. PVE refuses
 * to clone it to another host ("can't clone VM to node ... (VM uses local storage)"). The
 * daemon learns from PVE which hosts can clone it and places every VM there, so the pods run and
 * no clone is ever sent to another host; the refusal itself is a permanent PVE error.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { httpError } from "../adapters/proxmox/errors.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const oneLocalTemplate = (c: Config): Config => ({
  ...c,
  machineTemplates: c.machineTemplates.map((t) => ({
    ...t,
    source: { kind: "clone", templateVmid: 9000, full: false },
  })),
});

Deno.test("PVE's local-storage clone refusal is a permanent error, not an unclear answer", () => {
  const e = httpError(
    "POST /nodes/pve1/qemu/9000/clone",
    500,
    "can't clone VM to node 'pve2' (VM uses local storage)",
    undefined,
  );
  assert.equal(e.kind, "validation");
  assert.ok(!e.ambiguous, "nothing may still appear from a refused clone");
});

Deno.test("a template on one host's local storage is only ever cloned on that host", async () => {
  const cluster = await startDemoCluster({ seed: 21, tune: oneLocalTemplate });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  try {
    const home = cluster.pve.model.nodes().map((n) => String(n.node)).sort()[0]!;
    await cluster.spawn({ queue, tickMs: 300, report: (d) => reports.push(d) });
    // Three 1.5-core pods per 2-core VM at most one each: several VMs are needed.
    cluster.world.deploy({ name: "app", replicas: 4, cpu: 1500, memory: 256 * MiB });
    const bound = () => {
      const r = cluster.kube.store.list("pods", { namespace: "default" });
      return r.ok
        ? (r.value.items as { spec?: { nodeName?: string } }[]).filter((p) => p.spec?.nodeName)
          .length
        : 0;
    };
    const end = Date.now() + 30_000;
    while (Date.now() < end && bound() < 4) await sleep(100);
    const log = reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n");
    assert.equal(bound(), 4, log);
    assert.equal(cluster.world.pendingPods(), 0, log);
    const vms = cluster.world.liveVms().filter((v) => v.claim);
    assert.ok(vms.length >= 2, `${vms.length} VMs`);
    assert.deepEqual(
      [...new Set(vms.map((v) => v.host))],
      [home],
      "every VM is on the template's host",
    );
    const crossClones = cluster.pve.requests.filter((q) =>
      q.method === "POST" && /\/clone$/.test(q.path) && q.params.target !== undefined &&
      q.params.target !== home
    );
    assert.equal(crossClones.length, 0, "no clone was sent to another host");
    assert.ok(!/local storage/.test(log), log);
  } finally {
    await cluster.close();
    await queue.close();
  }
});
