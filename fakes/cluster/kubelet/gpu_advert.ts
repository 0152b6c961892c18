/**
 * The GPUs a Node inside a fake PVE VM advertises, worked out from what the guest really has,
 * the way the GPU stack on a real node does it (the vendor's device plugin registers an extended
 * resource with the kubelet; NVIDIA's GPU feature discovery labels the Node):
 *
 * - Devices: one per `hostpciN` of the VM. What it is comes from the fake PVE: the host PCI
 *   function the VM was given at start (or the mediated-device type, for a vGPU). Display and
 *   3D controllers (PCI class 0x03) are GPUs; a passed-through NIC or NVMe drive is not. A
 *   device the fake PVE cannot tell (a VM never started through the API, an unseeded host id)
 *   counts as one NVIDIA GPU.
 * - Resource name by vendor, as each vendor's device plugin names it: NVIDIA (0x10de)
 *   `nvidia.com/gpu`, AMD (0x1002) `amd.com/gpu`, Intel (0x8086) `gpu.intel.com/i915`.
 * - Time-slicing: NVIDIA's device plugin configuration file (`version: v1`,
 *   `sharing.timeSlicing.resources: [{name, replicas, rename?}]`, `renameByDefault`), when the
 *   VM's NoCloud seed writes one (user-data or `write_files`). Each device is advertised
 *   `replicas` times, under `rename`, or `<name>.shared` with `renameByDefault`.
 * - Labels (identified NVIDIA devices only, as GPU feature discovery sets them): `nvidia.com/gpu.product`
 *   (the lspci model in brackets, or the vGPU type's name; `-SHARED` appended when
 *   time-sliced), `nvidia.com/gpu.count` (physical devices), `nvidia.com/gpu.replicas` and
 *   `nvidia.com/gpu.sharing-strategy` (`time-slicing` or `none`).
 *
 * May import: fakes/.
 */
import { guestPciDevices } from "../../fake_pve/pci.ts";
import type { ModelState, VmState } from "../../fake_pve/state.ts";

/** The NVIDIA device plugin's time-slicing settings. */
export type TimeSlicing = {
  renameByDefault: boolean;
  resources: Array<{ name: string; replicas: number; rename?: string }>;
};

/** What the guest sees on one `hostpciN`: unknown when the fake PVE cannot tell. */
export type GuestDevice = { vendor?: string; class?: string; product?: string };

/** Extended resources and labels the Node gets for its GPUs. */
export type GpuAdvert = { resources: Record<string, number>; labels: Record<string, string> };

const VENDOR_RESOURCE: Record<string, string> = {
  "0x10de": "nvidia.com/gpu",
  "0x1002": "amd.com/gpu",
  "0x8086": "gpu.intel.com/i915",
};
const NVIDIA = "nvidia.com/gpu";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The time-slicing settings of a device plugin config document, or undefined if it is none. */
export function readTimeSlicing(doc: unknown): TimeSlicing | undefined {
  if (!isObj(doc) || !isObj(doc.sharing) || !isObj(doc.sharing.timeSlicing)) return undefined;
  const ts = doc.sharing.timeSlicing;
  const resources = (Array.isArray(ts.resources) ? ts.resources : []).flatMap((r) => {
    if (!isObj(r) || typeof r.name !== "string") return [];
    const replicas = Number(r.replicas);
    if (!Number.isInteger(replicas) || replicas < 1) return [];
    const out: TimeSlicing["resources"][number] = { name: r.name, replicas };
    if (typeof r.rename === "string" && r.rename !== "") out.rename = r.rename;
    return [out];
  });
  return { renameByDefault: ts.renameByDefault === true, resources };
}

/** A device's model as a label value: the bracketed lspci name, else the name, sanitised. */
export function productLabel(name: string): string {
  const inner = /\[([^\]]+)\]/.exec(name)?.[1] ?? name;
  return inner.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
    .slice(0, 56);
}

/** The resources and labels for the guest's devices under the given time-slicing settings. */
export function gpuAdvert(devices: GuestDevice[], sharing?: TimeSlicing): GpuAdvert {
  const counts = new Map<string, number>();
  const products: string[] = [];
  for (const d of devices) {
    if (d.class !== undefined && !d.class.startsWith("0x03")) continue;
    const name = d.vendor === undefined ? NVIDIA : VENDOR_RESOURCE[d.vendor];
    if (!name) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (name === NVIDIA && d.product) products.push(d.product);
  }
  const resources: Record<string, number> = {};
  const labels: Record<string, string> = {};
  for (const [name, n] of counts) {
    const ts = sharing?.resources.find((r) => r.name === name);
    const replicas = ts?.replicas ?? 1;
    const advertised = ts?.rename ?? (ts && sharing!.renameByDefault ? `${name}.shared` : name);
    resources[advertised] = (resources[advertised] ?? 0) + n * replicas;
    // feature discovery labels need a device it can identify
    if (name !== NVIDIA || products.length === 0) continue;
    labels["nvidia.com/gpu.count"] = String(n);
    labels["nvidia.com/gpu.replicas"] = String(replicas);
    labels["nvidia.com/gpu.sharing-strategy"] = ts ? "time-slicing" : "none";
    const p = productLabel(products[0]!);
    labels["nvidia.com/gpu.product"] = ts && !ts.rename && !sharing!.renameByDefault
      ? `${p}-SHARED`
      : p;
  }
  return { resources, labels };
}

/** What the guest sees on each `hostpciN` of a running VM, from the fake PVE's grants. */
export function guestDevices(st: ModelState, vm: VmState): GuestDevice[] {
  const granted = new Map(guestPciDevices(st, vm.vmid).map((g) => [g.key, g]));
  return [...vm.conf.values.keys()].filter((k) => /^hostpci\d+$/.test(k)).sort().map((k) => {
    const g = granted.get(k);
    const d = g?.devices[0];
    if (!g || !d) return {};
    const out: GuestDevice = { vendor: d.vendor, class: d.class ?? "0x030000" };
    const product = g.mdev ? g.mdev.name ?? g.mdev.type : d.device_name;
    if (product) out.product = product;
    return out;
  });
}
