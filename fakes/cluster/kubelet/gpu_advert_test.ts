import assert from "node:assert/strict";
import { gpuAdvert, productLabel, readTimeSlicing } from "./gpu_advert.ts";
import { parseSeed } from "./seed.ts";

const A100 = { vendor: "0x10de", class: "0x030200", product: "GA100 [A100 PCIe 40GB]" };

Deno.test("each passed-through GPU is one unit of its vendor's resource; a NIC is none; an unknown device is one NVIDIA GPU", () => {
  const nic = { vendor: "0x8086", class: "0x020000" };
  const amd = { vendor: "0x1002", class: "0x030000", product: "Navi 31 [Radeon Pro W7900]" };
  const a = gpuAdvert([A100, A100, nic, amd, {}]);
  assert.deepEqual(a.resources, { "nvidia.com/gpu": 3, "amd.com/gpu": 1 });
  assert.deepEqual(a.labels, {
    "nvidia.com/gpu.count": "3",
    "nvidia.com/gpu.replicas": "1",
    "nvidia.com/gpu.sharing-strategy": "none",
    "nvidia.com/gpu.product": "A100-PCIe-40GB",
  });
  assert.deepEqual(gpuAdvert([nic]).resources, {});
  // nothing to identify: the resource but no feature discovery labels
  assert.deepEqual(gpuAdvert([{}]), { resources: { "nvidia.com/gpu": 1 }, labels: {} });
  assert.deepEqual(gpuAdvert([]), { resources: {}, labels: {} });
});

Deno.test("time-slicing multiplies the advertised count by the replicas and marks the product shared", () => {
  const sharing = { renameByDefault: false, resources: [{ name: "nvidia.com/gpu", replicas: 4 }] };
  const a = gpuAdvert([A100, A100], sharing);
  assert.deepEqual(a.resources, { "nvidia.com/gpu": 8 });
  assert.equal(a.labels["nvidia.com/gpu.count"], "2");
  assert.equal(a.labels["nvidia.com/gpu.replicas"], "4");
  assert.equal(a.labels["nvidia.com/gpu.sharing-strategy"], "time-slicing");
  assert.equal(a.labels["nvidia.com/gpu.product"], "A100-PCIe-40GB-SHARED");
  const renamed = gpuAdvert([A100], { renameByDefault: true, resources: sharing.resources });
  assert.deepEqual(renamed.resources, { "nvidia.com/gpu.shared": 4 });
  const custom = gpuAdvert([A100], {
    renameByDefault: false,
    resources: [{ name: "nvidia.com/gpu", replicas: 2, rename: "example.com/gpu-half" }],
  });
  assert.deepEqual(custom.resources, { "example.com/gpu-half": 2 });
});

Deno.test("a vGPU is labelled with its type's name", () => {
  assert.equal(productLabel("GRID T4-1B"), "GRID-T4-1B");
  assert.equal(productLabel("TU104GL [Tesla T4]"), "Tesla-T4");
});

Deno.test("the seed's NVIDIA device plugin config file gives the time-slicing settings", () => {
  const userData = `#cloud-config
write_files:
  - path: /etc/nvidia-device-plugin/config.yaml
    content: |
      version: v1
      sharing:
        timeSlicing:
          renameByDefault: false
          resources:
            - name: nvidia.com/gpu
              replicas: 3
            - name: broken
              replicas: zero
`;
  assert.deepEqual(parseSeed({ userData }).timeSlicing, {
    renameByDefault: false,
    resources: [{ name: "nvidia.com/gpu", replicas: 3 }],
  });
  assert.equal(parseSeed({ userData: "#cloud-config\nhostname: x\n" }).timeSlicing, undefined);
  assert.equal(readTimeSlicing({ version: "v1", flags: {} }), undefined);
});
