/**
 * The cost model. On-prem VMs have no price list, so cost is what the operator says a vCPU-hour
 * and a GiB-hour of host memory (and a GPU-hour) are worth; the VM's memory overhead counts, because
 * the host pays it.
 */
import type { CostModel, Shape } from "./model.ts";
import { GiB } from "./quantity.ts";

/** Cost per hour of one VM of `shape`, with `overhead` bytes of host memory beyond the guest's. */
export function shapeCost(
  shape: { cpu: number; memory: number; gpus?: Shape["gpus"] },
  overhead: number,
  cost: CostModel,
): number {
  const c = (shape.cpu / 1000) * cost.perVcpuHour +
    ((shape.memory + overhead) / GiB) * cost.perGiBHour;
  // Added only for a GPU shape, so that every other shape's cost is the same number as before.
  const gpus = shape.gpus?.count ?? 0;
  return gpus === 0 ? c : c + gpus * (cost.perGpuHour ?? 0);
}

/** Cost of running `shape` for `ms` milliseconds. */
export function shapeCostFor(shape: Shape, overhead: number, cost: CostModel, ms: number): number {
  return shapeCost(shape, overhead, cost) * (ms / 3_600_000);
}
