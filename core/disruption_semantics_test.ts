/**
 * Table of disruption cases for Karpenter's semantics: PDBs block only at zero allowed,
 * expiry and drift become forceful past terminationGracePeriod, consolidateAfter counts from
 * the last pod event, a removed NodePool's claims are replaced within a default budget, a
 * minimum savings fraction, local volumes, DaemonSet overhead, extended resources and node
 * health. Each row names the nodes it expects disrupted and the reason code of each node kept.
 */
import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import type { Config, NodePool, Pod, PodDisruptionBudget, Snapshot } from "./model.ts";
import { GiB } from "./quantity.ts";
import {
  managedNode,
  snapshotOf,
  T0,
  testConfig,
  testPod,
  testPool,
} from "./testing/arbitraries.ts";
import type { DisruptionState } from "./disruption_plan.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };
const BIG = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
type Managed = ReturnType<typeof managedNode>;

function pool(
  disruption: Partial<NodePool["disruption"]> = {},
  over: Partial<NodePool> = {},
): NodePool {
  const base = testPool("general", over);
  return { ...base, disruption: { ...base.disruption, ...disruption } };
}

const webPdb = (allowed: number): PodDisruptionBudget => ({
  name: "web",
  namespace: "default",
  selector: { matchLabels: { app: "web" } },
  disruptionsAllowed: allowed,
});

type Case = {
  name: string;
  nodes: Managed[];
  pods: Pod[];
  extra?: Partial<Snapshot>;
  config?: Config;
  state?: DisruptionState;
  /** Nodes the plan removes, and the reason code of its command for each. */
  disrupted: Record<string, string>;
  /** Nodes kept, with the reason code of their verdict. */
  kept?: Record<string, string>;
  /** Pod name -> the node its eviction sends it to. */
  movedTo?: Record<string, string>;
};

const a = () => managedNode("a", "general");
const roomy = () => managedNode("b", "general", { shape: BIG });
const expired = (over: Partial<Managed["claim"]> = {}) =>
  managedNode("a", "general", { createdAt: T0 - 48 * 3_600_000, claim: over });
const dnd = (name: string, node: string) =>
  testPod(name, node, { annotations: { "karpenter.sh/do-not-disrupt": "true" } });
const drifted = () => managedNode("a", "general", { drifted: true });
const driftedAt = T0 - 3_600_000 + 120_000;

