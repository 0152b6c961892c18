/**
 * Turns the validated written form (schema.ts) into core/model.ts types: quantities to
 * millicores and bytes, durations to milliseconds, shapes sorted by cost. Only called on data
 * the schema accepted, so conversions cannot fail here.
 */
import { bytes, cpuMillis, formatMemory, MiB } from "../../core/quantity.ts";
import { parseDuration } from "../../core/duration.ts";
import type {
  Config,
  CostModel,
  MachineTemplate,
  NodePool,
  Provider,
  Settings,
  Shape,
  ShapeGpus,
  Tenant,
  VmOptions,
  VmSource,
} from "../../core/model.ts";
import type {
  ConfigFile,
  MachineTemplateSpec,
  NodePoolSpec,
  ProviderSpec,
  RedfishProviderSpec,
  TenantSpec,
} from "./schema.ts";
import { tenancyLabels, tenancyTaint } from "../../core/tenancy.ts";
import type { VmOptionsSpec } from "./vm_options_spec.ts";
import { DEFAULT_CAPACITY_TYPE, shapeCost } from "../../core/cost.ts";
import { checkIpPool } from "../../core/ipam_pool.ts";

function ms(text: string): number {
  const r = parseDuration(text);
  if (!r.ok || r.value === null) throw new Error(`unvalidated duration ${text}`);
  return r.value;
}
function msOrNever(text: string): number | null {
  const r = parseDuration(text, true);
  if (!r.ok) throw new Error(`unvalidated duration ${text}`);
  return r.value;
}

/**
 * A shape's display name (its instance-type label value): "4c-8Gi", with GPUs
 * "8c-32Gi-1xa100" or "4c-16Gi-2xt4-nvidia-222" (mapping or model, then the mdev type).
 */
export function shapeName(cpu: number, memory: number, gpus?: ShapeGpus): string {
  const base = `${cpu / 1000}c-${formatMemory(memory)}`;
  if (!gpus) return base;
  const of = (gpus.mapping ?? gpus.model ?? "gpu").replace(/[^A-Za-z0-9_.-]+/g, "-");
  const text = `${base}-${gpus.count}x${of}${gpus.mdev !== undefined ? `-${gpus.mdev}` : ""}`;
  return text.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");
}

/** A written `gpus` block as core ShapeGpus (only the fields written). */
export function normalizeGpus(
  g: {
    count: number;
    mapping?: string | undefined;
    model?: string | undefined;
    mdev?: string | undefined;
  },
): ShapeGpus {
  return {
    count: g.count,
    ...(g.mapping !== undefined ? { mapping: g.mapping } : {}),
    ...(g.model !== undefined ? { model: g.model } : {}),
    ...(g.mdev !== undefined ? { mdev: g.mdev } : {}),
  };
}

