/**
 * The built-in configuration `proxscale sim` uses without --config: one Proxmox cluster of four
 * hosts, one MachineTemplate with a single 4 vCPU / 8 GiB shape (so node-hours compare directly
 * with the fluid bound), and one NodePool with Karpenter's consolidateAfter 0 s, one disruption at
 * a time and a 20 s scale-down stabilization window (docs/simulation.md says why these values). It is a normalised core Config, the same type the YAML loader produces.
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

/** Options the capacity sweep varies. */
export type SimConfigOptions = {
  hosts?: number;
  shapes?: Shape[];
  consolidateAfterMs?: number | null;
  stabilizationWindowMs?: number;
  maxConcurrentDisruptions?: number;
};

/** The built-in simulation config. */
export function defaultSimConfig(opts: SimConfigOptions = {}): Config {
  const hosts = opts.hosts ?? 4;
  const cost = { perVcpuHour: 0.02, perGiBHour: 0.0025 };
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
  const shapes = [...(opts.shapes ?? [shapeOf(4, 8)])].sort((a, b) =>
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
