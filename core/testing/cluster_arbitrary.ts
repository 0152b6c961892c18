/**
 * fast-check generators of small but awkward clusters for the provisioning properties: a few
 * pools with taints, labels, limits and scale-up caps; templates with fixed and flexible shapes;
 * hosts in zones; existing nodes with bound pods; launching claims; pending pods with
 * selectors, tolerations, anti-affinity and spread.
 */
import fc from "fast-check";
import type {
  Config,
  Host,
  MachineTemplate,
  Node,
  NodeClaim,
  NodePool,
  Pod,
  Snapshot,
  Taint,
} from "../model.ts";
import { GiB, MiB } from "../quantity.ts";
import { sizeName } from "../shapes.ts";
import { shapeCost } from "../cost.ts";
import { testConfig, testPool, testTemplate } from "./arbitraries.ts";

export const ZONES = ["z1", "z2", "z3"] as const;
const COST = { perVcpuHour: 0.02, perGiBHour: 0.0025 };

export type Cluster = { snapshot: Snapshot; config: Config };

/** Mostly null: constraints are the exception in real clusters, and every run should decide something. */
function rarely<T>(arb: fc.Arbitrary<T>, weight = 3): fc.Arbitrary<T | null> {
  return fc.oneof({ weight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}
const sometimes = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, {
  weight: 1,
  arbitrary: fc.constant(true),
});

const taintArb: fc.Arbitrary<Taint | null> = rarely(
  fc.constantFrom<Taint>({ key: "team", value: "a", effect: "NoSchedule" }, {
    key: "gpu",
    effect: "NoExecute",
  }),
);

const poolArb = fc.record({
  weight: fc.integer({ min: 1, max: 100 }),
  taint: taintArb,
  group: fc.constantFrom("blue", "green"),
  zoneReq: rarely(fc.constantFrom(...ZONES)),
  cpuLimit: fc.option(fc.integer({ min: 2, max: 64 }), { nil: null }),
  memLimitGi: fc.option(fc.integer({ min: 4, max: 256 }), { nil: null }),
  nodeLimit: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }),
  batchSize: fc.integer({ min: 1, max: 10 }),
  maxConcurrent: fc.integer({ min: 1, max: 10 }),
  shapes: fc.uniqueArray(fc.tuple(fc.constantFrom(1, 2, 4, 8), fc.constantFrom(2, 4, 8, 16, 32)), {
    minLength: 0,
    maxLength: 4,
    selector: ([c, m]) => `${c}/${m}`,
  }),
  flexible: fc.boolean(),
  overheadMiB: fc.constantFrom(0, 256, 512, 1024),
  reservedCpu: fc.constantFrom(0, 100, 250),
});

const podArb = fc.record({
  cpu: fc.integer({ min: 0, max: 6000 }),
  memMiB: fc.integer({ min: 0, max: 12 * 1024 }),
  app: fc.constantFrom("a", "b", "c"),
  selectGroup: rarely(fc.constantFrom("blue", "green")),
  zoneIn: rarely(fc.constantFrom(...ZONES)),
  tolerate: rarely(fc.constantFrom("team", "gpu", "all"), 2),
  antiHost: sometimes,
  antiZone: sometimes,
  spread: rarely(fc.constantFrom("kubernetes.io/hostname", "topology.kubernetes.io/zone")),
  age: fc.integer({ min: 0, max: 120_000 }),
});

const hostArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  cores: fc.integer({ min: 2, max: 64 }),
  memGi: fc.integer({ min: 4, max: 256 }),
  overcommit: fc.constantFrom(1, 1.5, 2),
  committedCpu: fc.integer({ min: 0, max: 16 }),
  committedGi: fc.integer({ min: 0, max: 64 }),
  online: fc.boolean().map((b) => b || true),
});

const nodeArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  group: fc.constantFrom("blue", "green"),
  cpu: fc.integer({ min: 500, max: 8000 }),
  memGi: fc.integer({ min: 1, max: 32 }),
  tainted: sometimes,
  boundCpu: fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 3 }),
});