export function normalizeProvider(name: string, spec: ProviderSpec): Provider {
  if (spec.kind === "redfish") return normalizeRedfishProvider(name, spec);
  const p = spec;
  const classes = p.capacityTypes !== undefined || p.hosts.some((h) => h.capacityType);
  return {
    name,
    endpoint: p.endpoint.replace(/\/+$/, ""),
    tokenId: p.tokenId,
    tokenSecret: p.tokenSecret,
    tls: {
      ...(p.tls.caFile !== undefined ? { caFile: p.tls.caFile } : {}),
      ...(p.tls.fingerprint !== undefined ? { fingerprint: p.tls.fingerprint.toUpperCase() } : {}),
      insecureSkipVerify: p.tls.insecureSkipVerify,
    },
    hosts: p.hosts.map((h) => ({
      name: h.name,
      zone: h.zone ?? h.name,
      cpuOvercommit: h.cpuOvercommit,
      memoryOvercommit: h.memoryOvercommit,
      reserved: { cpu: cpuMillis(h.reserved?.cpu ?? 0), memory: bytes(h.reserved?.memory ?? 0) },
      ...(h.maintenance !== undefined ? { maintenance: h.maintenance } : {}),
      // With classes, every host has one, so that each node carries its capacity-type label.
      ...(classes ? { capacityType: h.capacityType ?? DEFAULT_CAPACITY_TYPE } : {}),
      ...(h.bmc !== undefined
        ? {
          power: {
            bmc: {
              endpoint: h.bmc.endpoint.replace(/\/+$/, ""),
              username: h.bmc.username,
              password: h.bmc.password,
              systemId: h.bmc.systemId,
              tls: {
                ...(h.bmc.tls.caFile !== undefined ? { caFile: h.bmc.tls.caFile } : {}),
                ...(h.bmc.tls.fingerprint !== undefined
                  ? { fingerprint: h.bmc.tls.fingerprint.toUpperCase() }
                  : {}),
                insecureSkipVerify: h.bmc.tls.insecureSkipVerify,
              },
            },
            bootDelay: ms(h.bmc.bootDelay),
          },
        }
        : {}),
    })),
    vmidRange: p.vmidRange,
    ...(p.templateVmidRange !== undefined ? { templateVmidRange: p.templateVmidRange } : {}),
    managedTag: p.managedTag,
    placement: p.placement,
    ...(p.resourcePool !== undefined ? { resourcePool: p.resourcePool } : {}),
    ...(classes ? { capacityTypes: capacityTypes(p.capacityTypes ?? {}) } : {}),
    ...(p.hostPower !== undefined
      ? {
        hostPower: {
          powerOffAfter: ms(p.hostPower.powerOffAfter),
          minOnlineHosts: p.hostPower.minOnlineHosts,
        },
      }
      : {}),
    ...(p.ipPools !== undefined
      ? {
        ipPools: p.ipPools.map((spec) => {
          const pool = checkIpPool(spec);
          if (!pool.ok) throw new Error(`unvalidated IP pool ${spec.name}`);
          return pool.value;
        }),
      }
      : {}),
  };
}

/** A Redfish Provider: its machines become its hosts, one node each, exactly their size. */
function normalizeRedfishProvider(name: string, p: RedfishProviderSpec): Provider {
  return {
    name,
    kind: "redfish",
    redfish: {
      machines: p.machines.map((m) => ({
        name: m.name,
        zone: m.zone ?? m.name,
        endpoint: m.endpoint.replace(/\/+$/, ""),
        systemId: m.systemId,
        username: m.username,
        password: m.password,
        tls: {
          ...(m.tls.caFile !== undefined ? { caFile: m.tls.caFile } : {}),
          ...(m.tls.fingerprint !== undefined
            ? { fingerprint: m.tls.fingerprint.toUpperCase() }
            : {}),
          insecureSkipVerify: m.tls.insecureSkipVerify,
        },
      })),
      seedServer: { ...p.seedServer, url: p.seedServer.url.replace(/\/+$/, "") },
    },
    endpoint: "",
    tokenId: "",
    tokenSecret: { env: "" },
    tls: { insecureSkipVerify: false },
    hosts: p.machines.map((m) => ({
      name: m.name,
      zone: m.zone ?? m.name,
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      reserved: { cpu: 0, memory: 0 },
    })),
    // Machines are numbered 100 + position (adapters/redfish/provider.ts VMID_BASE).
    vmidRange: { lower: 100, upper: 99 + p.machines.length },
    managedTag: "proxscale",
    placement: "mostAllocated",
  };
}

