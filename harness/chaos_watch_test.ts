/**
 * The chaos observer's checks can fail: VMs over the pool's limit are a limit violation, and
 * pods of a PDB lost below minAvailable are a PDB violation only when proxscale disrupted them
 * through the API server (its request log), not when they vanished for another reason.
 */
import assert from "node:assert/strict";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { watchChaos } from "./chaos_watch.ts";

const RANGE = { lower: 1000, upper: 1999 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withFakes(fn: (f: Awaited<ReturnType<typeof fakes>>) => Promise<void>) {
  const f = await fakes();
  try {
    await fn(f);
  } finally {
    await f.kube.close();
    await f.pve.close();
  }
}

async function fakes() {
  const pve = await startFakePve({ hosts: 2, seed: 1 });
  const kube = await startFakeKube({ seed: 1 });
  return { pve, kube };
}

function runningPod(kube: Awaited<ReturnType<typeof startFakeKube>>, name: string) {
  const made = kube.store.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: { nodeName: "n1", containers: [{ name: "c", image: "i" }] },
  }, { namespace: "default" });
  assert.ok(made.ok);
  const up = kube.store.patch("pods", "default", name, "merge", {
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  }, { subresource: "status" });
  assert.ok(up.ok, JSON.stringify(up));
}

Deno.test("VMs beyond the pool's node limit count as one limit violation per stretch", async () => {
  await withFakes(async ({ pve, kube }) => {
    const w = watchChaos({
      pve,
      kube,
      vmidRange: RANGE,
      limits: { nodes: 2 },
      pdb: { app: "web", minAvailable: () => 0 },
      everyMs: 20,
    });
    pve.model.addVm({ vmid: 1001, node: "pve1", config: { cores: "2" } });
    pve.model.addVm({ vmid: 1002, node: "pve1", config: { cores: "2" } });
    await sleep(60);
    assert.equal(w.counts.limitViolations, 0);
    pve.model.addVm({ vmid: 1003, node: "pve2", config: { cores: "2" } });
    await sleep(60);
    const c = w.stop();
    assert.equal(c.limitViolations, 1);
    assert.equal(c.maxVms, 3);
  });
});

Deno.test("a pod proxscale deleted below minAvailable is a PDB violation; one lost otherwise is not", async () => {
  await withFakes(async ({ pve, kube }) => {
    runningPod(kube, "web-a");
    runningPod(kube, "web-b");
    const w = watchChaos({
      pve,
      kube,
      vmidRange: RANGE,
      limits: {},
      pdb: { app: "web", minAvailable: () => 2 },
      everyMs: 20,
    });
    await sleep(60);
    // Lost without any request of proxscale's (a fault): not counted.
    assert.ok(kube.store.delete("pods", "default", "web-a", { gracePeriodSeconds: 0 }).ok);
    await sleep(60);
    assert.equal(w.counts.pdbViolations, 0);
    runningPod(kube, "web-c");
    await sleep(60);
    // Deleted through the API server, as a daemon would: counted.
    kube.requests.push({
      method: "DELETE",
      path: "/api/v1/namespaces/default/pods/web-b",
      query: "",
      contentType: "",
      accept: "",
      user: "admin",
    });
    assert.ok(kube.store.delete("pods", "default", "web-b", { gracePeriodSeconds: 0 }).ok);
    await sleep(60);
    const c = w.stop();
    assert.equal(c.pdbViolations, 1, c.notes.join("\n"));
    assert.match(c.notes[0]!, /web-b/);
  });
});