/** A random small cluster with its configuration. `pendingMax` bounds the pending pods. */
export function clusterArb(pendingMax = 30): fc.Arbitrary<Cluster> {
  return fc.record({
    pools: fc.array(poolArb, { minLength: 1, maxLength: 3 }),
    hosts: fc.array(hostArb, { minLength: 1, maxLength: 4 }),
    nodes: fc.array(nodeArb, { maxLength: 4 }),
    inflight: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
    pods: fc.array(podArb, { maxLength: pendingMax }),
    daemonSetCpu: fc.option(fc.integer({ min: 10, max: 200 }), { nil: null }),
    stabilization: fc.constantFrom(0, 0, 30_000),
  }).map((g) => build(g));
}

type Inf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Gen = {
  pools: Inf<typeof poolArb>[];
  hosts: Inf<typeof hostArb>[];
  nodes: Inf<typeof nodeArb>[];
  inflight: number[];
  pods: Inf<typeof podArb>[];
  daemonSetCpu: number | null;
  stabilization: number;
};

function build(g: Gen): Cluster {
  const now = 1_700_000_000_000;
  const templates: MachineTemplate[] = [];
  const pools: NodePool[] = [];
  g.pools.forEach((p, i) => {
    const shapes = p.shapes.map(([c, m]) => ({
      name: sizeName(c * 1000, m * GiB),
      cpu: c * 1000,
      memory: m * GiB,
    }));
    const overhead = p.overheadMiB * MiB;
    shapes.sort((a, b) =>
      shapeCost(a, overhead, COST) - shapeCost(b, overhead, COST) || a.cpu - b.cpu ||
      a.memory - b.memory
    );
    const t = testTemplate({
      name: `t${i}`,
      shapes,
      vmMemOverhead: overhead,
      reserved: { cpu: p.reservedCpu, memory: 256 * MiB },
      source: { kind: "clone", templateVmid: 9000, full: false },
    });
    if (p.flexible || shapes.length === 0) {
      t.flexible = {
        cpu: { min: 1000, max: 16000, step: 1000 },
        memory: { min: GiB, max: 64 * GiB, step: 512 * MiB },
      };
    }
    templates.push(t);
    pools.push(testPool(`p${i}`, {
      machineTemplate: t.name,
      weight: p.weight,
      requirements: p.zoneReq
        ? [{ key: "topology.kubernetes.io/zone", operator: "In", values: [p.zoneReq] }]
        : [],
      labels: { group: p.group },
      taints: p.taint ? [p.taint] : [],
      limits: {
        ...(p.cpuLimit !== null ? { cpu: p.cpuLimit * 1000 } : {}),
        ...(p.memLimitGi !== null ? { memory: p.memLimitGi * GiB } : {}),
        ...(p.nodeLimit !== null ? { nodes: p.nodeLimit } : {}),
      },
      scaleUp: {
        batchSize: p.batchSize,
        stabilizationWindow: g.stabilization,
        maxConcurrent: p.maxConcurrent,
      },
    }));
  });
  const hosts: Host[] = g.hosts.map((h, i) => ({
    name: `h${i}`,
    provider: "pve",
    zone: h.zone,
    online: h.online,
    capacity: { cpu: h.cores * 1000, memory: h.memGi * GiB },
    cpuOvercommit: h.overcommit,
    memoryOvercommit: 1,
    reserved: { cpu: 0, memory: 0 },
    committed: {
      cpu: Math.min(h.committedCpu, h.cores) * 1000,
      memory: Math.min(h.committedGi, h.memGi) * GiB,
    },
  }));
  const nodes: Node[] = [];
  const pods: Pod[] = [];
  g.nodes.forEach((n, i) => {
    const name = `node-${i}`;
    nodes.push({
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "topology.kubernetes.io/zone": n.zone,
        group: n.group,
      },
      taints: n.tainted ? [{ key: "team", value: "a", effect: "NoSchedule" }] : [],
      allocatable: { cpu: n.cpu, memory: n.memGi * GiB, pods: 110 },
      ready: true,
      createdAt: now - 3_600_000,
    });
    n.boundCpu.forEach((cpu, j) => {
      pods.push({
        uid: `bound-${i}-${j}`,
        name: `bound-${i}-${j}`,
        namespace: "default",
        labels: { app: "x" },
        nodeName: name,
        phase: "Running",
        createdAt: now - 3_600_000,
        containers: [{ cpu, memory: 128 * MiB }],
      });
    });
  });
  const nodeClaims: NodeClaim[] = g.inflight.map((poolIdx, i) => {
    const pool = pools[poolIdx % pools.length]!;
    const t = templates.find((x) => x.name === pool.machineTemplate)!;
    const shape = t.shapes[0] ?? { name: sizeName(2000, 4 * GiB), cpu: 2000, memory: 4 * GiB };
    const zone = hosts[i % hosts.length]!.zone;
    return {
      name: `inflight-${i}`,
      nodePool: pool.name,
      machineTemplate: t.name,
      provider: "pve",
      shape,
      host: hosts[i % hosts.length]!.name,
      createdAt: now - 30_000,
      labels: {
        ...pool.labels,
        "proxscale.io/nodepool": pool.name,
        "topology.kubernetes.io/zone": zone,
        "kubernetes.io/hostname": `inflight-${i}`,
      },
      taints: pool.taints,
      startupTaints: [],
      conditions: [],
    };
  });
  g.pods.forEach((p, i) => {
    const pod: Pod = {
      uid: `pod-${String(i).padStart(3, "0")}`,
      name: `pod-${i}`,
      namespace: "default",
      labels: { app: p.app },
      phase: "Pending",
      unschedulable: true,
      createdAt: now - p.age,
      containers: [{ cpu: p.cpu, memory: p.memMiB * MiB }],
    };
    if (p.selectGroup) pod.nodeSelector = { group: p.selectGroup };
    if (p.zoneIn && !p.spread) {
      pod.requiredNodeAffinity = [{
        matchExpressions: [{
          key: "topology.kubernetes.io/zone",
          operator: "In",
          values: [p.zoneIn],
        }],
      }];
    }
    if (p.tolerate === "all") pod.tolerations = [{ operator: "Exists" }];
    else if (p.tolerate) pod.tolerations = [{ key: p.tolerate, operator: "Exists" }];
    const sel = { matchLabels: { app: p.app } };
    const anti = [];
    if (p.antiHost) anti.push({ topologyKey: "kubernetes.io/hostname", labelSelector: sel });
    if (p.antiZone) anti.push({ topologyKey: "topology.kubernetes.io/zone", labelSelector: sel });
    if (anti.length) pod.requiredPodAntiAffinity = anti;
    if (p.spread) {
      pod.topologySpreadConstraints = [{
        maxSkew: 1,
        topologyKey: p.spread,
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: sel,
      }];
    }
    pods.push(pod);
  });
  const daemonSets: Pod[] = g.daemonSetCpu === null ? [] : [{
    uid: "ds",
    name: "ds",
    namespace: "kube-system",
    phase: "Running",
    createdAt: now,
    ownerKind: "DaemonSet",
    containers: [{ cpu: g.daemonSetCpu, memory: 64 * MiB }],
    tolerations: [{ operator: "Exists" }],
  }];
  const base = testConfig();
  const config: Config = {
    ...base,
    providers: [{ ...base.providers[0]!, vmidRange: { lower: 100, upper: 200 } }],
    machineTemplates: templates,
    nodePools: pools,
    settings: { ...base.settings, cost: COST },
  };
  return {
    snapshot: { now, pods, nodes, nodeClaims, hosts, vms: [], pdbs: [], daemonSets },
    config,
  };
}
