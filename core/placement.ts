/**
 * Which Proxmox host a new VM goes on. Hosts are scored on CPU and memory after the VM is
 * added, counting every VM already committed to the host (in-flight ones included, by the
 * caller) and the VM's memory overhead, and never beyond the host's configured overcommit.
 */
import type { Host, PlacementStrategy, Resources } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { err, ok, type Result } from "./result.ts";
import { humanBytes, humanCpu } from "./quantity.ts";

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
};

/**
 * Picks a host, or says why none fits. Deterministic: ties go to the host name that sorts first.
 */
export function chooseHost(input: PlacementInput): Result<Host, Reason> {
  const { footprint, strategy } = input;
  let best: Host | undefined;
  let bestScore = -Infinity;
  let offline = 0;
  let wrongZone = 0;
  let full = 0;
  for (const h of input.hosts) {
    if (!h.online) {
      offline++;
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
    const cpuFree = limitCpu === 0 ? 0 : (freeCpu - footprint.cpu) / limitCpu;
    const memFree = limitMemory === 0 ? 0 : (freeMemory - footprint.memory) / limitMemory;
    const freeScore = (cpuFree + memFree) / 2;
    let score: number;
    if (strategy === "mostAllocated") score = -freeScore;
    else if (strategy === "spread") score = -(input.zoneCounts?.get(h.zone) ?? 0) * 10 + freeScore;
    else score = freeScore;
    if (score > bestScore || (score === bestScore && best !== undefined && h.name < best.name)) {
      best = h;
      bestScore = score;
    }
  }
  if (best) return ok(best);
  return err(noHostReason(footprint, full, offline, wrongZone));
}

/**
 * Why no host can take a VM of this footprint: how many hosts lacked room, were offline, or
 * were outside the allowed zones.
 */
export function noHostReason(
  footprint: Footprint,
  full: number,
  offline: number,
  wrongZone: number,
): Reason {
  const parts = [];
  if (full) {
    parts.push(
      `${full} without room for ${humanCpu(footprint.cpu)} and ${humanBytes(footprint.memory)}`,
    );
  }
  if (offline) parts.push(`${offline} offline`);
  if (wrongZone) parts.push(`${wrongZone} outside the allowed zones`);
  return reason(
    "HostCapacityExhausted",
    `no Proxmox host can take the VM: ${parts.length ? parts.join(", ") : "no hosts configured"}`,
  );
}
