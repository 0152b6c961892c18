/**
 * GPUs end to end with the real daemon on the fake cluster: two hosts of three have one A100
 * each behind the PCI mapping `gpu`; a GPU NodePool's template has a CPU shape and a GPU shape.
 * A Deployment of GPU pods scales the pool up to one GPU VM per pod, each VM with
 * `hostpci0: mapping=gpu,pcie=1` and a q35 machine on a host with the device (no CPU-only VM
 * is made for them), the Nodes advertise nvidia.com/gpu, the pods bind and run; scaling the
 * Deployment to zero scales the pool down until no VM is left on the PVE side.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { gpuSeed } from "../fakes/fake_pve/pci_inventory.ts";
import { auditVms } from "../fakes/cluster/audit.ts";
import { GiB, MiB } from "../core/quantity.ts";
import type { Config, MachineTemplate, NodePool } from "../core/model.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The demo config plus a GPU template (CPU shape and GPU shape) and a pool using it. */
function withGpuPool(c: Config, replicas = 1): Config {
  const worker = c.machineTemplates[0]!;
  const gpu: MachineTemplate = {
    ...worker,
    name: "gpu",
    shapes: [
      { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB },
      { name: "2c-4Gi-1xgpu", cpu: 2000, memory: 4 * GiB, gpus: { count: 1, mapping: "gpu" } },
    ],
    gpu: { resourceName: "nvidia.com/gpu", replicas, pcie: true },
  };
  const general = c.nodePools[0]!;
  const gpus: NodePool = { ...general, name: "gpus", machineTemplate: "gpu", limits: { gpus: 2 } };
  return {
    ...c,
    machineTemplates: [...c.machineTemplates, gpu],
    nodePools: [general, gpus],
    settings: { ...c.settings, cost: { ...c.settings.cost, perGpuHour: 1 } },
  };
}

type Obj = {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { phase?: string; allocatable?: Record<string, string> };
};

function gpuDeployment(replicas: number, name = "trainer") {
  const gpu = { cpu: "500m", memory: String(256 * MiB), "nvidia.com/gpu": "1" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default", labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{
            name: "train",
            image: "registry.local/train:1",
            resources: { requests: gpu, limits: { "nvidia.com/gpu": "1" } },
          }],
        },
      },
    },
  };
}

Deno.test("a Deployment of GPU pods scales a GPU pool up to GPU VMs and back down to none", async () => {
  const cluster = await startDemoCluster({
    seed: 31,
    tune: withGpuPool,
    pve: { pci: gpuSeed({ pve1: 1, pve2: 1 }) },
  });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  const { kube, pve } = cluster;
  const range = cluster.config.providers[0]!.vmidRange;
  const list = (kind: string, namespace?: string): Obj[] => {
    const r = kube.store.list(kind, namespace ? { namespace } : {});
    return r.ok ? (r.value.items as Obj[]) : [];
  };
  const pods = () => list("pods", "default").filter((p) => p.metadata.labels?.app === "trainer");
  const everyVm = () => auditVms(pve, { vmidRange: range }).vms;
  const log = () =>
    reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n");
  try {
    await cluster.spawn({ queue, tickMs: 300, report: (d) => reports.push(d) });
    const made = kube.store.create("deployments.apps", gpuDeployment(2), { namespace: "default" });
    assert.ok(made.ok, made.ok ? "" : String(made.error.message));
    const running = () =>
      pods().filter((p) => p.spec?.nodeName && p.status?.phase === "Running").length;
    let end = Date.now() + 40_000;
    while (Date.now() < end && running() < 2) await sleep(100);
    assert.equal(running(), 2, log());

    // One GPU VM per pod, each on a host with the device, each with the mapping's hostpci line.
    const vms = everyVm();
    assert.equal(vms.length, 2, `VMs on the PVE side: ${JSON.stringify(vms)}\n${log()}`);
    assert.deepEqual(vms.map((v) => v.host).sort(), ["pve1", "pve2"]);
    for (const v of vms) {
      const conf = pve.model.st.vms.get(v.vmid)!.conf.values;
      assert.equal(conf.get("hostpci0"), "mapping=gpu,pcie=1", `VM ${v.vmid}`);
      assert.equal(conf.get("machine"), "q35");
    }
    // No CPU-only VM was ever made for them: every clone sent was one of these two.
    const clones = pve.requests.filter((q) => q.method === "POST" && /\/clone$/.test(q.path));
    assert.equal(clones.length, 2, log());

    // The Nodes the pods run on advertise the GPU; the NodeClaims record the GPU shape.
    const nodes = new Map(list("nodes").map((n) => [n.metadata.name, n]));
    for (const p of pods()) {
      const n = nodes.get(p.spec!.nodeName!);
      assert.equal(n?.status?.allocatable?.["nvidia.com/gpu"], "1", String(p.spec!.nodeName));
    }
    const claims = list("nodeclaims.proxscale.io") as unknown as {
      spec: { nodePool: string; shape: { name: string; gpus?: unknown } };
    }[];
    assert.deepEqual(
      claims.map((c) => [c.spec.nodePool, c.spec.shape.name, c.spec.shape.gpus]),
      [
        ["gpus", "2c-4Gi-1xgpu", { count: 1, mapping: "gpu" }],
        ["gpus", "2c-4Gi-1xgpu", { count: 1, mapping: "gpu" }],
      ],
    );

    // Scaling to zero empties the nodes; the pool scales down until no VM is left.
    const scaled = kube.store.patch("deployments.apps", "default", "trainer", "merge", {
      spec: { replicas: 0 },
    });
    assert.ok(scaled.ok);
    end = Date.now() + 40_000;
    while (Date.now() < end && everyVm().length > 0) await sleep(200);
    assert.equal(everyVm().length, 0, log());
    assert.equal(list("nodeclaims.proxscale.io").length, 0);
    assert.ok(!/CPU-only|ProviderUnavailable/.test(log()), log());
  } finally {
    await cluster.close();
    await queue.close();
  }
});

