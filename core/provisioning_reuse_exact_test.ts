/**
 * Answers provisioning reuses between pods of one class (where a new node may go, why no claim
 * can open) are the answers working them out again would give: a placement or a growth that can
 * change them is never missed. Each case is built so that a stale answer decides differently,
 * and is checked against the frozen reference core too.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { referenceProvision } from "./testing/provisioning_reference.ts";
import { snapshotOf, testConfig, testHost, testPool, testTemplate } from "./testing/arbitraries.ts";
import type { Pod, PodAffinityTerm } from "./model.ts";
import { GiB } from "./quantity.ts";
import { ZONE_KEY } from "./topology.ts";

function pending(name: string, app: string, cpu: number, memory: number, over: Partial<Pod> = {}) {
  return {
    uid: `uid-${name}`,
    name,
    namespace: "default",
    labels: { app },
    phase: "Pending" as const,
    unschedulable: true,
    createdAt: 1,
    containers: [{ cpu, memory }],
    ...over,
  };
}

function avoid(app: string, topologyKey: string): PodAffinityTerm[] {
  return [{ topologyKey, labelSelector: { matchLabels: { app } } }];
}

Deno.test("a pod placed later with anti-affinity against a class keeps that class's next claim out of its zone", () => {
  const config = testConfig({
    machineTemplates: [testTemplate({ shapes: [{ name: "4c-8Gi", cpu: 4000, memory: 8 * GiB }] })],
  });
  // Host pve2 is busier at first, so web-1 goes to pve1; after one VM on each, pve2 has more
  // room left, so only the guard's anti-affinity keeps web-2 off it.
  const snapshot = snapshotOf({
    hosts: [
      testHost("pve1", "zone-a", { capacity: { cpu: 10_000, memory: 1024 * GiB } }),
      testHost("pve2", "zone-b", {
        capacity: { cpu: 100_000, memory: 1024 * GiB },
        committed: { cpu: 45_000, memory: 0 },
      }),
    ],
    pods: [
      pending("web-1", "web", 3000, GiB),
      pending("guard", "guard", 2800, GiB, { requiredPodAntiAffinity: avoid("web", ZONE_KEY) }),
      pending("web-2", "web", 2500, GiB),
    ],
  });
  const plan = provision(snapshot, config);
  const hostOf = (pod: string) => plan.claims.find((c) => c.pods.includes(`default/${pod}`))?.host;
  assert.equal(hostOf("web-1"), "pve1");
  assert.equal(hostOf("guard"), "pve2");
  assert.equal(hostOf("web-2"), "pve1");
  assert.deepEqual(plan, referenceProvision(snapshot, config));
});

Deno.test("a refusal kept for a class follows the pool limit that claims growing since have reached", () => {
  const template = testTemplate({
    shapes: [
      { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB },
      { name: "4c-16Gi", cpu: 4000, memory: 16 * GiB },
      { name: "6c-17Gi", cpu: 6000, memory: 17 * GiB },
    ],
  });
  const config = testConfig({
    machineTemplates: [template],
    nodePools: [testPool("general", { limits: { memory: 24 * GiB } })],
  });
  // One host: after the first small VM it cannot take a 4c-16Gi VM, but that VM can still grow.
  // The "big" pods keep off the base pod's node and are refused; the fillers grow that claim
  // twice, past the point where the pool limit refuses a 4c-16Gi VM before the host does.
  const snapshot = snapshotOf({
    hosts: [testHost("pve1", "zone-a", { capacity: { cpu: 100_000, memory: 20 * GiB } })],
    pods: [
      pending("base", "base", 1500, GiB),
      pending("big-1", "big", 1000, 10 * GiB, {
        requiredPodAntiAffinity: avoid("base", "kubernetes.io/hostname"),
      }),
      pending("filler-1", "filler", 900, 3 * GiB),
      pending("big-2", "big", 800, 10 * GiB, {
        requiredPodAntiAffinity: avoid("base", "kubernetes.io/hostname"),
      }),
      pending("filler-2", "filler-2", 700, 12 * GiB),
      pending("big-3", "big", 600, 10 * GiB, {
        requiredPodAntiAffinity: avoid("base", "kubernetes.io/hostname"),
      }),
    ],
  });
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 1);
  assert.equal(plan.claims[0]!.shape.name, "6c-17Gi");
  assert.equal(plan.unhelped.length, 3);
  for (const u of plan.unhelped) {
    assert.equal(u.reason.code, "PoolLimitReached");
    // The usage the refusal names is the pool's after both growths (6c-17Gi plus overhead).
    assert.match(u.reason.message, /in use 17\.25Gi/);
  }
  assert.deepEqual(plan, referenceProvision(snapshot, config));
});