export function normalizeMachineTemplate(
  name: string,
  t: MachineTemplateSpec,
  written: ConfigFile["settings"]["cost"] | CostModel,
): MachineTemplate {
  const cost = normalizeCost(written);
  const vmMemOverhead = t.vmMemOverheadMiB * MiB;
  const shapes: Shape[] = (t.shapes ?? []).map((s) => {
    const cpu = cpuMillis(s.cpu);
    const memory = bytes(s.memory);
    if (!s.gpus) return { name: shapeName(cpu, memory), cpu, memory };
    const gpus = normalizeGpus(s.gpus);
    return { name: shapeName(cpu, memory, gpus), cpu, memory, gpus };
  });
  shapes.sort((a, b) =>
    shapeCost(a, vmMemOverhead, cost) - shapeCost(b, vmMemOverhead, cost) || a.cpu - b.cpu ||
    a.memory - b.memory
  );
  // No source: a bare-metal template (the load-time cross check requires one on Proxmox); the
  // Redfish provider never reads it.
  const src = t.source ?? { scratch: { options: {} } };
  const source: VmSource = "clone" in src
    ? {
      kind: "clone",
      full: src.clone.full,
      ...(src.clone.templateVmid !== undefined ? { templateVmid: src.clone.templateVmid } : {}),
      ...(src.clone.perHost !== undefined ? { perHost: src.clone.perHost } : {}),
      ...(src.clone.storage !== undefined ? { storage: src.clone.storage } : {}),
    }
    : "image" in src
    ? {
      kind: "image",
      url: src.image.url,
      checksum: {
        algorithm: src.image.checksum.algorithm,
        value: src.image.checksum.value.toLowerCase(),
      },
      storage: src.image.storage,
      importStorage: src.image.importStorage,
      ...(src.image.perHost !== undefined ? { perHost: src.image.perHost } : {}),
      full: src.image.full,
    }
    : { kind: "scratch", options: src.scratch.options };
  const out: MachineTemplate = {
    name,
    provider: t.provider,
    shapes,
    vmMemOverhead,
    reserved: { cpu: cpuMillis(t.reserved?.cpu ?? 0), memory: bytes(t.reserved?.memory ?? 0) },
    // The kubelet keeps its eviction threshold free too: 100Mi unless its config says otherwise.
    evictionHardMemory: bytes(t.evictionHard?.memory ?? "100Mi"),
    maxPods: t.maxPods,
    ...(t.extendedResources !== undefined
      ? {
        extendedResources: Object.fromEntries(
          Object.entries(t.extendedResources).map(([k, v]) => [k, bytes(v)]),
        ),
      }
      : {}),
    ...(t.gpu !== undefined ? { gpu: t.gpu } : {}),
    source,
    ...(t.vm !== undefined ? { vm: normalizeVmOptions(t.vm) } : {}),
    disks: t.disks.map((d) => ({ ...stripUndefined(d), size: bytes(d.size) })),
    network: t.network.map((n) => stripUndefined(n)),
    bootstrap: stripUndefined(t.bootstrap),
    labels: t.labels,
    annotations: t.annotations,
    taints: t.taints.map(stripUndefined),
    startupTaints: t.startupTaints.map(stripUndefined),
    tags: t.tags,
    ...(t.resourcePool !== undefined ? { resourcePool: t.resourcePool } : {}),
  };
  if (t.flexible) {
    out.flexible = {
      cpu: {
        min: cpuMillis(t.flexible.cpu.min),
        max: cpuMillis(t.flexible.cpu.max),
        step: cpuMillis(t.flexible.cpu.step ?? 1),
      },
      memory: {
        min: bytes(t.flexible.memory.min),
        max: bytes(t.flexible.memory.max),
        step: bytes(t.flexible.memory.step ?? "512Mi"),
      },
    };
  }
  return out;
}

/** The `vm` block as core/model.ts VmOptions (only the fields that were written). */
export function normalizeVmOptions(v: VmOptionsSpec): VmOptions {
  const out: VmOptions = {};
  if (v.cpu) out.cpu = stripUndefined(v.cpu);
  if (v.sockets !== undefined) out.sockets = v.sockets;
  if (v.numa !== undefined) out.numa = v.numa;
  if (v.balloonMiB !== undefined) out.balloonMiB = v.balloonMiB;
  if (v.machine !== undefined) out.machine = v.machine;
  if (v.bios !== undefined) out.bios = v.bios;
  if (v.efiDisk) out.efiDisk = v.efiDisk;
  if (v.agent) out.agent = stripUndefined(v.agent);
  if (v.startup) out.startup = stripUndefined(v.startup);
  if (v.description !== undefined) out.description = v.description;
  return out;
}

