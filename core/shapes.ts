/**
 * Picking a VM size. A MachineTemplate offers fixed shapes, a flexible range, or both; the
 * answer is always the cheapest shape whose allocatable (shape minus kubelet reservations)
 * holds what is asked. Flexible sizing is what Proxmox allows and clouds do not: a VM can be
 * made exactly as large as its pods need, rounded up to the template's steps.
 */
import type { CostModel, MachineTemplate, Resources, Shape, ShapeGpus } from "./model.ts";
import { shapeCost } from "./cost.ts";
import { gpuOffer } from "./gpus.ts";
import { formatMemory } from "./quantity.ts";

/** Display name of a size: "4c-8Gi". */
export function sizeName(cpu: number, memory: number): string {
  return `${cpu / 1000}c-${formatMemory(memory)}`;
}

/** kubeletKeeps's answer per template, while its reserved object and threshold stay the same. */
const keptByTemplate = new WeakMap<
  MachineTemplate,
  { from: Resources; eviction: number; sum: Resources }
>();

/**
 * What the kubelet of a VM made from `template` keeps back from its size: the reservations plus
 * the hard eviction threshold for memory, as the kubelet computes allocatable. Without the
 * threshold a pod asking for the last 100Mi of a shape gets a VM its kubelet will not admit it
 * to, and the empty VM is consolidated and launched again, over and over.
 */
export function kubeletKeeps(template: MachineTemplate): Resources {
  const eviction = template.evictionHardMemory;
  if (!eviction) return template.reserved;
  // Asked per pod class and per claim opened: one object per template, not one per call.
  let k = keptByTemplate.get(template);
  if (k?.from !== template.reserved || k.eviction !== eviction) {
    k = {
      from: template.reserved,
      eviction,
      sum: { cpu: template.reserved.cpu, memory: template.reserved.memory + eviction },
    };
    keptByTemplate.set(template, k);
  }
  return k.sum;
}

/** What pods can use on a VM of `shape` made from `template`. */
export function allocatable(template: MachineTemplate, shape: Resources): Resources {
  const kept = kubeletKeeps(template);
  return { cpu: shape.cpu - kept.cpu, memory: shape.memory - kept.memory };
}

function roundUp(value: number, min: number, step: number): number {
  if (value <= min) return min;
  return min + Math.ceil((value - min) / step) * step;
}

/**
 * Which shapes may be chosen as far as GPUs go: a number is the GPU units the pods need (0: a
 * shape without GPUs, so that no passthrough device is spent on pods that do not use it);
 * `same` keeps a claim's GPUs as they are while it grows; "any" ignores GPUs (a question about
 * the template's shapes, not a choice for pods).
 */
export type GpuFit = number | { same: ShapeGpus | undefined } | "any";

/** The same GPU ask: count, mapping, model and mdev type. */
export function sameGpus(a: ShapeGpus | undefined, b: ShapeGpus | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.count === b.count && a.mapping === b.mapping && a.model === b.model &&
    a.mdev === b.mdev;
}

/** May `s` be chosen under `fit`? */
export function gpuFits(template: MachineTemplate, s: Shape, fit: GpuFit): boolean {
  if (fit === "any") return true;
  if (typeof fit === "number") {
    return fit === 0 ? s.gpus === undefined : gpuOffer(template, s) >= fit;
  }
  return sameGpus(s.gpus, fit.same);
}

const gpuShaped = new WeakMap<MachineTemplate, boolean>();

/** Does some fixed shape of the template have GPUs? (Remembered per template object.) */
export function hasGpuShapes(template: MachineTemplate): boolean {
  let has = gpuShaped.get(template);
  if (has === undefined) {
    has = template.shapes.some((s) => s.gpus !== undefined);
    gpuShaped.set(template, has);
  }
  return has;
}

/**
 * The GPU filter `cheapestShape` and its requirement-aware variant apply: undefined when no
 * shape of the template can be refused for its GPUs (then the hot path skips the check).
 */
export function gpuFilter(
  template: MachineTemplate,
  gpus: GpuFit,
): ((s: Shape) => boolean) | undefined {
  if (!hasGpuShapes(template) && (gpus === 0 || gpus === "any")) return undefined;
  return (s) => gpuFits(template, s, gpus);
}

/** A flexible size, which never has GPUs: may one be chosen under `gpus`? */
function flexibleAllowed(gpus: GpuFit): boolean {
  return gpus === 0 || gpus === "any" || (typeof gpus === "object" && gpus.same === undefined);
}

/**
 * The cheapest shape whose allocatable holds `need` (pod requests incl. DaemonSet overhead)
 * and whose GPUs meet `gpus` (by default: no GPUs), or undefined when none does.
 */
export function cheapestShape(
  template: MachineTemplate,
  need: Resources,
  cost: CostModel,
  gpus: GpuFit = 0,
): Shape | undefined {
  const kept = kubeletKeeps(template);
  const wantCpu = need.cpu + kept.cpu;
  const wantMem = need.memory + kept.memory;
  const allowed = gpuFilter(template, gpus);
  let best: Shape | undefined;
  // Fixed shapes are sorted by cost, so the first that fits is the cheapest of them.
  for (const s of template.shapes) {
    if (s.cpu >= wantCpu && s.memory >= wantMem && (!allowed || allowed(s))) {
      best = s;
      break;
    }
  }
  const f = template.flexible;
  // Flexible sizes have no GPUs.
  if (f && flexibleAllowed(gpus)) {
    // VMs get whole cores: the cpu step is at least one core.
    const cpuStep = Math.max(1000, Math.ceil(f.cpu.step / 1000) * 1000);
    const cpu = roundUp(Math.ceil(wantCpu / 1000) * 1000, f.cpu.min, cpuStep);
    const memory = roundUp(wantMem, f.memory.min, f.memory.step);
    if (cpu <= f.cpu.max && memory <= f.memory.max) {
      const flex = { name: sizeName(cpu, memory), cpu, memory };
      if (
        !best ||
        shapeCost(flex, template.vmMemOverhead, cost) <
          shapeCost(best, template.vmMemOverhead, cost)
      ) {
        best = flex;
      }
    }
  }
  return best;
}

/** The largest allocatable any shape of the template offers, per resource (an upper bound). */
export function largestAllocatable(template: MachineTemplate): Resources {
  let cpu = 0;
  let memory = 0;
  for (const s of template.shapes) {
    cpu = Math.max(cpu, s.cpu);
    memory = Math.max(memory, s.memory);
  }
  if (template.flexible) {
    cpu = Math.max(cpu, template.flexible.cpu.max);
    memory = Math.max(memory, template.flexible.memory.max);
  }
  return allocatable(template, { cpu, memory });
}
