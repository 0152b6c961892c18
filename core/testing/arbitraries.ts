/**
 * Shared test builders and fast-check generators for the core model. Builders give one valid
 * object with overridable fields; `disruptionWorld` generates whole small clusters (NodePools,
 * NodeClaims with Nodes, pods with every do-not-disrupt spelling, PDBs, budgets) that are
 * consistent the way a real cluster is: bound pods fit their node.
 *
 * May import: core/ and fast-check. Test-only.
 */
import fc from "fast-check";
import type {
  Budget,
  Condition,
  ConditionType,
  Config,
  Host,
  MachineTemplate,
  Node,
  NodeClaim,
  NodePool,
  Pod,
  PodDisruptionBudget,
  Snapshot,
} from "../model.ts";
import { GiB, MiB } from "../quantity.ts";
import { HOST_LABEL_KEY, NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "../labels.ts";
import { HOSTNAME_KEY, ZONE_KEY } from "../topology.ts";
import { podRequests } from "../pod_requests.ts";

/** A fixed "now" for tests (2027-01-15T08:00:00Z): a weekday morning, not a month start. */
export const T0 = Date.UTC(2027, 0, 15, 8, 0, 0);

export function testTemplate(over: Partial<MachineTemplate> = {}): MachineTemplate {
  return {
    name: "tpl",
    provider: "pve",
    shapes: [
      { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB },
      { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
      { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB },
    ],
    vmMemOverhead: 256 * MiB,
    reserved: { cpu: 100, memory: 256 * MiB },
    maxPods: 110,
    source: { kind: "clone", templateVmid: 9000, full: true },
    disks: [],
    network: [],
    bootstrap: { mode: "none" },
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    tags: [],
    ...over,
  };
}

export function testPool(name: string, over: Partial<NodePool> = {}): NodePool {
  return {
    name,
    machineTemplate: "tpl",
    weight: 10,
    requirements: [],
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    limits: {},
    minNodes: 0,
    scaleUp: { batchSize: 10, stabilizationWindow: 0, maxConcurrent: 10 },
    scaleDown: { maxConcurrent: 10, drainTimeout: 600_000, stabilizationWindow: 0 },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: 0,
      expireAfter: null,
      terminationGracePeriod: null,
      budgets: [{ nodes: "100%" }],
      drainTimeoutAction: "uncordon",
    },
    ...over,
  };
}

export function testHost(name: string, zone: string, over: Partial<Host> = {}): Host {
  return {
    name,
    provider: "pve",
    zone,
    online: true,
    capacity: { cpu: 256_000, memory: 1024 * GiB },
    cpuOvercommit: 1,
    memoryOvercommit: 1,
    reserved: { cpu: 0, memory: 0 },
    committed: { cpu: 0, memory: 0 },
    ...over,
  };
}

export function testConfig(over: Partial<Config> = {}): Config {
  return {
    providers: [{
      name: "pve",
      endpoint: "https://pve.test:8006",
      tokenId: "proxscale@pve!t",
      tokenSecret: { env: "X" },
      tls: { insecureSkipVerify: true },
      hosts: [],
      vmidRange: { lower: 1000, upper: 9999 },
      managedTag: "proxscale",
      placement: "leastAllocated",
    }],
    machineTemplates: [testTemplate()],
    nodePools: [testPool("general")],
    settings: {
      cost: { perVcpuHour: 0.02, perGiBHour: 0.0025 },
      batchIdle: 1000,
      batchMax: 10_000,
      launchTimeout: 600_000,
      registrationTimeout: 900_000,
      nodeRepairAfter: 600_000,
      orphanGracePeriod: 300_000,
    },
    ...over,
  };
}

/** A Ready, initialized managed node and its NodeClaim. */
export function managedNode(
  name: string,
  pool: string,
  opts: {
    shape?: { name: string; cpu: number; memory: number };
    zone?: string;
    createdAt?: number;
    drifted?: boolean;
    node?: Partial<Node>;
    claim?: Partial<NodeClaim>;
  } = {},
): { node: Node; claim: NodeClaim } {
  const shape = opts.shape ?? { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB };
  const zone = opts.zone ?? "zone-a";
  const createdAt = opts.createdAt ?? T0 - 3_600_000;
  const labels = {
    [NODEPOOL_LABEL_KEY]: pool,
    [NODECLAIM_LABEL_KEY]: `${name}-claim`,
    [HOSTNAME_KEY]: name,
    [ZONE_KEY]: zone,
    [HOST_LABEL_KEY]: "pve1",
  };
  const ready = (type: ConditionType): Condition => ({
    type,
    status: "True" as const,
    reason: type,
    message: "",
    lastTransitionTime: createdAt + 60_000,
  });
  const conditions = [ready("Launched"), ready("Registered"), ready("Initialized"), ready("Ready")];
  if (opts.drifted) {
    conditions.push({
      type: "Drifted",
      status: "True",
      reason: "NodePoolDrifted",
      message: "",
      lastTransitionTime: createdAt + 120_000,
    });
  }
  return {
    node: {
      name,
      providerID: `proxmox://pve/${name}`,
      labels,
      allocatable: { cpu: shape.cpu - 100, memory: shape.memory - 256 * MiB, pods: 110 },
      ready: true,
      createdAt: createdAt + 30_000,
      ...opts.node,
    },
    claim: {
      name: `${name}-claim`,
      nodePool: pool,
      machineTemplate: "tpl",
      provider: "pve",
      shape,
      host: "pve1",
      providerID: `proxmox://pve/${name}`,
      nodeName: name,
      createdAt,
      labels,
      taints: [],
      startupTaints: [],
      conditions,
      ...opts.claim,
    },
  };
}

let podSeq = 0;
/** A running pod of a ReplicaSet bound to `node` (or pending when node is undefined). */
export function testPod(name: string, node: string | undefined, over: Partial<Pod> = {}): Pod {
  podSeq += 1;
  return {
    uid: `uid-${name}-${podSeq}`,
    name,
    namespace: "default",
    labels: { app: name.replace(/-\d+$/, "") },
    ...(node !== undefined ? { nodeName: node } : {}),
    phase: node !== undefined ? "Running" : "Pending",
    createdAt: T0 - 7_200_000,
    containers: [{ cpu: 500, memory: 512 * MiB }],
    ownerKind: "ReplicaSet",
    ownerName: `${name}-rs`,
    ...over,
  };
}

export function snapshotOf(parts: Partial<Snapshot> = {}): Snapshot {
  return {
    now: T0,
    pods: [],
    nodes: [],
    nodeClaims: [],
    hosts: [testHost("pve1", "zone-a"), testHost("pve2", "zone-b")],
    vms: [],
    pdbs: [],
    ...parts,
  };
}

/** A generated cluster, with the state a disruption pass would get. */
export type DisruptionWorld = {
  snapshot: Snapshot;
  config: Config;
  state: { unneededSince: Record<string, number> };
};

const SHAPES = testTemplate().shapes;
const POD_ANNOTATIONS: (Record<string, string> | undefined)[] = [
  { "proxscale.io/do-not-disrupt": "true" },
  { "karpenter.sh/do-not-disrupt": "true" },
  { "karpenter.sh/do-not-disrupt": "30m" },
  { "karpenter.sh/do-not-disrupt": "bogus" },
  { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" },
  { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" },
  { "proxscale.io/do-not-disrupt": "false" },
];
const NODE_ANNOTATIONS: Record<string, string>[] = [
  { "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true" },
  { "karpenter.sh/do-not-disrupt": "true" },
  { "proxscale.io/do-not-disrupt": "true" },
];

const budgetArb: fc.Arbitrary<Budget> = fc.record({
  nodes: fc.constantFrom("0", "1", "2", "3", "10%", "50%", "100%"),
  reasons: fc.option(
    fc.subarray(["Empty", "Underutilized", "Drifted", "Expired"] as const, { minLength: 1 }),
    { nil: undefined },
  ),
  // "* * * * *" is open at any time; "0 0 1 1 *" is closed at T0 (mid-January).
  window: fc.constantFrom(undefined, "* * * * *", "0 0 1 1 *", "not a cron"),
}).map(({ nodes, reasons, window }) => ({
  nodes,
  ...(reasons ? { reasons: [...reasons] } : {}),
  ...(window ? { schedule: window, duration: 3_600_000 } : {}),
}));

const poolArb = (name: string) =>
  fc.record({
    minNodes: fc.integer({ min: 0, max: 3 }),
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
    window: fc.constantFrom(0, 0, 300_000),
    consolidateAfter: fc.constantFrom(0, 0, 60_000, null),
    policy: fc.constantFrom("WhenEmptyOrUnderutilized", "WhenEmptyOrUnderutilized", "WhenEmpty"),
    expireAfter: fc.constantFrom(null, null, 3_600_000 * 100),
    budgets: fc.array(budgetArb, { maxLength: 2 }),
  }).map((p) =>
    testPool(name, {
      minNodes: p.minNodes,
      scaleDown: {
        maxConcurrent: p.maxConcurrent,
        drainTimeout: 600_000,
        stabilizationWindow: p.window,
      },
      disruption: {
        consolidationPolicy: p.policy as NodePool["disruption"]["consolidationPolicy"],
        consolidateAfter: p.consolidateAfter,
        expireAfter: p.expireAfter,
        terminationGracePeriod: null,
        budgets: p.budgets,
        drainTimeoutAction: "uncordon",
      },
    })
  );

const podArb = fc.record({
  app: fc.constantFrom("web", "api", "db"),
  kubeSystem: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  cpu: fc.integer({ min: 1, max: 20 }).map((n) => n * 100),
  memory: fc.integer({ min: 1, max: 16 }).map((n) => n * 256 * MiB),
  owner: fc.constantFrom(
    "ReplicaSet",
    "ReplicaSet",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "none",
  ),
  annotations: fc.integer({ min: 0, max: 50 }).map((i) => POD_ANNOTATIONS[i]),
  localStorage: fc.integer({ min: 0, max: 14 }).map((n) => n === 0),
  antiAffinity: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  age: fc.integer({ min: 0, max: 120 }).map((m) => m * 60_000),
});

const nodeArb = fc.record({
  pool: fc.integer({ min: 0, max: 1 }),
  shape: fc.integer({ min: 0, max: SHAPES.length - 1 }),
  zone: fc.constantFrom("zone-a", "zone-b"),
  ready: fc.integer({ min: 0, max: 19 }).map((n) => n !== 0),
  initialized: fc.integer({ min: 0, max: 19 }).map((n) => n !== 0),
  annotations: fc.integer({ min: 0, max: 29 }).map((i) => NODE_ANNOTATIONS[i]),
  disrupting: fc.integer({ min: 0, max: 14 }).map((n) =>
    n === 0 ? "taint" : n === 1 ? "claim" : ""
  ),
  drifted: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  ageHours: fc.integer({ min: 1, max: 200 }),
  managed: fc.integer({ min: 0, max: 9 }).map((n) => n !== 0),
  pods: fc.array(podArb, { maxLength: 6 }),
});

/** Small clusters of 1-8 nodes in up to two pools, with PDBs, annotations and budgets. */
export function disruptionWorld(): fc.Arbitrary<DisruptionWorld> {
  return fc.record({
    pools: fc.tuple(poolArb("p0"), poolArb("p1")),
    nodes: fc.array(nodeArb, { minLength: 1, maxLength: 8 }),
    pdbs: fc.array(
      fc.record({
        app: fc.constantFrom("web", "api", "db"),
        allowed: fc.integer({ min: 0, max: 2 }),
        ns: fc.constantFrom("default", "default", "kube-system"),
      }),
      { maxLength: 3 },
    ),
    unneededAgo: fc.array(fc.integer({ min: 0, max: 600_000 }), { maxLength: 8 }),
    rules: fc.record({
      skipNodesWithSystemPods: fc.boolean(),
      skipNodesWithLocalStorage: fc.boolean(),
      skipNodesWithUnmanagedPods: fc.boolean(),
    }),
  }).map(({ pools, nodes, pdbs, unneededAgo, rules }) => {
    const snapshot = snapshotOf();
    const state: DisruptionWorld["state"] = { unneededSince: {} };
    let seq = 0;
    nodes.forEach((n, i) => {
      const name = `node-${i}`;
      const shape = SHAPES[n.shape]!;
      const pool = `p${n.pool}`;
      const m = managedNode(name, pool, {
        shape,
        zone: n.zone,
        createdAt: T0 - n.ageHours * 3_600_000,
        drifted: n.drifted,
      });
      m.node.ready = n.ready;
      if (n.annotations) m.node.annotations = { ...n.annotations };
      if (n.disrupting === "taint") {
        m.node.taints = [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }];
      }
      if (n.disrupting === "claim") m.claim.deleting = true;
      if (!n.initialized) {
        m.claim.conditions = m.claim.conditions.filter((c) =>
          c.type !== "Initialized" && c.type !== "Ready"
        );
      }
      snapshot.nodes.push(m.node);
      if (n.managed) snapshot.nodeClaims.push(m.claim);
      const ago = unneededAgo[i];
      if (ago !== undefined) state.unneededSince[m.claim.name] = T0 - ago;
      const apps = new Set<string>();
      const repel = new Set<string>();
      let cpu = m.node.allocatable.cpu;
      let memory = m.node.allocatable.memory;
      for (const p of n.pods) {
        if (p.cpu > cpu || p.memory > memory) continue;
        // A real cluster never runs two pods that repel each other on one node.
        if ((p.antiAffinity && apps.has(p.app)) || repel.has(p.app)) continue;
        apps.add(p.app);
        if (p.antiAffinity) repel.add(p.app);
        cpu -= p.cpu;
        memory -= p.memory;
        seq += 1;
        const pod: Pod = {
          uid: `uid-${seq}`,
          name: `${p.app}-${seq}`,
          namespace: p.kubeSystem ? "kube-system" : "default",
          labels: { app: p.app },
          nodeName: name,
          phase: "Running",
          createdAt: T0 - p.age,
          containers: [{ cpu: p.cpu, memory: p.memory }],
          ...(p.owner !== "none" ? { ownerKind: p.owner, ownerName: `${p.app}-x` } : {}),
          ...(p.annotations ? { annotations: { ...p.annotations } } : {}),
          ...(p.localStorage ? { localStorage: true } : {}),
          ...(p.antiAffinity
            ? {
              requiredPodAntiAffinity: [{
                topologyKey: HOSTNAME_KEY,
                labelSelector: { matchLabels: { app: p.app } },
              }],
            }
            : {}),
        };
        snapshot.pods.push(pod);
      }
    });
    snapshot.pdbs = pdbs.map((b, i): PodDisruptionBudget => ({
      name: `pdb-${i}`,
      namespace: b.ns,
      selector: { matchLabels: { app: b.app } },
      disruptionsAllowed: b.allowed,
    }));
    const config = testConfig({ nodePools: [...pools] });
    config.settings.scaleDownRules = rules;
    return { snapshot, config, state };
  });
}

/** Requests of the pods bound to `node` that still hold capacity. */
export function usedOn(snapshot: Snapshot, node: string): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const p of snapshot.pods) {
    if (p.nodeName !== node || p.phase === "Succeeded" || p.phase === "Failed") continue;
    const r = podRequests(p);
    cpu += r.cpu;
    memory += r.memory;
  }
  return { cpu, memory };
}
