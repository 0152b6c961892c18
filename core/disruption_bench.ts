/**
 * `disruption 1000 nodes`: one full disruption pass over 1000 managed nodes running 30 pods each
 * (30,000 pods), every candidate evaluated: a rescheduling simulation for each non-empty node,
 * plus emptiness, drift, multi-node and single-node consolidation with budgets and PDBs.
 * Goal: under 1 s on a 2-core machine. Run: npx -y deno@2.9.6 bench -A --frozen core/disruption_bench.ts
 */
import { disrupt } from "./disruption.ts";
import type { Pod, PodDisruptionBudget, Snapshot } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import { managedNode, snapshotOf, T0, testConfig, testPool } from "./testing/arbitraries.ts";

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same cluster. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 1000 nodes of 8 vCPU / 16 GiB, 30 pods each; some lightly used, some drifted. */
export function benchCluster(nodes = 1000, podsPerNode = 30): Snapshot {
  const rand = rng(42);
  const snap = snapshotOf();
  const shape = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
  let seq = 0;
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(4, "0")}`;
    const m = managedNode(name, "general", {
      shape,
      zone: `zone-${i % 3}`,
      drifted: i % 50 === 7,
    });
    snap.nodes.push(m.node);
    snap.nodeClaims.push(m.claim);
    // One node in ten runs small pods only and is a consolidation candidate.
    const light = i % 10 === 3;
    for (let k = 0; k < podsPerNode; k++) {
      seq += 1;
      const app = `app-${seq % 60}`;
      const pod: Pod = {
        uid: `uid-${seq}`,
        name: `${app}-${seq}`,
        namespace: k === 0 ? "kube-system" : "default",
        labels: { app },
        nodeName: name,
        phase: "Running",
        createdAt: T0 - 3_600_000 - Math.floor(rand() * 3_600_000),
        containers: [{
          cpu: light ? 10 + Math.floor(rand() * 20) : 100 + Math.floor(rand() * 150),
          memory: (light ? 16 : 192 + Math.floor(rand() * 192)) * MiB,
        }],
        ownerKind: k === 0 ? "DaemonSet" : "ReplicaSet",
        ownerName: `${app}-rs`,
      };
      snap.pods.push(pod);
    }
  }
  snap.pdbs = Array.from({ length: 20 }, (_, i): PodDisruptionBudget => ({
    name: `pdb-${i}`,
    namespace: "default",
    selector: { matchLabels: { app: `app-${i * 3}` } },
    disruptionsAllowed: 100 + (i % 3) * 50,
  }));
  return snap;
}

const snapshot = benchCluster();
const config = testConfig({
  nodePools: [testPool("general", {
    scaleDown: { maxConcurrent: 50, drainTimeout: 600_000, stabilizationWindow: 0 },
  })],
});
config.nodePools[0]!.disruption.budgets = [{ nodes: "10%" }];

Deno.bench("disruption 1000 nodes", () => {
  const plan = disrupt(snapshot, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});

// The same cluster where one deployment in sixty (500 pods) keeps one replica per node with
// required hostname anti-affinity: every node running one of them needs topology in its simulation.
const spread = structuredClone(snapshot);
for (const p of spread.pods) {
  if (p.labels?.app === "app-5") {
    p.requiredPodAntiAffinity = [{
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: { app: "app-5" } },
    }];
  }
}

Deno.bench("disruption 1000 nodes, one anti-affinity deployment", () => {
  const plan = disrupt(spread, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});

// The same cluster with 20 nodes already tainted as disrupted (their 580 pods still running,
// about to be drained) and 30 pending pods: all of them are placed first, by the provisioning
// core over the whole cluster, before any candidate is simulated.
const busy = structuredClone(snapshot);
for (const n of busy.nodes) {
  if (Number(n.name.slice(5)) % 50 === 11) {
    n.taints = [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }];
  }
}
for (let i = 0; i < 30; i++) {
  busy.pods.push({
    uid: `pending-${i}`,
    name: `web-${i}`,
    namespace: "default",
    labels: { app: "web" },
    phase: "Pending",
    unschedulable: true,
    createdAt: T0 - 10_000,
    pendingSince: T0 - 10_000,
    containers: [{ cpu: 200, memory: 256 * MiB }],
    ownerKind: "ReplicaSet",
    ownerName: "web-rs",
  });
}

Deno.bench("disruption 1000 nodes, 20 being disrupted and 30 pods pending", () => {
  const plan = disrupt(busy, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});
