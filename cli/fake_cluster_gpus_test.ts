import assert from "node:assert/strict";
import { parseGpus, proxscaleConfigFor } from "./fake_cluster.ts";
import { startFakeCluster } from "../fakes/cluster/start.ts";
import { gpuSeed } from "../fakes/fake_pve/pci_inventory.ts";
import { parseConfigText } from "../adapters/config/load.ts";

Deno.test("--gpus takes HOST=N per host of the fake cluster and refuses unknown hosts and bad counts", () => {
  assert.deepEqual(parseGpus("pve1=2,pve3=1", 3), { pve1: 2, pve3: 1 });
  assert.deepEqual(parseGpus("", 3), {});
  assert.equal(parseGpus("pve4=1", 3), "no host pve4 (hosts are pve1..pve3)");
  assert.equal(parseGpus("pve1=two", 3), "'pve1=two' is not HOST=N");
  assert.equal(parseGpus("pve1=17", 3), "pve1: at most 16 GPUs per host");
});

Deno.test("with GPUs, the written proxscale config has a GPU shape of the seeded mapping and loads", async () => {
  const cluster = await startFakeCluster({
    hosts: 2,
    seed: 3,
    provider: "fake",
    pve: { model: { pci: gpuSeed({ pve1: 1 }) } },
  });
  try {
    const text = proxscaleConfigFor(cluster, { tokenFile: "/t", caFile: "/c" });
    const r = parseConfigText(text, "fake.yaml");
    assert.ok(r.ok, r.ok ? "" : r.error.map((p) => p.message).join("\n"));
    const gpu = r.value.machineTemplates[0]!.shapes.filter((s) => s.gpus);
    assert.deepEqual(gpu.map((s) => [s.name, s.gpus]), [["4c-8Gi-1xgpu", {
      count: 1,
      mapping: "gpu",
    }]]);
  } finally {
    await cluster.close();
  }
});
