/**
 * GPUs as a resource of shapes and hosts, through provision(): a GPU pod gets the cheapest shape
 * holding its GPUs on a host with the devices free, a CPU pod never spends a device, and what no
 * host or limit allows is reported with a reason instead of launched.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import type { Config, HostDevices, MachineTemplate, Pod, Shape } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import {
  snapshotOf,
  T0,
  testConfig,
  testHost,
  testPod,
  testPool,
  testTemplate,
} from "./testing/arbitraries.ts";
import { shapeCost } from "./cost.ts";

const CPU_SHAPE: Shape = { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB };
const A100: Shape = {
  name: "8c-32Gi-a100",
  cpu: 8000,
  memory: 32 * GiB,
  gpus: { count: 1, mapping: "a100" },
};
const A100X2: Shape = {
  name: "16c-64Gi-2a100",
  cpu: 16000,
  memory: 64 * GiB,
  gpus: { count: 2, mapping: "a100" },
};

function gpuTemplate(over: Partial<MachineTemplate> = {}): MachineTemplate {
  return testTemplate({ shapes: [CPU_SHAPE, A100, A100X2], ...over });
}

function config(template = gpuTemplate(), limits: Config["nodePools"][number]["limits"] = {}) {
  return testConfig({
    machineTemplates: [template],
    nodePools: [testPool("general", { limits })],
  });
}

function pending(name: string, gpus: number, over: Partial<Pod> = {}): Pod {
  return testPod(name, undefined, {
    unschedulable: true,
    pendingSince: T0 - 60_000,
    containers: [{
      cpu: 1000,
      memory: 2 * GiB,
      ...(gpus > 0 ? { extended: { "nvidia.com/gpu": gpus } } : {}),
    }],
    ...over,
  });
}

const a100 = (free: number): HostDevices => ({
  mapping: "a100",
  model: "GA100 [A100 PCIe 40GB]",
  free,
});

function hosts(pve1: HostDevices[], pve2: HostDevices[] = []) {
  return [
    testHost("pve1", "zone-a", { devices: pve1 }),
    testHost("pve2", "zone-b", { devices: pve2 }),
  ];
}

Deno.test("a GPU pod gets the cheapest shape with a GPU on a host with a free device; a CPU pod gets no GPU", () => {
  const gpu = provision(
    snapshotOf({ pods: [pending("train-1", 1)], hosts: hosts([], [a100(1)]) }),
    config(),
  );
  assert.deepEqual(gpu.claims.map((c) => [c.shape.name, c.host, c.pods]), [
    ["8c-32Gi-a100", "pve2", ["default/train-1"]],
  ]);
  // Alone, a CPU pod of the same pool opens the cheapest shape without devices.
  const cpu = provision(
    snapshotOf({ pods: [pending("web-1", 0)], hosts: hosts([a100(1)], [a100(1)]) }),
    config(),
  );
  assert.deepEqual(cpu.claims.map((c) => c.shape.name), ["4c-8Gi"]);
  // Beside a GPU pod it may share the GPU VM's spare cpu and memory: no device is spent on it.
  const both = provision(
    snapshotOf({ pods: [pending("train-1", 1), pending("web-1", 0)], hosts: hosts([a100(1)]) }),
    config(),
  );
  assert.deepEqual(both.claims.map((c) => [c.shape.name, c.pods.length]), [["8c-32Gi-a100", 2]]);
  assert.deepEqual(both.unhelped, []);
});

Deno.test("a host's single device goes to one VM: the next GPU VM lands on the other host, then none is left", () => {
  const plan = provision(
    snapshotOf({
      pods: [pending("train-1", 1), pending("train-2", 1), pending("train-3", 1)],
      hosts: hosts([a100(1)], [a100(1)]),
    }),
    config(),
  );
  assert.deepEqual(plan.claims.map((c) => c.host).sort(), ["pve1", "pve2"]);
  assert.equal(plan.unhelped.length, 1);
  const why = plan.unhelped[0]!.reason;
  assert.equal(why.code, "HostCapacityExhausted");
  assert.match(why.message, /2 without 1 GPU of mapping 'a100' free/);
});

Deno.test("a device a foreign VM holds is not offered: the host reports it as taken", () => {
  // The provider subtracts devices held by every VM; a fully held mapping has free 0.
  const plan = provision(
    snapshotOf({ pods: [pending("train-1", 1)], hosts: hosts([a100(0)]) }),
    config(),
  );
  assert.deepEqual(plan.claims, []);
  assert.equal(plan.unhelped[0]!.reason.code, "HostCapacityExhausted");
});

Deno.test("a pod asking two GPUs gets the two-GPU shape; one GPU VM never grows into more devices", () => {
  const plan = provision(
    snapshotOf({ pods: [pending("big-1", 2), pending("small-1", 1)], hosts: hosts([a100(3)]) }),
    config(),
  );
  const shapes = plan.claims.map((c) => `${c.shape.name}:${c.pods.join(",")}`).sort();
  assert.deepEqual(shapes, ["16c-64Gi-2a100:default/big-1", "8c-32Gi-a100:default/small-1"]);
});

Deno.test("time-sliced GPUs: one device shared by four pods is one VM for four one-GPU pods", () => {
  const t = gpuTemplate({ gpu: { resourceName: "nvidia.com/gpu", replicas: 4 } });
  const pods = [1, 2, 3, 4].map((i) =>
    pending(`infer-${i}`, 1, {
      containers: [{ cpu: 500, memory: 1 * GiB, extended: { "nvidia.com/gpu": 1 } }],
    })
  );
  const plan = provision(snapshotOf({ pods, hosts: hosts([a100(1)]) }), config(t));
  assert.equal(plan.claims.length, 1);
  assert.equal(plan.claims[0]!.shape.name, "8c-32Gi-a100");
  assert.equal(plan.claims[0]!.pods.length, 4);
});

Deno.test("mediated devices: a vGPU type's available count bounds the VMs of a host", () => {
  const vgpu: Shape = {
    name: "4c-16Gi-t4",
    cpu: 4000,
    memory: 16 * GiB,
    gpus: { count: 1, model: "T4", mdev: "nvidia-223" },
  };
  const t = testTemplate({ shapes: [vgpu] });
  const t4 = (n: number): HostDevices => ({
    mapping: "t4",
    model: "TU104GL [Tesla T4]",
    free: 1,
    mdev: { "nvidia-223": n },
  });
  const plan = provision(
    snapshotOf({
      pods: [1, 2, 3, 4].map((i) => pending(`vdi-${i}`, 1)),
      hosts: hosts([t4(2)], [t4(1)]),
    }),
    config(t),
  );
  assert.deepEqual(plan.claims.map((c) => c.host).sort(), ["pve1", "pve1", "pve2"]);
  assert.equal(plan.unhelped.length, 1);
  assert.match(plan.unhelped[0]!.reason.message, /model 'T4' as mdev nvidia-223/);
});

Deno.test("a GPU model no host has is reported and never launched", () => {
  const t = testTemplate({
    shapes: [{
      name: "8c-32Gi-h100",
      cpu: 8000,
      memory: 32 * GiB,
      gpus: { count: 1, model: "H100" },
    }],
  });
  const plan = provision(
    snapshotOf({ pods: [pending("train-1", 1)], hosts: hosts([a100(4)], [a100(4)]) }),
    config(t),
  );
  assert.deepEqual(plan.claims, []);
  assert.equal(plan.unhelped[0]!.reason.code, "HostCapacityExhausted");
  assert.match(plan.unhelped[0]!.reason.message, /without 1 GPU of model 'H100' free/);
});

Deno.test("a pool's GPU limit stops the claim that would pass it", () => {
  const plan = provision(
    snapshotOf({ pods: [pending("train-1", 1), pending("train-2", 1)], hosts: hosts([a100(4)]) }),
    config(gpuTemplate(), { gpus: 1 }),
  );
  assert.equal(plan.claims.length, 1);
  assert.equal(plan.unhelped[0]!.reason.code, "PoolLimitReached");
  assert.match(plan.unhelped[0]!.reason.message, /GPU limit 1 reached/);
});

Deno.test("a GPU shape's cost adds its GPUs at perGpuHour; other shapes cost what they did", () => {
  const cost = { perVcpuHour: 0.02, perGiBHour: 0.0025, perGpuHour: 0.5 };
  const base = shapeCost({ cpu: 8000, memory: 32 * GiB }, 256 * MiB, cost);
  assert.equal(shapeCost(A100, 256 * MiB, cost), base + 0.5);
  assert.equal(
    shapeCost(A100X2, 256 * MiB, cost),
    shapeCost({ cpu: 16000, memory: 64 * GiB }, 256 * MiB, cost) + 1,
  );
  assert.equal(
    shapeCost(CPU_SHAPE, 0, cost),
    shapeCost(CPU_SHAPE, 0, { perVcpuHour: 0.02, perGiBHour: 0.0025 }),
  );
});
