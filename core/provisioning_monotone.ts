/**
 * When provisioning may treat "no room" as final. With fixed shapes listed so that each one is
 * at least as large as the one before it (in vCPU and memory) and a cost model that charges
 * nothing negative, the shape chosen for a bigger need is never smaller, so a claim only ever
 * grows, a host's planned load only rises and a pool's usage only rises during one decision.
 * Then a claim or host that cannot take the smallest pod of a class now never can, and a
 * footprint no host can take stays untakable: provisioning counts such pods instead of
 * scanning again. Flexible templates (sizes computed from the need) get no such shortcut.
 *
 * May import: nothing outside core/.
 */
import { hasGpuShapes } from "./shapes.ts";
import type { Config, Host, Resources } from "./model.ts";
import type { Reason } from "./reason.ts";

/** Do shapes only grow in this configuration (every template's fixed shapes form a chain)? */
export function shapesOnlyGrow(config: Config): boolean {
  const cost = config.settings.cost;
  if (!(cost.perVcpuHour >= 0 && cost.perGiBHour >= 0)) return false;
  for (const t of config.machineTemplates) {
    // GPU shapes also need free devices on a host: "no room" there is not only cpu and memory.
    if (t.flexible || hasGpuShapes(t)) return false;
    for (let i = 1; i < t.shapes.length; i++) {
      const a = t.shapes[i - 1]!;
      const b = t.shapes[i]!;
      if (!(a.cpu <= b.cpu && a.memory <= b.memory)) return false;
    }
  }
  return true;
}

/** A footprint no host of a pool could take, for one set of allowed zones, and the counts why. */
export type HostsFull = {
  zones: string;
  cpu: number;
  memory: number;
  full: number;
  offline: number;
  wrongZone: number;
  /** Online hosts cordoned or draining for maintenance (absent: none). */
  maintenance?: number;
  /** The reason already written per footprint cpu and memory (the same words every time). */
  reasons: Map<number, Map<number, Reason>>;
};

/** Does `fp` need at least as much as the footprint already known not to fit? */
export function atLeast(fp: Resources, known: { cpu: number; memory: number }): boolean {
  return fp.cpu >= known.cpu && fp.memory >= known.memory;
}

/** The counts chooseHost reports when no host of `hosts` in `zones` has room for `fp`. */
export function hostsFullFor(
  hosts: readonly Host[],
  zones: readonly string[],
  key: string,
  fp: Resources,
): HostsFull {
  let offline = 0;
  let wrongZone = 0;
  let maintenance = 0;
  for (const h of hosts) {
    if (!h.online) offline++;
    else if (h.maintenance !== undefined) maintenance++;
    else if (!zones.includes(h.zone)) wrongZone++;
  }
  const full = hosts.length - offline - wrongZone - maintenance;
  const reasons = new Map<number, Map<number, Reason>>();
  return {
    zones: key,
    cpu: fp.cpu,
    memory: fp.memory,
    full,
    offline,
    wrongZone,
    reasons,
    ...(maintenance ? { maintenance } : {}),
  };
}
