/**
 * GPUs and other PCI passthrough devices as a resource of VM shapes and hosts. A shape may ask
 * for `count` devices of a PVE resource mapping (or of any mapping with devices of a model),
 * whole or as mediated devices (vGPU types); a host offers the devices of each mapping that no
 * VM holds yet. Pods see them as an extended resource (nvidia.com/gpu unless the template names
 * another), multiplied by the template's time-slicing replicas.
 *
 * May import: core/ only.
 */
import type { HostDevices, MachineTemplate, Shape, ShapeGpus } from "./model.ts";

/** The extended resource GPUs are advertised as when the template does not name one. */
export const DEFAULT_GPU_RESOURCE = "nvidia.com/gpu";

/** The extended resource the template's GPUs reach pods as. */
export function gpuResource(template: MachineTemplate): string {
  return template.gpu?.resourceName ?? DEFAULT_GPU_RESOURCE;
}

/**
 * The GPU units a pod asking `ext` needs from a shape's own GPUs: what the template's
 * extendedResources already gives every VM (the older way to say "these VMs have a GPU") is
 * not asked of the shape again.
 */
export function gpuUnitsFromShape(
  template: MachineTemplate,
  ext: Readonly<Record<string, number>>,
): number {
  const name = gpuResource(template);
  const asked = ext[name] ?? 0;
  return asked === 0 ? 0 : Math.max(0, asked - (template.extendedResources?.[name] ?? 0));
}

/** How many units of the GPU resource one VM of `shape` advertises (0 without GPUs). */
export function gpuOffer(template: MachineTemplate, shape: Shape): number {
  const n = shape.gpus?.count ?? 0;
  return n === 0 ? 0 : n * (template.gpu?.replicas ?? 1);
}

/**
 * Every extended resource a VM of `shape` offers its pods: the template's own
 * (extendedResources) plus the shape's GPUs. Undefined when it offers none.
 */
export function offeredExtended(
  template: MachineTemplate,
  shape: Shape,
): Record<string, number> | undefined {
  const gpus = gpuOffer(template, shape);
  if (gpus === 0) return template.extendedResources;
  const name = gpuResource(template);
  const base = template.extendedResources ?? {};
  return { ...base, [name]: (base[name] ?? 0) + gpus };
}

/**
 * The most of each extended resource any one VM of the template offers (its largest GPU shape):
 * what decides whether a pod's request could ever be met by the template.
 */
export function mostOffered(template: MachineTemplate): Record<string, number> | undefined {
  let most = 0;
  let shape: Shape | undefined;
  for (const s of template.shapes) {
    const n = gpuOffer(template, s);
    if (n > most) [most, shape] = [n, s];
  }
  return shape ? offeredExtended(template, shape) : template.extendedResources;
}

/** Does the host's device group serve this ask (its mapping, or a device of its model)? */
export function servesAsk(d: HostDevices, ask: ShapeGpus): boolean {
  if (ask.mapping !== undefined && d.mapping !== ask.mapping) return false;
  if (ask.model !== undefined) {
    if (d.model === undefined || !d.model.toLowerCase().includes(ask.model.toLowerCase())) {
      return false;
    }
  }
  if (ask.mdev !== undefined && d.mdev?.[ask.mdev] === undefined) return false;
  return true;
}

/** The key a planned use of `d` is counted under: the mapping, or the mapping's mdev type. */
export function deviceKey(d: HostDevices, ask: ShapeGpus): string {
  return ask.mdev === undefined ? d.mapping : `${d.mapping}/${ask.mdev}`;
}

/** Devices of `d` still free for `ask` after `planned` (uses planned in this decision). */
export function devicesLeft(
  d: HostDevices,
  ask: ShapeGpus,
  planned: ReadonlyMap<string, number> | undefined,
): number {
  const total = ask.mdev === undefined ? d.free : d.mdev?.[ask.mdev] ?? 0;
  return total - (planned?.get(deviceKey(d, ask)) ?? 0);
}

/**
 * The device group of `devices` a VM asking `ask` takes (the first, in the host's order, with
 * enough left), or undefined when none has.
 */
export function takeDevices(
  devices: readonly HostDevices[] | undefined,
  ask: ShapeGpus,
  planned: ReadonlyMap<string, number> | undefined,
): HostDevices | undefined {
  for (const d of devices ?? []) {
    if (servesAsk(d, ask) && devicesLeft(d, ask, planned) >= ask.count) return d;
  }
  return undefined;
}

/** Words for an ask: "1 GPU of mapping 'a100'", "2 GPUs of model 'T4' as mdev nvidia-222". */
export function describeAsk(ask: ShapeGpus): string {
  const what = `${ask.count} GPU${ask.count === 1 ? "" : "s"}`;
  const of = ask.mapping !== undefined
    ? ` of mapping '${ask.mapping}'`
    : ask.model !== undefined
    ? ` of model '${ask.model}'`
    : "";
  return `${what}${of}${ask.mdev !== undefined ? ` as mdev ${ask.mdev}` : ""}`;
}
