/**
 * The cluster snapshot file `proxscale plan` reads: pods, nodes, NodeClaims and Proxmox hosts
 * written by hand (or dumped), with Kubernetes quantities as text. Turned into a core Snapshot
 * using the configuration for what only it knows (host zones, overcommit, reservations).
 */
import { z } from "zod";
import type { Config, Host, Node, NodeClaim, Pod, Snapshot } from "../../core/model.ts";
import { bytes, cpuMillis } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { type ConfigProblem, parseYaml } from "./load.ts";
import type { YamlLimits } from "./yaml_source.ts";
import { quantity, requirement, taint } from "./schema.ts";
import { sizeName } from "../../core/shapes.ts";

const requests = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
});
const selector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(z.strictObject({
    key: z.string(),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(z.string()).optional(),
  })).optional(),
});
const term = z.strictObject({ matchExpressions: z.array(requirement).optional() });

const podSpec = z.strictObject({
  name: z.string().min(1),
  namespace: z.string().default("default"),
  /** Expands into name-0 … name-(n-1). */
  replicas: z.int().min(1).max(100_000).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  nodeName: z.string().optional(),
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed"]).optional(),
  unschedulable: z.boolean().optional(),
  requests: requests.optional(),
  containers: z.array(requests).optional(),
  initContainers: z.array(requests.extend({ sidecar: z.boolean().optional() })).optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  requiredNodeAffinity: z.array(term).optional(),
  preferredNodeAffinity: z.array(
    z.strictObject({ weight: z.int().min(1).max(100), preference: term }),
  ).optional(),
  requiredPodAntiAffinity: z.array(z.strictObject({
    labelSelector: selector.optional(),
    topologyKey: z.string(),
    namespaces: z.array(z.string()).optional(),
  })).optional(),
  tolerations: z.array(toleration).optional(),
  topologySpreadConstraints: z.array(z.strictObject({
    maxSkew: z.int().min(1),
    topologyKey: z.string(),
    whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]).default("DoNotSchedule"),
    labelSelector: selector.optional(),
  })).optional(),
  ownerKind: z.string().optional(),
  createdAt: z.int().optional(),
});

const nodeSpec = z.strictObject({
  name: z.string().min(1),
  labels: z.record(z.string(), z.string()).default({}),
  taints: z.array(taint).default([]),
  allocatable: z.strictObject({
    cpu: quantity,
    memory: quantity,
    pods: z.int().min(1).default(110),
  }),
  ready: z.boolean().default(true),
  unschedulable: z.boolean().optional(),
  providerID: z.string().optional(),
});

const hostSpec = z.strictObject({
  name: z.string().min(1),
  provider: z.string().optional(),
  online: z.boolean().default(true),
  cpu: quantity,
  memory: quantity,
  committed: z.strictObject({ cpu: quantity.default(0), memory: quantity.default(0) }).default({
    cpu: 0,
    memory: 0,
  }),
});

const claimSpec = z.strictObject({
  name: z.string().min(1),
  nodePool: z.string(),
  shape: z.strictObject({ cpu: quantity, memory: quantity }),
  host: z.string().optional(),
  nodeName: z.string().optional(),
  ready: z.boolean().default(false),
  labels: z.record(z.string(), z.string()).default({}),
});

/** Bounds of a snapshot file (about 2000 pods): the YAML parser needs about a second for 256 KiB. */
export const SNAPSHOT_LIMITS: YamlLimits = { maxBytes: 256 * 1024, maxLines: 10_000 };

export const snapshotFile = z.strictObject({
  now: z.int().optional(),
  hosts: z.array(hostSpec).default([]),
  nodes: z.array(nodeSpec).default([]),
  nodeClaims: z.array(claimSpec).default([]),
  pods: z.array(podSpec).default([]),
  daemonSets: z.array(podSpec).default([]),
});
export type SnapshotFile = z.infer<typeof snapshotFile>;

function toPod(p: z.infer<typeof podSpec>, name: string, now: number, i: number): Pod {
  const containers = p.containers ?? [p.requests ?? {}];
  const conv = (
    r: { cpu?: string | number | undefined; memory?: string | number | undefined },
  ) => ({
    ...(r.cpu !== undefined ? { cpu: cpuMillis(r.cpu) } : {}),
    ...(r.memory !== undefined ? { memory: bytes(r.memory) } : {}),
  });
  const pod: Pod = {
    uid: `${p.namespace}/${name}`,
    name,
    namespace: p.namespace,
    phase: p.phase ?? (p.nodeName ? "Running" : "Pending"),
    unschedulable: p.unschedulable ?? !p.nodeName,
    createdAt: p.createdAt ?? now - 60_000 + i,
    containers: containers.map(conv),
  };
  if (p.labels) pod.labels = p.labels;
  if (p.nodeName) pod.nodeName = p.nodeName;
  if (p.initContainers) {
    pod.initContainers = p.initContainers.map((c) => ({
      ...conv(c),
      ...(c.sidecar ? { sidecar: true } : {}),
    }));
  }
  if (p.nodeSelector) pod.nodeSelector = p.nodeSelector;
  if (p.requiredNodeAffinity) {
    pod.requiredNodeAffinity = p.requiredNodeAffinity as Pod["requiredNodeAffinity"] & object;
  }
  if (p.preferredNodeAffinity) {
    pod.preferredNodeAffinity = p.preferredNodeAffinity as Pod["preferredNodeAffinity"] & object;
  }
  if (p.requiredPodAntiAffinity) {
    pod.requiredPodAntiAffinity = p.requiredPodAntiAffinity as
      & Pod["requiredPodAntiAffinity"]
      & object;
  }
  if (p.tolerations) pod.tolerations = p.tolerations as Pod["tolerations"] & object;
  if (p.topologySpreadConstraints) {
    pod.topologySpreadConstraints = p.topologySpreadConstraints as
      & Pod["topologySpreadConstraints"]
      & object;
  }
  if (p.ownerKind) pod.ownerKind = p.ownerKind;
  return pod;
}