/**
 * One NodePool, tenant defaults already merged (tenant_defaults.ts). The loaders' cross-checks
 * refuse a pool left without a template, so one reaching here is a bug.
 */
export function normalizeNodePool(name: string, p: NodePoolSpec): NodePool {
  if (p.machineTemplate === undefined) {
    throw new Error(`NodePool "${name}" has no machineTemplate (the cross-checks refuse it)`);
  }
  const tenancy = p.tenancy ? { tenant: p.tenancy.tenant, shared: p.tenancy.shared } : undefined;
  return {
    name,
    machineTemplate: p.machineTemplate,
    weight: p.weight,
    requirements: p.requirements.map(stripUndefined),
    // A tenant pool's nodes carry the tenant's label and NoSchedule taint.
    labels: tenancy ? { ...p.labels, ...tenancyLabels(tenancy) } : p.labels,
    annotations: p.annotations,
    taints: tenancy
      ? [...p.taints.map(stripUndefined), tenancyTaint(tenancy)]
      : p.taints.map(stripUndefined),
    startupTaints: p.startupTaints.map(stripUndefined),
    limits: {
      ...(p.limits.cpu !== undefined ? { cpu: cpuMillis(p.limits.cpu) } : {}),
      ...(p.limits.memory !== undefined ? { memory: bytes(p.limits.memory) } : {}),
      ...(p.limits.nodes !== undefined ? { nodes: p.limits.nodes } : {}),
      ...(p.limits.gpus !== undefined ? { gpus: p.limits.gpus } : {}),
    },
    minNodes: p.minNodes,
    ...(p.paused ? { paused: true } : {}),
    ...(tenancy ? { tenancy } : {}),
    ...(p.storageReplicated !== undefined ? { storageReplicated: p.storageReplicated } : {}),
    scaleUp: {
      batchSize: p.scaleUp.batchSize,
      stabilizationWindow: ms(p.scaleUp.stabilizationWindow),
      maxConcurrent: p.scaleUp.maxConcurrent,
      ...(p.scaleUp.forecast?.enabled
        ? {
          forecast: {
            maxNodes: p.scaleUp.forecast.maxNodes,
            maxError: p.scaleUp.forecast.maxError,
            horizon: p.scaleUp.forecast.horizon === undefined
              ? null
              : ms(p.scaleUp.forecast.horizon),
          },
        }
        : {}),
    },
    scaleDown: {
      maxConcurrent: p.scaleDown.maxConcurrent,
      drainTimeout: ms(p.scaleDown.drainTimeout),
      stabilizationWindow: ms(p.scaleDown.stabilizationWindow),
    },
    disruption: {
      consolidationPolicy: p.disruption.consolidationPolicy,
      consolidateAfter: msOrNever(p.disruption.consolidateAfter),
      expireAfter: msOrNever(p.disruption.expireAfter),
      terminationGracePeriod: p.disruption.terminationGracePeriod === undefined
        ? null
        : ms(p.disruption.terminationGracePeriod),
      budgets: p.disruption.budgets.map((b) => ({
        nodes: b.nodes,
        ...(b.reasons !== undefined ? { reasons: b.reasons } : {}),
        ...(b.schedule !== undefined ? { schedule: b.schedule } : {}),
        ...(b.duration !== undefined ? { duration: ms(b.duration) } : {}),
      })),
      drainTimeoutAction: p.disruption.drainTimeoutAction,
      ...(p.disruption.preferOffPreemptible === true ? { preferOffPreemptible: true } : {}),
      ...(p.disruption.minSavingsFraction !== undefined
        ? { minSavingsFraction: p.disruption.minSavingsFraction }
        : {}),
      ...(p.disruption.consolidationThreshold !== undefined
        ? { consolidationThreshold: p.disruption.consolidationThreshold }
        : {}),
    },
  };
}