const CASES: Case[] = [
  {
    name:
      "a PDB that allows one eviction now lets a node with three of its pods go (the drain is paced)",
    nodes: [a(), roomy()],
    pods: ["web-1", "web-2", "web-3"].map((n) => testPod(n, "a")),
    extra: { pdbs: [webPdb(1)] },
    disrupted: { a: "Underutilized" },
  },
  {
    name: "a PDB that allows zero evictions now blocks the node",
    nodes: [a(), roomy()],
    pods: ["web-1", "web-2", "web-3"].map((n) => testPod(n, "a")),
    extra: { pdbs: [webPdb(0)] },
    disrupted: {},
    kept: { a: "PdbBlocked" },
  },
  {
    name: "an expired node with a do-not-disrupt pod waits while inside terminationGracePeriod",
    nodes: [expired(), roomy()],
    pods: [dnd("web-1", "a")],
    config: testConfig({
      nodePools: [pool({ expireAfter: 24 * 3_600_000, terminationGracePeriod: 48 * 3_600_000 })],
    }),
    disrupted: {},
    kept: { a: "DoNotDisrupt" },
  },
  {
    name: "past terminationGracePeriod expiry is forceful: do-not-disrupt no longer holds the node",
    nodes: [expired(), roomy()],
    pods: [dnd("web-1", "a")],
    config: testConfig({
      nodePools: [pool({ expireAfter: 24 * 3_600_000, terminationGracePeriod: 600_000 })],
    }),
    disrupted: { a: "Expired" },
  },
  {
    name: "past terminationGracePeriod drift is forceful: a PDB at zero no longer holds the node",
    nodes: [drifted(), roomy()],
    pods: [testPod("web-1", "a")],
    extra: { pdbs: [webPdb(0)] },
    config: testConfig({ nodePools: [pool({ terminationGracePeriod: T0 - driftedAt - 1 })] }),
    disrupted: { a: "Drifted" },
  },
  {
    name: "consolidateAfter counts from the pod's bind, not its creation",
    nodes: [a(), roomy()],
    pods: [testPod("web-1", "a", { boundAt: T0 - 30_000 })],
    config: testConfig({ nodePools: [pool({ consolidateAfter: 60_000 })] }),
    disrupted: {},
    kept: { a: "StabilizationWindow" },
  },
  {
    name: "a pod bound longer than consolidateAfter ago lets the node consolidate",
    nodes: [a(), roomy()],
    pods: [testPod("web-1", "a", { boundAt: T0 - 120_000 })],
    config: testConfig({ nodePools: [pool({ consolidateAfter: 60_000 })] }),
    disrupted: { a: "Underutilized" },
  },
  {
    name: "a pod leaving the node since the last pass restarts consolidateAfter",
    nodes: [a(), roomy()],
    pods: [testPod("web-1", "a", { boundAt: T0 - 3_600_000 })],
    config: testConfig({ nodePools: [pool({ consolidateAfter: 60_000 })] }),
    state: { unneededSince: {}, podEvents: { "a-claim": { pods: "other", at: T0 - 3_600_000 } } },
    disrupted: {},
    kept: { a: "StabilizationWindow" },
  },
  {
    name: "the claims of a removed NodePool are replaced with reason NodePoolRemoved",
    nodes: [managedNode("a", "retired"), roomy()],
    pods: [testPod("web-1", "a")],
    disrupted: { a: "NodePoolRemoved" },
  },
  {
    name: "a removed NodePool's claims go 10% at a time",
    nodes: [
      ...Array.from(
        { length: 20 },
        (_, i) => managedNode(`r${String(i).padStart(2, "0")}`, "retired"),
      ),
      roomy(),
    ],
    pods: Array.from(
      { length: 20 },
      (_, i) => testPod(`web-${i}`, `r${String(i).padStart(2, "0")}`),
    ),
    disrupted: { r00: "NodePoolRemoved", r01: "NodePoolRemoved" },
  },
  {
    name: "a replacement that saves less than minSavingsFraction is not worth its churn",
    nodes: [managedNode("a", "general", { shape: BIG })],
    pods: [testPod("web-1", "a")],
    config: testConfig({ nodePools: [pool({ minSavingsFraction: 0.8 })] }),
    disrupted: {},
    kept: { a: "InsufficientSavings" },
  },
  {
    name: "a replacement that saves more than minSavingsFraction goes ahead",
    nodes: [managedNode("a", "general", { shape: BIG })],
    pods: [testPod("web-1", "a")],
    config: testConfig({ nodePools: [pool({ minSavingsFraction: 0.5 })] }),
    disrupted: { a: "Underutilized" },
  },
  {
    name: "a pod pinned by a local volume keeps its node",
    nodes: [a(), roomy()],
    pods: [testPod("db-0", "a", { volumePinned: true, ownerKind: "StatefulSet" })],
    disrupted: {},
    kept: { a: "VolumePinned" },
  },
  {
    name: "a pool whose storage is replicated lets a volume-pinned pod move",
    nodes: [a(), roomy()],
    pods: [testPod("db-0", "a", { volumePinned: true, ownerKind: "StatefulSet" })],
    config: testConfig({ nodePools: [pool({}, { storageReplicated: true })] }),
    disrupted: { a: "Underutilized" },
  },
  {
    name:
      "DaemonSet overhead sizes the replacement: a 1.7 vCPU pod with a 300m DaemonSet needs 4 vCPU, so no saving",
    nodes: [a()],
    pods: [testPod("big-1", "a", { containers: [{ cpu: 1700, memory: GiB }] })],
    extra: {
      daemonSets: [
        testPod("agent", undefined, {
          containers: [{ cpu: 300, memory: 0 }],
          ownerKind: "DaemonSet",
        }),
      ],
    },
    disrupted: {},
    kept: { a: "Unconsolidatable" },
  },
  {
    name: "without the DaemonSet the same pod is moved to a cheaper 2-vCPU replacement",
    nodes: [a()],
    pods: [testPod("big-1", "a", { containers: [{ cpu: 1700, memory: GiB }] })],
    disrupted: { a: "Underutilized" },
  },
  {
    name: "a GPU pod is not moved onto a node without a GPU",
    nodes: [
      managedNode("a", "general", {
        shape: SMALL,
        node: {
          allocatable: { cpu: 1900, memory: 3 * GiB, pods: 110, extended: { "nvidia.com/gpu": 1 } },
        },
      }),
      roomy(),
    ],
    pods: [
      testPod("train-1", "a", {
        containers: [{ cpu: 500, memory: GiB, extended: { "nvidia.com/gpu": 1 } }],
      }),
    ],
    disrupted: {},
    kept: { a: "Unconsolidatable" },
  },
  {
    name: "a NotReady node's room is not a destination for consolidation",
    nodes: [
      managedNode("a", "general", { shape: SMALL }),
      managedNode("b", "general", { shape: BIG, node: { ready: false } }),
    ],
    pods: [testPod("web-1", "a")],
    disrupted: {},
    kept: { a: "Unconsolidatable" },
  },
  {
    name: "a pod with required pod affinity moves only next to a pod it selects",
    nodes: [a(), roomy(), managedNode("c", "general", { shape: BIG })],
    pods: [
      testPod("web-1", "a", {
        requiredPodAffinity: [{
          topologyKey: "kubernetes.io/hostname",
          labelSelector: { matchLabels: { app: "cache" } },
        }],
      }),
      testPod("cache-1", "c", {
        labels: { app: "cache" },
        containers: [{ cpu: 5000, memory: GiB }],
      }),
    ],
    disrupted: { a: "Underutilized" },
    movedTo: { "web-1": "c" },
  },
];

for (const c of CASES) {
  Deno.test(c.name, () => {
    // Node b, when present, is needed by a big pod and has room for 1.9 vCPU more.
    const keeper = c.nodes.some((n) => n.node.name === "b")
      ? [testPod("keeper-1", "b", { containers: [{ cpu: 6000, memory: 8 * GiB }] })]
      : [];
    const snapshot = snapshotOf({
      nodes: c.nodes.map((n) => n.node),
      nodeClaims: c.nodes.map((n) => n.claim),
      pods: [...c.pods, ...keeper],
      ...c.extra,
    });
    const plan = disrupt(snapshot, c.config ?? testConfig({ nodePools: [pool()] }), c.state);
    const got: Record<string, string> = {};
    for (const cmd of plan.commands) for (const n of cmd.candidates) got[n.node] = cmd.reason.code;
    assert.deepEqual(got, c.disrupted, JSON.stringify(plan.verdicts.filter((v) => !v.disrupt)));
    for (const [pod, node] of Object.entries(c.movedTo ?? {})) {
      const e = plan.commands.flatMap((x) => x.evictions).find((x) => x.pod === `default/${pod}`);
      assert.equal(e?.to, node, `${pod} moves to ${node}`);
    }
    for (const [node, code] of Object.entries(c.kept ?? {})) {
      const v = plan.verdicts.find((x) => x.node === node);
      assert.ok(v && !v.disrupt, `${node} is kept`);
      assert.equal(v.reason.code, code, v.reason.message);
    }
  });
}
