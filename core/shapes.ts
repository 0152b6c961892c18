/**
 * Picking a VM size. A MachineTemplate offers fixed shapes, a flexible range, or both; the
 * answer is always the cheapest shape whose allocatable (shape minus kubelet reservations)
 * holds what is asked. Flexible sizing is what Proxmox allows and clouds do not: a VM can be
 * made exactly as large as its pods need, rounded up to the template's steps.
 */
import type { CostModel, MachineTemplate, Resources, Shape } from "./model.ts";
import { shapeCost } from "./cost.ts";
import { formatMemory } from "./quantity.ts";

/** Display name of a size: "4c-8Gi". */
export function sizeName(cpu: number, memory: number): string {
  return `${cpu / 1000}c-${formatMemory(memory)}`;
}

/** What pods can use on a VM of `shape` made from `template`. */
export function allocatable(template: MachineTemplate, shape: Resources): Resources {
  return {
    cpu: shape.cpu - template.reserved.cpu,
    memory: shape.memory - template.reserved.memory,
  };
}

function roundUp(value: number, min: number, step: number): number {
  if (value <= min) return min;
  return min + Math.ceil((value - min) / step) * step;
}

/**
 * The cheapest shape whose allocatable holds `need` (pod requests incl. DaemonSet overhead),
 * or undefined when none does.
 */
export function cheapestShape(
  template: MachineTemplate,
  need: Resources,
  cost: CostModel,
): Shape | undefined {
  const wantCpu = need.cpu + template.reserved.cpu;
  const wantMem = need.memory + template.reserved.memory;
  let best: Shape | undefined;
  // Fixed shapes are sorted by cost, so the first that fits is the cheapest of them.
  for (const s of template.shapes) {
    if (s.cpu >= wantCpu && s.memory >= wantMem) {
      best = s;
      break;
    }
  }
  const f = template.flexible;
  if (f) {
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
