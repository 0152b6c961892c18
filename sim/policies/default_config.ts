/**
 * The built-in configuration `proxscale sim` uses without --config: one Proxmox cluster of four
 * hosts, one MachineTemplate with a single 4 vCPU / 8 GiB shape (so node-hours compare directly
 * with the fluid bound), and one NodePool with Karpenter's consolidateAfter 0 s, one disruption at
 * a time and a 20 s scale-down stabilization window (docs/simulation.md says why these values).
 * It is a normalised core Config, the same type the YAML loader produces.
 * For a trace with GPU pods (`gpu` given) the template also has GPU shapes of PCI mapping
 * "gpu" (DEFAULT_GPU_SHAPES, up to the most GPUs one pod needs), time-sliced into the given
 * replicas, and GPUs are priced per hour.
 *
 * May import: core/.
 */
import type { Config, MachineTemplate, NodePool, Provider, Shape } from "../../core/model.ts";
import { GiB, MiB } from "../../core/quantity.ts";
import { sizeName } from "../../core/shapes.ts";
import { shapeCost } from "../../core/cost.ts";

/** A shape from vCPUs and GiB. */
export function shapeOf(vcpu: number, gib: number): Shape {
  return { name: sizeName(vcpu * 1000, gib * GiB), cpu: vcpu * 1000, memory: gib * GiB };
}

/** The PCI resource mapping the built-in GPU shapes ask for and the default GPU world offers. */
export const SIM_GPU_MAPPING = "gpu";

/** The price of one GPU per hour in the built-in config (next to 0.02 per vCPU-hour). */
export const SIM_GPU_HOUR = 0.25;

/**
 * The built-in GPU shapes: GPUs, vCPUs, GiB. Hosts of the default GPU world (8 GPUs, 32 cores,
 * 128 GiB) hold any of them; the 1-GPU shape suits most pods of the openb trace.
 */
export const DEFAULT_GPU_SHAPES: readonly [number, number, number][] = [
  [1, 8, 32],
  [2, 16, 48],
  [4, 24, 80],
  [8, 32, 112],
];

/** GPU shapes of the built-in config: `replicas` per GPU, shapes up to `maxGpus` GPUs. */
export type SimGpuOptions = { replicas: number; maxGpus: number };

/** Options the capacity sweep varies. */
export type SimConfigOptions = {
  /** Add GPU shapes (a trace with GPU pods). */
  gpu?: SimGpuOptions;
  hosts?: number;
  shapes?: Shape[];
  consolidateAfterMs?: number | null;
  stabilizationWindowMs?: number;
  maxConcurrentDisruptions?: number;
};

/** The built-in simulation config. */
export function defaultSimConfig(opts: SimConfigOptions = {}): Config {
  const hosts = opts.hosts ?? 4;
  const cost = opts.gpu
    ? { perVcpuHour: 0.02, perGiBHour: 0.0025, perGpuHour: SIM_GPU_HOUR }
    : { perVcpuHour: 0.02, perGiBHour: 0.0025 };
  const provider: Provider = {
    name: "sim",
    endpoint: "https://pve.sim:8006",
    tokenId: "proxscale@pve!sim",
    tokenSecret: { env: "PROXSCALE_PVE_TOKEN" },
    tls: { insecureSkipVerify: false },
    hosts: Array.from({ length: hosts }, (_, i) => ({
      name: `pve${i + 1}`,
      zone: `rack-${String.fromCharCode(97 + (i % 3))}`,
      cpuOvercommit: 2,
      memoryOvercommit: 1,
      reserved: { cpu: 2000, memory: 8 * GiB },
    })),
    vmidRange: { lower: 9000, upper: 9999 },
    managedTag: "proxscale",
    placement: "leastAllocated",
  };
  const vmMemOverhead = 512 * MiB;
  const gpuShapes: Shape[] = [];
  if (opts.gpu) {
    for (const [gpus, vcpu, gib] of DEFAULT_GPU_SHAPES) {
      const s = shapeOf(vcpu, gib);
      gpuShapes.push({
        name: `${s.name}-${gpus}gpu`,
        cpu: s.cpu,
        memory: s.memory,
        gpus: { count: gpus, mapping: SIM_GPU_MAPPING },
      });
      if (gpus >= opts.gpu.maxGpus) break;
    }
  }
  const shapes = [...(opts.shapes ?? [shapeOf(4, 8)]), ...gpuShapes].sort((a, b) =>
    shapeCost(a, vmMemOverhead, cost) - shapeCost(b, vmMemOverhead, cost) || a.cpu - b.cpu
  );
  const template: MachineTemplate = {
    name: "worker",
    provider: "sim",
    shapes,
    vmMemOverhead,
    reserved: { cpu: 100, memory: 512 * MiB },
    maxPods: 110,
    source: { kind: "clone", templateVmid: 9000, full: false },
    disks: [],
    network: [],
    bootstrap: { mode: "none" },
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    tags: ["k8s"],
    ...(opts.gpu ? { gpu: { resourceName: "nvidia.com/gpu", replicas: opts.gpu.replicas } } : {}),
  };
  const pool: NodePool = {
    name: "general",
    machineTemplate: "worker",
    weight: 50,
    requirements: [],
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    limits: {},
    minNodes: 0,
    scaleUp: { batchSize: 20, stabilizationWindow: 0, maxConcurrent: 20 },
    // One disruption at a time and 20 s unneeded before removal: fewer VMs and evictions than
    // Karpenter's 15 s validation with no concurrency cap, for no more node-hours
    // (docs/simulation.md, "proxscale against the baselines", has the measured trade-off).
    scaleDown: {
      maxConcurrent: opts.maxConcurrentDisruptions ?? 1,
      drainTimeout: 600_000,
      stabilizationWindow: opts.stabilizationWindowMs ?? 20_000,
    },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: opts.consolidateAfterMs === undefined ? 0 : opts.consolidateAfterMs,
      expireAfter: null,
      terminationGracePeriod: null,
      budgets: [{ nodes: "20%" }],
      drainTimeoutAction: "uncordon",
      // GPU VMs: a replacement must save half of what it replaces. Replacing a 2-GPU VM by a
      // 1-GPU one for a small saving was undone by the next GPU pods (a new VM, a boot, the
      // evictions again); docs/simulation.md, "GPUs", has the figures. No effect on CPU traces.
      ...(opts.gpu ? { minSavingsFraction: 0.5 } : {}),
    },
  };
  return {
    providers: [provider],
    machineTemplates: [template],
    nodePools: [pool],
    settings: {
      cost,
      batchIdle: 1000,
      batchMax: 10_000,
      launchTimeout: 600_000,
      registrationTimeout: 900_000,
      nodeRepairAfter: 600_000,
      orphanGracePeriod: 300_000,
    },
  };
}
