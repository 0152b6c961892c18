/**
 * Pool usage and limits. One footprint function is used everywhere a VM is counted: its vCPUs,
 * and its guest memory plus the per-VM overhead the host pays (vmMemOverhead), so a pool's
 * memory limit means host memory, not only what the guests see.
 */
import type { MachineTemplate, NodeClaim, NodePool, Resources } from "./model.ts";
import { humanBytes, humanCpu } from "./quantity.ts";
import { type Reason, reason } from "./reason.ts";

/** What one VM of `shape` costs a pool's limits and its host. */
export function footprint(shape: Resources, template: MachineTemplate): Resources {
  return { cpu: shape.cpu, memory: shape.memory + template.vmMemOverhead };
}

/** A pool's usage: vCPUs, host memory, VMs and passthrough GPUs (absent: none counted yet). */
export type PoolUsage = Resources & { nodes: number; gpus?: number };

/** Usage of `pool` by its NodeClaims (in flight and deleting ones included: their VMs exist). */
export function poolUsage(
  pool: NodePool,
  claims: readonly NodeClaim[],
  templates: ReadonlyMap<string, MachineTemplate>,
): PoolUsage {
  const u: PoolUsage = { cpu: 0, memory: 0, nodes: 0 };
  for (const c of claims) {
    if (c.nodePool !== pool.name) continue;
    const t = templates.get(c.machineTemplate);
    const f = t ? footprint(c.shape, t) : { cpu: c.shape.cpu, memory: c.shape.memory };
    u.cpu += f.cpu;
    u.memory += f.memory;
    u.nodes += 1;
    if (c.shape.gpus) u.gpus = (u.gpus ?? 0) + c.shape.gpus.count;
  }
  return u;
}

/**
 * Would adding `extra` (and `extraNodes` VMs) to `usage` stay within the pool's limits?
 * Returns undefined when it would, or the Reason naming the first limit it breaks.
 */
export function exceedsLimits(
  pool: NodePool,
  usage: PoolUsage,
  extra: Resources,
  extraNodes: number,
  overhead: number,
  extraGpus = 0,
): Reason | undefined {
  const l = pool.limits;
  if (l.cpu !== undefined && usage.cpu + extra.cpu > l.cpu) {
    return reason(
      "PoolLimitReached",
      `pool '${pool.name}' cpu limit ${humanCpu(l.cpu)} reached (in use ${
        humanCpu(usage.cpu)
      }, new VM needs ${humanCpu(extra.cpu)})`,
    );
  }
  if (l.memory !== undefined && usage.memory + extra.memory > l.memory) {
    return reason(
      "PoolLimitReached",
      `pool '${pool.name}' memory limit ${humanBytes(l.memory)} reached (in use ${
        humanBytes(usage.memory)
      }, new VM needs ${humanBytes(extra.memory)} incl. ${humanBytes(overhead)} overhead)`,
    );
  }
  if (l.gpus !== undefined && extraGpus > 0 && (usage.gpus ?? 0) + extraGpus > l.gpus) {
    return reason(
      "PoolLimitReached",
      `pool '${pool.name}' GPU limit ${l.gpus} reached (in use ${
        usage.gpus ?? 0
      }, new VM needs ${extraGpus})`,
    );
  }
  if (l.nodes !== undefined && usage.nodes + extraNodes > l.nodes) {
    return reason(
      "PoolLimitReached",
      `pool '${pool.name}' node limit ${l.nodes} reached (${usage.nodes} VMs)`,
    );
  }
  return undefined;
}
