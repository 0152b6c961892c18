/**
 * A VM's allocatable is its size minus what its kubelet keeps back: kube-reserved and
 * system-reserved (`reserved`) and the hard eviction threshold for memory.available
 * (`evictionHardMemory`, the kubelet's default 100Mi). A pod that asks for the last 100Mi of a
 * shape must get the next shape: on the smaller one the kubelet does not admit it, the VM stays
 * empty, is consolidated, and the same launch comes back on the next pass
 * (tests/e2e_scheduling_property_test.ts keeps the loop the long run found).
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { GiB, MiB } from "./quantity.ts";
import { allocatable, cheapestShape, kubeletKeeps } from "./shapes.ts";
import { snapshotOf, testConfig, testPod, testTemplate } from "./testing/arbitraries.ts";

const COST = { perVcpuHour: 0.02, perGiBHour: 0.0025 };

/** A pending pod asking 0.5 vCPU and `memory` bytes. */
const asking = (memory: number) =>
  testPod("web-0", undefined, {
    containers: [{ cpu: 500, memory }],
    unschedulable: true,
  });

Deno.test("the eviction threshold is kept back on top of the reservations", () => {
  const t = testTemplate({ evictionHardMemory: 100 * MiB });
  assert.deepEqual(kubeletKeeps(t), { cpu: 100, memory: 356 * MiB });
  assert.deepEqual(allocatable(t, { cpu: 2000, memory: 4 * GiB }), {
    cpu: 1900,
    memory: 4 * GiB - 356 * MiB,
  });
  // Without a threshold the reservations alone (a template built in code, the simulator's).
  assert.deepEqual(kubeletKeeps(testTemplate()), { cpu: 100, memory: 256 * MiB });
});

Deno.test("a pod asking for the threshold's share of a shape gets the next shape", () => {
  const withThreshold = testTemplate({ evictionHardMemory: 100 * MiB });
  // 4Gi - 256Mi reserved = 3840Mi, but the kubelet also keeps 100Mi: 3740Mi allocatable.
  for (const [memory, shape] of [[3740 * MiB, "2c-4Gi"], [3741 * MiB, "4c-8Gi"]] as const) {
    assert.equal(
      cheapestShape(withThreshold, { cpu: 500, memory }, COST)?.name,
      shape,
      `${memory / MiB}Mi`,
    );
    const plan = provision(
      snapshotOf({ pods: [asking(memory)] }),
      testConfig({ machineTemplates: [{ ...withThreshold, name: "tpl" }] }),
    );
    assert.deepEqual(plan.claims.map((c) => c.shape.name), [shape], `${memory / MiB}Mi`);
  }
  // The same 3840Mi pod: the small shape without the threshold, the next one with it.
  const without = provision(snapshotOf({ pods: [asking(3840 * MiB)] }), testConfig());
  assert.deepEqual(without.claims.map((c) => c.shape.name), ["2c-4Gi"]);
  const withIt = provision(
    snapshotOf({ pods: [asking(3840 * MiB)] }),
    testConfig({ machineTemplates: [withThreshold] }),
  );
  assert.deepEqual(withIt.claims.map((c) => c.shape.name), ["4c-8Gi"]);
});

Deno.test("the sum is kept per template and follows a replaced reserved", () => {
  const t = testTemplate({ evictionHardMemory: 100 * MiB });
  assert.equal(kubeletKeeps(t), kubeletKeeps(t), "one object per template, not one per call");
  t.reserved = { cpu: 200, memory: 512 * MiB };
  assert.deepEqual(kubeletKeeps(t), { cpu: 200, memory: 612 * MiB });
  t.evictionHardMemory = 0;
  assert.equal(kubeletKeeps(t), t.reserved);
});
