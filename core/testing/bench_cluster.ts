/**
 * The provisioning benchmark's cluster: Karpenter's scheduling-benchmark pod mix (plain, node
 * affinity/selector, tolerations, hostname anti-affinity, hostname spread, zone spread) over
 * 10 NodePools and 8 VM shapes, with 500 existing nodes. Deterministic for a seed.
 */
import type { Config, Host, MachineTemplate, Node, NodePool, Pod, Snapshot } from "../model.ts";
import { GiB, MiB } from "../quantity.ts";
import { seededRng } from "./rng.ts";
import { sizeName } from "../shapes.ts";
import { testConfig, testPool, testTemplate } from "./arbitraries.ts";

const SHAPES: [number, number][] = [[2, 4], [2, 8], [4, 8], [4, 16], [8, 16], [8, 32], [16, 64], [
  32,
  128,
]];
const ZONES = ["rack-a", "rack-b", "rack-c"];

function template(name: string): MachineTemplate {
  return testTemplate({
    name,
    provider: "bench",
    shapes: SHAPES.map(([c, m]) => ({
      name: sizeName(c * 1000, m * GiB),
      cpu: c * 1000,
      memory: m * GiB,
    })),
    vmMemOverhead: 512 * MiB,
    reserved: { cpu: 100, memory: 512 * MiB },
    source: { kind: "clone", templateVmid: 9000, full: false },
  });
}

function pool(i: number): NodePool {
  return testPool(`pool-${i}`, {
    machineTemplate: "bench",
    weight: 100 - i,
    labels: { "bench/pool-group": `g${i % 5}` },
    taints: i >= 7 ? [{ key: "dedicated", value: `team-${i}`, effect: "NoSchedule" }] : [],
    limits: { cpu: 200_000_000, memory: 800_000 * GiB },
    scaleUp: { batchSize: 100_000, stabilizationWindow: 0, maxConcurrent: 100_000 },
  });
}

/** Config for the benchmark: one provider with 60 large hosts over three zones. */
export function benchConfig(): Config {
  const t = template("bench");
  t.shapes.sort((a, b) =>
    a.cpu / 1000 * 0.02 + a.memory / GiB * 0.0025 - (b.cpu / 1000 * 0.02 + b.memory / GiB * 0.0025)
  );
  const base = testConfig();
  return {
    ...base,
    providers: [{
      ...base.providers[0]!,
      name: "bench",
      vmidRange: { lower: 100, upper: 999_999 },
    }],
    machineTemplates: [t],
    nodePools: Array.from({ length: 10 }, (_, i) => pool(i)),
  };
}

/**
 * A snapshot with `pods` pending pods in the six-way mix and 500 existing nodes, on `hosts`
 * Proxmox hosts (60 by default: about 50,000 pods fill them; 600 leave room for 100,000).
 */
export function benchSnapshot(pods: number, seed = 1, hostCount = 60): Snapshot {
  const rng = seededRng(seed);
  const now = 1_700_000_000_000;
  const hosts: Host[] = Array.from({ length: hostCount }, (_, i) => ({
    name: `pve${i}`,
    provider: "bench",
    zone: ZONES[i % ZONES.length]!,
    online: true,
    capacity: { cpu: 256_000, memory: 2048 * GiB },
    cpuOvercommit: 4,
    memoryOvercommit: 1,
    reserved: { cpu: 2000, memory: 16 * GiB },
    committed: { cpu: 0, memory: 0 },
  }));
  const nodes: Node[] = [];
  const all: Pod[] = [];
  for (let i = 0; i < 500; i++) {
    const name = `existing-${i}`;
    nodes.push({
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "topology.kubernetes.io/zone": ZONES[i % ZONES.length]!,
        "proxscale.io/nodepool": `pool-${i % 7}`,
        "bench/pool-group": `g${i % 5}`,
        "kubernetes.io/arch": "amd64",
      },
      allocatable: { cpu: 3900, memory: 7 * GiB, pods: 110 },
      ready: true,
      createdAt: now - 86_400_000,
    });
    for (let j = 0; j < 3; j++) {
      all.push({
        uid: `run-${i}-${j}`,
        name: `run-${i}-${j}`,
        namespace: "default",
        labels: { app: `svc-${(i + j) % 40}` },
        nodeName: name,
        phase: "Running",
        createdAt: now - 3_600_000,
        containers: [{ cpu: rng.int(100, 1000), memory: rng.int(100, 1500) * MiB }],
      });
    }
  }
  for (let i = 0; i < pods; i++) {
    const kind = i % 6;
    const app = `app-${kind}-${i % 50}`;
    const pod: Pod = {
      uid: `pod-${i}`,
      name: `pod-${i}`,
      namespace: "default",
      labels: { app },
      phase: "Pending",
      unschedulable: true,
      createdAt: now - 1000,
      containers: [{ cpu: rng.int(100, 1500), memory: rng.int(100, 4096) * MiB }],
    };
    if (kind === 1) {
      if (i % 2) pod.nodeSelector = { "bench/pool-group": `g${i % 5}` };
      else {
        pod.requiredNodeAffinity = [{
          matchExpressions: [{
            key: "topology.kubernetes.io/zone",
            operator: "In",
            values: [ZONES[i % 3]!, ZONES[(i + 1) % 3]!],
          }],
        }];
      }
    } else if (kind === 2) {
      pod.tolerations = [{
        key: "dedicated",
        operator: "Equal",
        value: `team-${7 + (i % 3)}`,
        effect: "NoSchedule",
      }];
      pod.nodeSelector = { "proxscale.io/nodepool": `pool-${7 + (i % 3)}` };
    } else if (kind === 3) {
      pod.requiredPodAntiAffinity = [{
        topologyKey: "kubernetes.io/hostname",
        labelSelector: { matchLabels: { app } },
      }];
    } else if (kind === 4) {
      pod.topologySpreadConstraints = [{
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app } },
      }];
    } else if (kind === 5) {
      pod.topologySpreadConstraints = [{
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app } },
      }];
    }
    all.push(pod);
  }
  return { now, pods: all, nodes, nodeClaims: [], hosts, vms: [], pdbs: [] };
}
