/**
 * GPUs in the simulated world: a host's passthrough devices from the WorldSpec, a GPU VM's
 * devices committed to its host from its clone until it is destroyed (and refused when the host
 * has none of them free, as Proxmox refuses to start a second VM on a mapping in use), and the
 * extended resources (nvidia.com/gpu) a Ready node advertises and its pods use.
 *
 * May import: core/, sim/engine/world_spec.ts (types).
 */
import type { Host, HostDevices, ShapeGpus } from "../../core/model.ts";
import { takeDevices } from "../../core/gpus.ts";
import type { HostGpus } from "./world_spec.ts";

/** The device groups of a host built from the world's GPUs; undefined when it has none. */
export function hostDevicesOf(gpus: readonly HostGpus[] | undefined): HostDevices[] | undefined {
  if (!gpus || gpus.length === 0) return undefined;
  return gpus.map((g) => ({
    mapping: g.mapping,
    ...(g.model !== undefined ? { model: g.model } : {}),
    free: g.count,
  }));
}

/** Devices a VM holds on its host: the group's mapping, the mdev type if any, how many. */
export type HeldDevices = { mapping: string; mdev?: string; count: number };

/**
 * Commits the devices `ask` needs on `host` (the first group, in the host's order, with enough
 * free), or returns undefined and leaves the host untouched when none has them. The host's
 * devices list is replaced, never changed in place, so a Snapshot taken before keeps its view.
 */
export function commitDevices(host: Host, ask: ShapeGpus): HeldDevices | undefined {
  const d = takeDevices(host.devices, ask, undefined);
  if (!d) return undefined;
  const held: HeldDevices = {
    mapping: d.mapping,
    count: ask.count,
    ...(ask.mdev !== undefined ? { mdev: ask.mdev } : {}),
  };
  host.devices = moveDevices(host.devices!, held, -1);
  return held;
}

/** Gives `held` back to `host` (the VM was destroyed or its clone failed). */
export function releaseDevices(host: Host, held: HeldDevices): void {
  if (host.devices) host.devices = moveDevices(host.devices, held, 1);
}

function moveDevices(devices: readonly HostDevices[], held: HeldDevices, sign: 1 | -1) {
  return devices.map((d) => {
    if (d.mapping !== held.mapping) return d;
    if (held.mdev === undefined) return { ...d, free: d.free + sign * held.count };
    const left = d.mdev?.[held.mdev] ?? 0;
    return { ...d, mdev: { ...d.mdev, [held.mdev]: left + sign * held.count } };
  });
}

/** Does a node with `alloc` extended resources and `used` of them take `ext` more? */
export function fitsExtended(
  alloc: Readonly<Record<string, number>> | undefined,
  used: Readonly<Record<string, number>> | undefined,
  ext: Readonly<Record<string, number>>,
): boolean {
  for (const k in ext) {
    if ((used?.[k] ?? 0) + ext[k]! > (alloc?.[k] ?? 0)) return false;
  }
  return true;
}

/** Adds `ext` times `sign` into `into`, returning it. */
export function addInto(
  into: Record<string, number>,
  ext: Readonly<Record<string, number>>,
  sign: 1 | -1,
): Record<string, number> {
  for (const k in ext) into[k] = (into[k] ?? 0) + sign * ext[k]!;
  return into;
}

/** Any device group of any host with fewer than zero free (an accounting bug). */
export function overcommittedDevices(host: Host): string | undefined {
  for (const d of host.devices ?? []) {
    if (d.free < 0) return d.mapping;
    for (const [t, n] of Object.entries(d.mdev ?? {})) if (n < 0) return `${d.mapping}/${t}`;
  }
  return undefined;
}