export function normalizeSettings(s: ConfigFile["settings"]): Settings {
  return {
    cost: normalizeCost(s.cost),
    batchIdle: ms(s.batchIdle),
    batchMax: ms(s.batchMax),
    launchTimeout: ms(s.launchTimeout),
    registrationTimeout: ms(s.registrationTimeout),
    nodeRepairAfter: ms(s.nodeRepairAfter),
    nodeRepairMaxUnhealthy: s.nodeRepairMaxUnhealthy,
    orphanGracePeriod: ms(s.orphanGracePeriod),
    ...(s.deleteUnadoptableVms ? { deleteUnadoptableVms: true } : {}),
    launchBackoff: {
      base: ms(s.launchBackoff.base),
      max: ms(s.launchBackoff.max),
      maxClaimsPerHour: s.launchBackoff.maxClaimsPerPoolPerHour,
    },
    scaleDownRules: s.scaleDownRules,
  };
}

/** The cost block as core's CostModel (perGpuHour only when written). */
export function normalizeCost(c: ConfigFile["settings"]["cost"] | CostModel): CostModel {
  return {
    perVcpuHour: c.perVcpuHour,
    perGiBHour: c.perGiBHour,
    ...(c.perGpuHour !== undefined ? { perGpuHour: c.perGpuHour } : {}),
  };
}

/** The whole file. */
export function normalize(c: ConfigFile): Config {
  const settings = normalizeSettings(c.settings);
  const bareMetal = new Set(
    c.providers.filter((p) => p.spec.kind === "redfish").map((p) => p.name),
  );
  return {
    providers: c.providers.map((p) => normalizeProvider(p.name, p.spec)),
    machineTemplates: c.machineTemplates.map((t) => {
      const m = normalizeMachineTemplate(t.name, t.spec, settings.cost);
      // A bare-metal machine is the node itself: no hypervisor keeps memory beside it.
      return bareMetal.has(m.provider) ? { ...m, vmMemOverhead: 0 } : m;
    }),
    nodePools: c.nodePools.map((p) => normalizeNodePool(p.name, p.spec)),
    ...(c.tenants?.length
      ? { tenants: c.tenants.map((t) => normalizeTenant(t.name, t.spec)) }
      : {}),
    settings,
    ...(c.queue?.redis ? { queue: { redis: c.queue.redis } } : {}),
  };
}

/** One Tenant: quantities as millicores and bytes. */
export function normalizeTenant(name: string, t: TenantSpec): Tenant {
  const q = t.quota;
  return {
    name,
    namespaces: t.namespaces,
    ...(t.namespaceSelector ? { namespaceSelector: t.namespaceSelector.matchLabels } : {}),
    quota: {
      ...(q.cpu !== undefined ? { cpu: cpuMillis(q.cpu) } : {}),
      ...(q.memory !== undefined ? { memory: bytes(q.memory) } : {}),
      ...(q.gpus !== undefined ? { gpus: q.gpus } : {}),
      ...(q.nodes !== undefined ? { nodes: q.nodes } : {}),
      ...(q.costPerHour !== undefined ? { costPerHour: q.costPerHour } : {}),
    },
    sharing: t.sharing.tenants,
  };
}

/** exactOptionalPropertyTypes: drop keys whose value is undefined. */
function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** A Provider's class price table as the core reads it. */
function capacityTypes(
  spec: Record<
    string,
    { perVcpuHour: number; perGiBHour: number; perGpuHour?: number | undefined }
  >,
): Record<string, CostModel> {
  const out: Record<string, CostModel> = {};
  for (const [k, c] of Object.entries(spec)) {
    out[k] = {
      perVcpuHour: c.perVcpuHour,
      perGiBHour: c.perGiBHour,
      ...(c.perGpuHour !== undefined ? { perGpuHour: c.perGpuHour } : {}),
    };
  }
  return out;
}
