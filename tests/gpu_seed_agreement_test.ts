/**
 * The node seed and the fake kubelet agree on GPU time-slicing: a MachineTemplate sharing each
 * GPU between N pods renders a seed whose device plugin config the guest reads as N replicas
 * of nvidia.com/gpu (renamed to the template's resource name when it is another), without
 * losing what the user-data template wrote; a template that does not share writes nothing.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { renderNoCloudSeed } from "../adapters/bootstrap/render.ts";
import { input, machineTemplate } from "../adapters/bootstrap/testing/sample.ts";
import type { MachineTemplate } from "../core/model.ts";
import { parseSeed } from "../fakes/cluster/kubelet/seed.ts";

const GiB = 2 ** 30;

function gpuTemplate(gpu: MachineTemplate["gpu"]): MachineTemplate {
  const t = machineTemplate({ mode: "nocloudIso", template: "kubeadm" });
  return {
    ...t,
    shapes: [...t.shapes, {
      name: "8c-32Gi-1xgpu",
      cpu: 8000,
      memory: 32 * GiB,
      gpus: { count: 1, mapping: "gpu" },
    }],
    ...(gpu ? { gpu } : {}),
  };
}

function seedOf(template: MachineTemplate) {
  const r = renderNoCloudSeed({ ...input({ mode: "nocloudIso", template: "kubeadm" }), template });
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

Deno.test("a template sharing each GPU between 4 pods seeds a device plugin config the guest reads as 4 replicas", () => {
  const seed = seedOf(gpuTemplate({ resourceName: "nvidia.com/gpu", replicas: 4, pcie: true }));
  assert.deepEqual(parseSeed({ userData: seed.userData }).timeSlicing, {
    renameByDefault: false,
    resources: [{ name: "nvidia.com/gpu", replicas: 4 }],
  });
  // The template's own cloud-config survives: still a cloud-config with its join command.
  assert.match(seed.userData, /^#cloud-config\n/);
  const doc = parse(seed.userData) as Record<string, unknown>;
  assert.ok(Array.isArray(doc.write_files));
  const plain = seedOf(gpuTemplate(undefined));
  assert.equal(parseSeed({ userData: plain.userData }).tokens.length, 1);
  assert.deepEqual(
    parseSeed({ userData: seed.userData }).tokens,
    parseSeed({ userData: plain.userData }).tokens,
  );
});

Deno.test("another resource name is a rename of nvidia.com/gpu in the device plugin config", () => {
  const seed = seedOf(gpuTemplate({ resourceName: "example.com/gpu", replicas: 2 }));
  assert.deepEqual(parseSeed({ userData: seed.userData }).timeSlicing?.resources, [
    { name: "nvidia.com/gpu", replicas: 2, rename: "example.com/gpu" },
  ]);
});

Deno.test("a template with one pod per GPU, or without GPU shapes, writes no device plugin config", () => {
  const one = seedOf(gpuTemplate({ resourceName: "nvidia.com/gpu", replicas: 1 }));
  assert.equal(parseSeed({ userData: one.userData }).timeSlicing, undefined);
  const cpuOnly = {
    ...machineTemplate({ mode: "nocloudIso", template: "kubeadm" }),
    gpu: { resourceName: "nvidia.com/gpu", replicas: 4 },
  };
  const none = seedOf(cpuOnly);
  assert.equal(parseSeed({ userData: none.userData }).timeSlicing, undefined);
  assert.equal(
    none.userData,
    seedOf(machineTemplate({ mode: "nocloudIso", template: "kubeadm" })).userData,
  );
});
