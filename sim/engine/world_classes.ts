/**
 * Host classes (capacity types) in the simulated world: the `capacityTypes` price table and the
 * hosts' classes of a world file, how they reach the configuration every policy runs with, and
 * the reclaim events that take a host away (a schedule, or a rate per hour for each
 * preemptible host drawn from the seeded random stream).
 *
 * May import: core/model.ts, core/cost.ts, sim/engine/rng.ts.
 */
import type { Config, CostModel } from "../../core/model.ts";
import { DEFAULT_CAPACITY_TYPE } from "../../core/cost.ts";
import { Rng } from "./rng.ts";

/** One scheduled reclaim: the host is taken at `at` (ms into the run). */
export type ScheduledReclaim = { at: number; host: string };

/**
 * Reclaim events: scheduled ones, and `ratePerHour` reclaims per hour of each preemptible host
 * (a Poisson process). A reclaimed host destroys its VMs and is offline for `downFor` ms.
 */
export type ReclaimSpec = {
  schedule: ScheduledReclaim[];
  ratePerHour: number;
  downFor: number;
};

/** The world's host classes: prices per class, and reclaims. */
export type WorldClasses = {
  capacityTypes?: Record<string, CostModel>;
  reclaims?: ReclaimSpec;
};

/** The class of a host of the world (`capacityType` of its hosts entry), if the world says one. */
export type ClassedHost = { name: string; capacityType?: string };

/** Does the world give hosts classes (then the report counts cost and evictions per class)? */
export function worldHasClasses(
  w: WorldClasses & { hosts: readonly ClassedHost[] },
): boolean {
  return w.capacityTypes !== undefined || w.hosts.some((h) => h.capacityType !== undefined);
}

/**
 * The configuration with the world's classes: each provider host gets its world class
 * (`standard` when the world names none) and each provider the world's price table. A world
 * without classes returns the configuration unchanged.
 */
export function withWorldClasses(
  config: Config,
  w: WorldClasses & { hosts: readonly ClassedHost[] },
): Config {
  if (!worldHasClasses(w)) return config;
  const byName = new Map(w.hosts.map((h) => [h.name, h.capacityType]));
  return {
    ...config,
    providers: config.providers.map((p) => ({
      ...p,
      capacityTypes: { ...p.capacityTypes, ...w.capacityTypes },
      hosts: p.hosts.map((h) => ({
        ...h,
        capacityType: byName.get(h.name) ?? h.capacityType ?? DEFAULT_CAPACITY_TYPE,
      })),
    })),
  };
}

/**
 * Every reclaim of a run up to `horizon`, in time order (ties by host name): the schedule, and
 * for each host of class `preemptible` a Poisson process of `ratePerHour` from its own random
 * stream (so adding a host does not move another host's reclaims).
 */
export function reclaimTimes(
  spec: ReclaimSpec | undefined,
  hosts: readonly { name: string; capacityType?: string }[],
  seed: number,
  horizon: number,
): ScheduledReclaim[] {
  if (!spec) return [];
  const out = spec.schedule.filter((r) => r.at <= horizon).map((r) => ({ ...r }));
  if (spec.ratePerHour > 0) {
    const mean = 3_600_000 / spec.ratePerHour;
    for (const h of hosts) {
      if (h.capacityType !== "preemptible") continue;
      const rng = Rng.derive(seed, `reclaim/${h.name}`);
      let t = rng.exponential(mean);
      while (t <= horizon) {
        out.push({ at: Math.round(t), host: h.name });
        t += spec.downFor + rng.exponential(mean);
      }
    }
  }
  return out.sort((a, b) => a.at - b.at || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/**
 * Reads `capacityTypes` and `reclaims` of a world file into `into`, or says what is wrong.
 */
export function classesFrom(o: Record<string, unknown>, into: WorldClasses): string | undefined {
  const num = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (o.capacityTypes !== undefined) {
    const t = o.capacityTypes;
    if (typeof t !== "object" || t === null || Array.isArray(t)) {
      return "capacityTypes must map a class name to {perVcpuHour, perGiBHour}";
    }
    const out: Record<string, CostModel> = {};
    for (const [k, v] of Object.entries(t as Record<string, Record<string, unknown>>)) {
      if (!num(v?.perVcpuHour) || !num(v?.perGiBHour)) {
        return `capacityTypes.${k} needs perVcpuHour and perGiBHour (numbers >= 0)`;
      }
      out[k] = { perVcpuHour: v.perVcpuHour as number, perGiBHour: v.perGiBHour as number };
    }
    into.capacityTypes = out;
  }
  if (o.reclaims !== undefined) {
    const r = o.reclaims as Record<string, unknown>;
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      return "reclaims must be {schedule?: [{at, host}], ratePerHour?, downFor?}";
    }
    for (const k of Object.keys(r)) {
      if (!["schedule", "ratePerHour", "downFor"].includes(k)) {
        return `unknown field "reclaims.${k}"`;
      }
    }
    const schedule = r.schedule ?? [];
    if (
      !Array.isArray(schedule) ||
      !schedule.every((s) => num(s?.at) && typeof s?.host === "string" && s.host !== "")
    ) {
      return "reclaims.schedule must be a list of {at (ms), host}";
    }
    if (r.ratePerHour !== undefined && !num(r.ratePerHour)) {
      return "reclaims.ratePerHour must be a number >= 0";
    }
    if (r.downFor !== undefined && !num(r.downFor)) {
      return "reclaims.downFor must be ms >= 0";
    }
    into.reclaims = {
      schedule: schedule.map((s: ScheduledReclaim) => ({ at: s.at, host: s.host })),
      ratePerHour: (r.ratePerHour as number | undefined) ?? 0,
      downFor: (r.downFor as number | undefined) ?? 30 * 60_000,
    };
  }
  return undefined;
}
