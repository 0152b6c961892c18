import assert from "node:assert/strict";
import {
  describeAsk,
  devicesLeft,
  gpuUnitsFromShape,
  mostOffered,
  offeredExtended,
  servesAsk,
  takeDevices,
} from "./gpus.ts";
import type { HostDevices } from "./model.ts";
import { GiB } from "./quantity.ts";
import { testTemplate } from "./testing/arbitraries.ts";

const A100: HostDevices = { mapping: "a100", model: "GA100 [A100 PCIe 40GB]", free: 2 };
const T4: HostDevices = {
  mapping: "t4",
  model: "TU104GL [Tesla T4]",
  free: 1,
  mdev: { "nvidia-222": 16 },
};

Deno.test("an ask is served by its mapping, or by any mapping whose device model contains the asked model", () => {
  assert.equal(servesAsk(A100, { count: 1, mapping: "a100" }), true);
  assert.equal(servesAsk(A100, { count: 1, mapping: "t4" }), false);
  assert.equal(servesAsk(T4, { count: 1, model: "tesla t4" }), true);
  assert.equal(servesAsk(A100, { count: 1, model: "T4" }), false);
  assert.equal(servesAsk(T4, { count: 1, model: "T4", mdev: "nvidia-222" }), true);
  assert.equal(servesAsk(A100, { count: 1, mapping: "a100", mdev: "nvidia-222" }), false);
});

Deno.test("devices left count planned uses per mapping, and per mdev type for mediated devices", () => {
  const planned = new Map([["a100", 1], ["t4/nvidia-222", 15]]);
  assert.equal(devicesLeft(A100, { count: 1, mapping: "a100" }, planned), 1);
  assert.equal(devicesLeft(T4, { count: 1, mdev: "nvidia-222" }, planned), 1);
  assert.equal(takeDevices([T4, A100], { count: 2, mapping: "a100" }, planned), undefined);
  assert.equal(takeDevices([T4, A100], { count: 1, model: "A100" }, planned), A100);
  assert.equal(
    describeAsk({ count: 2, model: "T4", mdev: "nvidia-222" }),
    "2 GPUs of model 'T4' as mdev nvidia-222",
  );
});

Deno.test("a shape's GPUs are offered as the template's resource, times its time-slicing replicas", () => {
  const shape = { name: "g", cpu: 8000, memory: 32 * GiB, gpus: { count: 2, mapping: "a100" } };
  const t = testTemplate({
    shapes: [shape],
    gpu: { resourceName: "nvidia.com/gpu", replicas: 3 },
    extendedResources: { "hugepages-2Mi": 1 },
  });
  assert.deepEqual(offeredExtended(t, shape), { "hugepages-2Mi": 1, "nvidia.com/gpu": 6 });
  assert.deepEqual(mostOffered(t), { "hugepages-2Mi": 1, "nvidia.com/gpu": 6 });
  // The older spelling (every VM of the template has one GPU) is not asked of a shape again.
  const old = testTemplate({ extendedResources: { "nvidia.com/gpu": 1 } });
  assert.equal(gpuUnitsFromShape(old, { "nvidia.com/gpu": 1 }), 0);
  assert.equal(gpuUnitsFromShape(t, { "nvidia.com/gpu": 4 }), 4);
});
