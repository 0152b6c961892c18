/**
 * The cost model. On-prem VMs have no price list, so cost is what the operator says a vCPU-hour
 * and a GiB-hour of host memory (and a GPU-hour) are worth; the VM's memory overhead counts, because
 * the host pays it.
 */
import type { CostModel, Provider, Shape } from "./model.ts";
import { CAPACITY_TYPE_LABEL_KEY } from "./labels.ts";
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

/** The capacity type a host without one counts as. */
export const DEFAULT_CAPACITY_TYPE = "standard";

/**
 * The price list of a capacity type of `provider`: its class entry, else the settings' `base`
 * (which also keeps its per-GPU price when the class does not name one).
 */
export function classCost(
  provider: Pick<Provider, "capacityTypes"> | undefined,
  capacityType: string | undefined,
  base: CostModel,
): CostModel {
  const c = capacityType === undefined ? undefined : provider?.capacityTypes?.[capacityType];
  if (!c) return base;
  return c.perGpuHour === undefined && base.perGpuHour !== undefined
    ? { ...c, perGpuHour: base.perGpuHour }
    : c;
}

/**
 * The price list of a claim: its provider's price for the capacity type it records in its
 * labels, else `settings.cost`.
 */
export function claimCostModel(
  config: { providers: readonly Provider[]; settings: { cost: CostModel } },
  claim: { provider: string; labels: Record<string, string> },
): CostModel {
  const type = claim.labels[CAPACITY_TYPE_LABEL_KEY];
  if (type === undefined) return config.settings.cost;
  const provider = config.providers.find((p) => p.name === claim.provider);
  return classCost(provider, type, config.settings.cost);
}