function expand(list: z.infer<typeof podSpec>[], now: number): Pod[] {
  const out: Pod[] = [];
  for (const p of list) {
    if (p.replicas === undefined) out.push(toPod(p, p.name, now, out.length));
    else for (let i = 0; i < p.replicas; i++) out.push(toPod(p, `${p.name}-${i}`, now, out.length));
  }
  return out;
}

/** Builds a core Snapshot from the written form; hosts take zone and overcommit from the config. */
export function toSnapshot(f: SnapshotFile, config: Config, defaultNow: number): Snapshot {
  const now = f.now ?? defaultNow;
  const hostConf = new Map(
    config.providers.flatMap((p) => p.hosts.map((h) => [h.name, { p: p.name, h }] as const)),
  );
  const hosts: Host[] = f.hosts.map((h) => {
    const c = hostConf.get(h.name);
    return {
      name: h.name,
      provider: h.provider ?? c?.p ?? config.providers[0]?.name ?? "default",
      zone: c?.h.zone ?? h.name,
      online: h.online,
      capacity: { cpu: cpuMillis(h.cpu), memory: bytes(h.memory) },
      cpuOvercommit: c?.h.cpuOvercommit ?? 1,
      memoryOvercommit: c?.h.memoryOvercommit ?? 1,
      reserved: c?.h.reserved ?? { cpu: 0, memory: 0 },
      committed: { cpu: cpuMillis(h.committed.cpu), memory: bytes(h.committed.memory) },
      ...(c?.h.capacityType !== undefined ? { capacityType: c.h.capacityType } : {}),
    };
  });
  const nodes: Node[] = f.nodes.map((n) => ({
    name: n.name,
    labels: n.labels,
    taints: n.taints.map((
      t,
    ) => (t.value === undefined
      ? { key: t.key, effect: t.effect }
      : { key: t.key, value: t.value, effect: t.effect })
    ),
    allocatable: {
      cpu: cpuMillis(n.allocatable.cpu),
      memory: bytes(n.allocatable.memory),
      pods: n.allocatable.pods,
    },
    ready: n.ready,
    createdAt: now - 3_600_000,
    ...(n.unschedulable !== undefined ? { unschedulable: n.unschedulable } : {}),
    ...(n.providerID !== undefined ? { providerID: n.providerID } : {}),
  }));
  const pools = new Map(config.nodePools.map((p) => [p.name, p]));
  const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
  const nodeClaims: NodeClaim[] = f.nodeClaims.map((c) => {
    const pool = pools.get(c.nodePool);
    const template = pool ? templates.get(pool.machineTemplate) : undefined;
    const cpu = cpuMillis(c.shape.cpu);
    const memory = bytes(c.shape.memory);
    return {
      name: c.name,
      nodePool: c.nodePool,
      machineTemplate: pool?.machineTemplate ?? "",
      provider: template?.provider ?? "",
      shape: { name: sizeName(cpu, memory), cpu, memory },
      createdAt: now - 60_000,
      labels: c.labels,
      taints: pool ? [...(template?.taints ?? []), ...pool.taints] : [],
      startupTaints: [],
      conditions: c.ready
        ? [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: now }]
        : [],
      ...(c.host !== undefined ? { host: c.host } : {}),
      ...(c.nodeName !== undefined ? { nodeName: c.nodeName } : {}),
    };
  });
  return {
    now,
    pods: expand(f.pods, now),
    nodes,
    nodeClaims,
    hosts,
    vms: [],
    pdbs: [],
    daemonSets: expand(f.daemonSets, now),
  };
}

/** Reads and validates a snapshot file. */
export async function loadSnapshotFile(
  path: string,
  config: Config,
  defaultNow: number,
): Promise<Result<Snapshot, ConfigProblem[]>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    return err([{
      file: path,
      line: 1,
      col: 1,
      path: "",
      message: e instanceof Deno.errors.NotFound ? "file not found" : String(e),
    }]);
  }
  const r = parseYaml(text, path, snapshotFile, SNAPSHOT_LIMITS);
  if (!r.ok) return r;
  return ok(toSnapshot(r.value.parsed, config, defaultNow));
}
