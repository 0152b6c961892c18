/**
 * The disruption benchmark's cluster: managed nodes of 8 vCPU / 16 GiB running 30 pods each
 * (one DaemonSet pod per node, 60 deployments, 20 PodDisruptionBudgets); one node in ten runs
 * small pods only (a consolidation candidate), one in fifty is drifted. Deterministic.
 *
 * May import: core/ and core/testing/.
 */
import type { Config, Pod, PodDisruptionBudget, Snapshot } from "../model.ts";
import { GiB, MiB } from "../quantity.ts";
import { managedNode, snapshotOf, T0, testConfig, testPool } from "./arbitraries.ts";
import { seededRng } from "./rng.ts";

/** `nodes` managed nodes of 8 vCPU / 16 GiB with `podsPerNode` pods each; some light, some drifted. */
export function disruptionBenchCluster(nodes = 1000, podsPerNode = 30): Snapshot {
  const rand = seededRng(42).next;
  const snap = snapshotOf();
  const shape = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
  const width = Math.max(4, String(nodes - 1).length);
  let seq = 0;
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(width, "0")}`;
    const m = managedNode(name, "general", {
      shape,
      zone: `zone-${i % 3}`,
      drifted: i % 50 === 7,
    });
    snap.nodes.push(m.node);
    snap.nodeClaims.push(m.claim);
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

/** The benchmark's config: one pool `general`, budget 10 %, scaleDown.maxConcurrent 50. */
export function disruptionBenchConfig(): Config {
  const config = testConfig({
    nodePools: [testPool("general", {
      scaleDown: { maxConcurrent: 50, drainTimeout: 600_000, stabilizationWindow: 0 },
    })],
  });
  config.nodePools[0]!.disruption.budgets = [{ nodes: "10%" }];
  return config;
}

/**
 * The 1000-node cluster with 20 nodes already tainted as disrupted (their pods still running)
 * and 30 pending pods.
 */
export function disruptionBusyCluster(base: Snapshot): Snapshot {
  const busy = structuredClone(base);
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
  return busy;
}