Deno.test("a template sharing each GPU between two pods runs two GPU pods on one VM", async () => {
  const cluster = await startDemoCluster({
    seed: 32,
    tune: (c) => withGpuPool(c, 2),
    pve: { pci: gpuSeed({ pve2: 1 }) },
  });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  const { kube, pve } = cluster;
  const range = cluster.config.providers[0]!.vmidRange;
  const log = () =>
    reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n");
  try {
    await cluster.spawn({ queue, tickMs: 300, report: (d) => reports.push(d) });
    const made = kube.store.create("deployments.apps", gpuDeployment(2, "shared"), {
      namespace: "default",
    });
    assert.ok(made.ok);
    const pods = () => {
      const r = kube.store.list("pods", { namespace: "default" });
      return (r.ok ? (r.value.items as Obj[]) : []).filter((p) =>
        p.metadata.labels?.app === "shared" && p.spec?.nodeName && p.status?.phase === "Running"
      );
    };
    const end = Date.now() + 40_000;
    while (Date.now() < end && pods().length < 2) await sleep(100);
    assert.equal(pods().length, 2, log());
    const vms = auditVms(pve, { vmidRange: range }).vms;
    assert.equal(vms.length, 1, log());
    assert.equal(vms[0]!.host, "pve2");
    assert.equal(new Set(pods().map((p) => p.spec!.nodeName)).size, 1);
    const node = kube.store.get("nodes", undefined, pods()[0]!.spec!.nodeName!);
    assert.ok(node.ok);
    const n = node.value as Obj;
    assert.equal(n.status?.allocatable?.["nvidia.com/gpu"], "2");
    assert.equal(n.metadata.labels?.["nvidia.com/gpu.replicas"], "2");
  } finally {
    await cluster.close();
    await queue.close();
  }
});

Deno.test("a GPU VM whose device was taken behind proxscale's back fails its launch with the reason, and a replacement runs once the device is free", async () => {
  const pci = gpuSeed({ pve1: 1 });
  // A second mapping over the same device, held by a foreign VM: proxscale sees `gpu` free.
  pci.mappings!.push({ ...pci.mappings![0]!, id: "gpu-b" });
  const cluster = await startDemoCluster({ seed: 33, tune: withGpuPool, pve: { pci } });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  const { kube, pve } = cluster;
  const range = cluster.config.providers[0]!.vmidRange;
  const log = () =>
    reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n");
  pve.model.addVm({
    vmid: 500,
    node: "pve1",
    name: "foreign-gpu",
    config: { hostpci0: "mapping=gpu-b" },
    running: true,
  });
  try {
    await cluster.spawn({ queue, tickMs: 300, report: (d) => reports.push(d) });
    const made = kube.store.create("deployments.apps", gpuDeployment(1, "solo"), {
      namespace: "default",
    });
    assert.ok(made.ok);
    const conflict = () =>
      reports.find((r) =>
        r.what === "LaunchFailed" &&
        /PCI passthrough device not free on pve1/.test(r.reason.message)
      );
    let end = Date.now() + 30_000;
    while (Date.now() < end && !conflict()) await sleep(100);
    assert.ok(conflict(), log());
    assert.match(conflict()!.reason.message, /already in use by VMID '500'/);
    // The foreign VM stops: the next claim's VM gets the device and the pod runs.
    pve.model.st.vms.get(500)!.status = "stopped";
    const running = () => {
      const r = kube.store.list("pods", { namespace: "default" });
      return (r.ok ? (r.value.items as Obj[]) : []).filter((p) =>
        p.metadata.labels?.app === "solo" && p.status?.phase === "Running"
      ).length;
    };
    end = Date.now() + 40_000;
    while (Date.now() < end && running() < 1) await sleep(100);
    assert.equal(running(), 1, log());
    const vms = auditVms(pve, { vmidRange: range }).vms;
    assert.equal(vms.length, 1, `${JSON.stringify(vms)}\n${log()}`);
    const claims = kube.store.list("nodeclaims.proxscale.io", {});
    assert.ok(claims.ok);
    assert.equal(claims.value.items.length, 1, log());
  } finally {
    await cluster.close();
    await queue.close();
  }
});
