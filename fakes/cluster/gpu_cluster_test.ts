import assert from "node:assert/strict";
import type { KObj } from "../fake_kube/objects.ts";
import { gpuSeed } from "../fake_pve/pci_inventory.ts";
import { startFakeCluster } from "./start.ts";

async function until<T>(what: string, f: () => T | undefined, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function gpuPod(name: string, gpus: number): KObj {
  const requests = { cpu: "100m", "nvidia.com/gpu": String(gpus) };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "cuda", resources: { requests, limits: requests } }] },
  };
}

Deno.test("a VM with two mapped GPUs becomes a Node with nvidia.com/gpu 2 and its model label; a 1-GPU pod binds, a 3-GPU pod stays Unschedulable", async () => {
  const cluster = await startFakeCluster({
    hosts: 2,
    requireSeed: false,
    bootDelayMs: 50,
    renewIntervalMs: 200,
    pve: {
      model: { pci: gpuSeed({ pve1: 2 }), timing: { durations: { qmstart: 50 } } },
    },
  });
  try {
    const { pve, kube } = cluster;
    pve.model.addVm({
      vmid: 500,
      node: "pve1",
      name: "gpu-worker",
      config: {
        cores: "8",
        memory: "16384",
        machine: "q35",
        hostpci0: "mapping=gpu,pcie=1",
        hostpci1: "mapping=gpu,pcie=1",
      },
    });
    const start = pve.model.powerVm("pve1", 500, "start", {}, "root@pam");
    assert.ok(start.ok);
    const node = await until("the GPU node", () => {
      const r = kube.store.get("nodes", undefined, "gpu-worker");
      return r.ok && r.value.status?.allocatable ? r.value : undefined;
    });
    assert.equal(node.status!.capacity["nvidia.com/gpu"], "2");
    assert.equal(node.status!.allocatable["nvidia.com/gpu"], "2");
    assert.equal(node.metadata.labels!["nvidia.com/gpu.product"], "A100-PCIe-40GB");
    assert.equal(node.metadata.labels!["nvidia.com/gpu.count"], "2");

    for (const p of [gpuPod("one", 1), gpuPod("three", 3)]) {
      const r = kube.store.create("pods", p, { namespace: "default" });
      assert.ok(r.ok);
    }
    const pod = (name: string) => {
      const r = kube.store.get("pods", "default", name);
      return r.ok ? r.value : undefined;
    };
    assert.equal(await until("one bound", () => pod("one")?.spec?.nodeName), "gpu-worker");
    // the kubelet admits it: the GPU is in its allocatable too
    await until("one running", () => pod("one")?.status?.phase === "Running" || undefined);
    const cond = await until(
      "three Unschedulable",
      () =>
        (pod("three")?.status?.conditions as Array<Record<string, string>> | undefined)?.find((c) =>
          c.type === "PodScheduled" && c.reason === "Unschedulable"
        ),
    );
    assert.equal(cond.status, "False");
    assert.match(cond.message!, /Insufficient nvidia\.com\/gpu/);
    assert.equal(pod("three")?.spec?.nodeName, undefined);
    assert.equal(pod("three")?.status?.phase, "Pending");
  } finally {
    await cluster.close();
  }
});

Deno.test("a second GPU VM on a host whose single GPU is taken does not start and never becomes a Node", async () => {
  const cluster = await startFakeCluster({
    hosts: 1,
    requireSeed: false,
    bootDelayMs: 20,
    pve: { model: { pci: gpuSeed({ pve1: 1 }), timing: { durations: { qmstart: 20 } } } },
  });
  try {
    const { pve, kube } = cluster;
    for (const vmid of [510, 511]) {
      pve.model.addVm({
        vmid,
        node: "pve1",
        name: `g${vmid}`,
        config: { memory: "4096", hostpci0: "mapping=gpu" },
      });
    }
    const a = pve.model.powerVm("pve1", 510, "start", {}, "root@pam");
    assert.ok(a.ok);
    await until("g510", () => kube.store.get("nodes", undefined, "g510").ok || undefined);
    const b = pve.model.powerVm("pve1", 511, "start", {}, "root@pam");
    assert.ok(b.ok);
    const status = await until("the second start to end", () => {
      const s = pve.model.taskStatus("pve1", b.value);
      return s.ok && s.value.status === "stopped" ? s.value.exitstatus : undefined;
    });
    assert.equal(status, "PCI device '0000:41:00.0' already in use by VMID '510'");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!kube.store.get("nodes", undefined, "g511").ok);
  } finally {
    await cluster.close();
  }
});
