/**
 * Which Proxmox host a new VM goes on. Hosts are scored on CPU and memory after the VM is
 * added, counting every VM already committed to the host (in-flight ones included, by the
 * caller) and the VM's memory overhead, and never beyond the host's configured overcommit.
 */
import type { CostModel, Host, PlacementStrategy, Resources, ShapeGpus } from "./model.ts";
import { describeAsk, takeDevices } from "./gpus.ts";
import { type Reason, reason } from "./reason.ts";
import { err, ok, type Result } from "./result.ts";
import { GiB, humanBytes, humanCpu } from "./quantity.ts";

/** What a VM costs its host: cores*1000 and guest memory + overhead. */
export type Footprint = Resources;

/** The most a host may commit: (capacity - reserved) x overcommit ratio. */
export function hostLimit(h: Host): Resources {
  return {
    cpu: Math.floor(Math.max(0, h.capacity.cpu - h.reserved.cpu) * h.cpuOvercommit),
    memory: Math.floor(Math.max(0, h.capacity.memory - h.reserved.memory) * h.memoryOvercommit),
  };
}

/** Room left on a host, given what is committed to it (plus `extra` planned in this decision). */
export function hostFree(h: Host, extra: Resources = { cpu: 0, memory: 0 }): Resources {
  const limit = hostLimit(h);
  return {
    cpu: limit.cpu - h.committed.cpu - extra.cpu,
    memory: limit.memory - h.committed.memory - extra.memory,
  };
}

export type PlacementInput = {
  hosts: readonly Host[];
  footprint: Footprint;
  strategy: PlacementStrategy;
  /** Resources already planned onto each host in this decision (by host name). */
  planned?: ReadonlyMap<string, Resources>;
  /** Only hosts in these zones qualify (a pod's zone requirement or spread). */
  zones?: ReadonlySet<string>;
  /** VMs of the pool per zone, for the spread strategy. */
  zoneCounts?: ReadonlyMap<string, number>;
  /** Passthrough devices the VM needs (a GPU shape): only hosts with them free qualify. */
  gpus?: ShapeGpus | undefined;
  /** Devices already planned onto each host in this decision (host name, then device key). */
  plannedDevices?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /**
   * The price list of a host's capacity type, when the provider has classes: then the cheapest
   * class with room wins and the strategy only ranks hosts of one price.
   */
  hostCost?: ((h: Host) => CostModel) | undefined;
};

/**
 * Picks a host, or says why none fits. Deterministic: ties go to the host name that sorts first.
 * With `hostCost`, a cheaper host (by its class's price of the footprint) always wins first.
 */
export function chooseHost(input: PlacementInput): Result<Host, Reason> {
  const { footprint, strategy } = input;
  let best: Host | undefined;
  let bestScore = -Infinity;
  let bestPrice = Infinity;
  let offline = 0;
  let wrongZone = 0;
  let full = 0;
  let noDevices = 0;
  let maintenance = 0;
  for (const h of input.hosts) {
    if (!h.online) {
      offline++;
      continue;
    }
    if (h.maintenance !== undefined) {
      maintenance++;
      continue;
    }
    if (input.zones && !input.zones.has(h.zone)) {
      wrongZone++;
      continue;
    }
    // hostLimit and hostFree, worked out without an object per host (this runs for every host
    // each time a VM is placed).
    const limitCpu = Math.floor(Math.max(0, h.capacity.cpu - h.reserved.cpu) * h.cpuOvercommit);
    const limitMemory = Math.floor(
      Math.max(0, h.capacity.memory - h.reserved.memory) * h.memoryOvercommit,
    );
    const extra = input.planned?.get(h.name);
    const freeCpu = limitCpu - h.committed.cpu - (extra === undefined ? 0 : extra.cpu);
    const freeMemory = limitMemory - h.committed.memory - (extra === undefined ? 0 : extra.memory);
    // Written as "not enough room" so that a NaN from a broken inventory counts as full.
    if (!(freeCpu >= footprint.cpu && freeMemory >= footprint.memory)) {
      full++;
      continue;
    }
    if (input.gpus && !takeDevices(h.devices, input.gpus, input.plannedDevices?.get(h.name))) {
      noDevices++;
      continue;
    }
    const cpuFree = limitCpu === 0 ? 0 : (freeCpu - footprint.cpu) / limitCpu;
    const memFree = limitMemory === 0 ? 0 : (freeMemory - footprint.memory) / limitMemory;
    const freeScore = (cpuFree + memFree) / 2;
    let score: number;
    if (strategy === "mostAllocated") score = -freeScore;
    else if (strategy === "spread") score = -(input.zoneCounts?.get(h.zone) ?? 0) * 10 + freeScore;
    else score = freeScore;
    if (input.hostCost) {
      const c = input.hostCost(h);
      const price = (footprint.cpu / 1000) * c.perVcpuHour +
        (footprint.memory / GiB) * c.perGiBHour;
      if (price > bestPrice) continue;
      if (price < bestPrice) {
        best = h;
        bestScore = score;
        bestPrice = price;
        continue;
      }
    }
    if (score > bestScore || (score === bestScore && best !== undefined && h.name < best.name)) {
      best = h;
      bestScore = score;
    }
  }
  if (best) return ok(best);
  return err(
    noHostReason(footprint, full, offline, wrongZone, noDevices, input.gpus, maintenance),
  );
}

/**
 * Why no host can take a VM of this footprint: how many hosts lacked room, were offline, were
 * cordoned or draining for maintenance, or were outside the allowed zones.
 */
export function noHostReason(
  footprint: Footprint,
  full: number,
  offline: number,
  wrongZone: number,
  noDevices = 0,
  gpus?: ShapeGpus,
  maintenance = 0,
): Reason {
  const parts = [];
  if (full) {
    parts.push(
      `${full} without room for ${humanCpu(footprint.cpu)} and ${humanBytes(footprint.memory)}`,
    );
  }
  if (offline) parts.push(`${offline} offline`);
  if (maintenance) parts.push(`${maintenance} cordoned for maintenance`);
  if (wrongZone) parts.push(`${wrongZone} outside the allowed zones`);
  if (noDevices && gpus) parts.push(`${noDevices} without ${describeAsk(gpus)} free`);
  return reason(
    "HostCapacityExhausted",
    `no Proxmox host can take the VM: ${parts.length ? parts.join(", ") : "no hosts configured"}`,
  );
}
