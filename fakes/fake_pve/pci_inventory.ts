/**
 * The PCI hardware and mappings of the fake PVE cluster: the PCI functions each host has (what
 * `lspci` and sysfs would show, with mediated-device types and their instance limits), the
 * cluster-wide PCI resource mappings (`/etc/pve/mapping/pci.cfg`, its digest), what a VM holds
 * since its start, and the seeding helpers tests and the fake cluster use (`gpuSeed`).
 *
 * State lives beside ModelState (one PciState per model, created on first use).
 *
 * May import: fakes/fake_pve/.
 */
import { createHash } from "node:crypto";
import type { ModelState } from "./state.ts";

/** A mediated device type a device offers; `available` is the instance limit when none run. */
export type MdevTypeSpec = { type: string; available: number; description?: string; name?: string };

/** One PCI function of a host, as `lspci` and sysfs describe it. Ids are lower-case hex. */
export type PciDeviceSpec = {
  /** full address `0000:01:00.0` */
  id: string;
  /** `0x030200` (3D controller); default `0x030000` (VGA) */
  class?: string;
  vendor: string;
  device: string;
  vendor_name?: string;
  device_name?: string;
  subsystem_vendor?: string;
  subsystem_device?: string;
  /** default: a group of its own */
  iommugroup?: number;
  /** mediated device types (makes the device `mdev` capable) */
  mdevTypes?: MdevTypeSpec[];
};

/** A cluster PCI mapping as `POST /cluster/mapping/pci` takes it. */
export type PciMappingSpec = { id: string; description?: string; mdev?: boolean; map: string[] };

/** Seeding: devices per host (besides every host's chipset, SATA and NIC) and mappings. */
export type PciSeed = {
  devices?: Record<string, PciDeviceSpec[]>;
  mappings?: PciMappingSpec[];
};

/** A stored mapping: the section of pci.cfg. */
export type PciMapping = { description?: string; mdev?: boolean; map: string[] };

/** What one `hostpciN` of a running VM got at start: host functions and the mdev type, if any. */
export type HostpciGrant = { key: string; ids: string[]; mdev?: string };

/** What a VM holds since its last start (counted only while it runs). */
export type Claim = {
  node: string;
  whole: string[];
  mdev: Array<{ pciId: string; type: string }>;
  grants: HostpciGrant[];
};

/** The PCI side of one fake cluster. */
export class PciState {
  readonly devices = new Map<string, PciDeviceSpec[]>();
  readonly mappings = new Map<string, PciMapping>();
  /** What each VM holds since its last start (counted only while it runs). */
  readonly claims = new Map<number, Claim>();
}

const STATES = new WeakMap<ModelState, PciState>();

/** The PCI state of a model (created empty on first use). */
export function pciState(st: ModelState): PciState {
  let s = STATES.get(st);
  if (!s) {
    s = new PciState();
    STATES.set(st, s);
  }
  return s;
}

/** Devices every host has: a host bridge, a SATA controller and a NIC. */
export function baseDevices(): PciDeviceSpec[] {
  const intel = { vendor: "0x8086", vendor_name: "Intel Corporation" };
  return [
    { id: "0000:00:00.0", class: "0x060000", ...intel, device: "0x1e00", iommugroup: 0 },
    {
      id: "0000:00:1f.2",
      class: "0x010601",
      ...intel,
      device: "0xa182",
      device_name: "C620 Series Chipset Family SATA Controller [AHCI mode]",
      iommugroup: 1,
    },
    {
      id: "0000:03:00.0",
      class: "0x020000",
      ...intel,
      device: "0x1521",
      device_name: "I350 Gigabit Network Connection",
      iommugroup: 2,
    },
  ];
}

/** Every PCI function of a host, sorted by address (base devices included). */
export function hostDevices(st: ModelState, node: string): PciDeviceSpec[] {
  const extra = pciState(st).devices.get(node) ?? [];
  const all = [...baseDevices(), ...extra];
  return all.map((d, i) => ({ ...d, iommugroup: d.iommugroup ?? 100 + i }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Adds devices to a host (tests, the fake cluster's --gpus). */
export function addPciDevices(st: ModelState, node: string, devs: PciDeviceSpec[]): void {
  const s = pciState(st);
  s.devices.set(node, [...(s.devices.get(node) ?? []), ...devs.map((d) => ({ ...d }))]);
}

/** Seeds devices and mappings (mappings are not validated: an operator's file is trusted). */
export function seedPci(st: ModelState, seed: PciSeed): void {
  for (const [node, devs] of Object.entries(seed.devices ?? {})) addPciDevices(st, node, devs);
  for (const m of seed.mappings ?? []) {
    const { id, ...rest } = m;
    pciState(st).mappings.set(id, { ...rest, map: [...rest.map] });
  }
}

/** GPU models the seeding helper knows. */
export const GPU_MODELS = {
  a100: {
    class: "0x030200",
    vendor: "0x10de",
    device: "0x20f1",
    vendor_name: "NVIDIA Corporation",
    device_name: "GA100 [A100 PCIe 40GB]",
    subsystem_vendor: "0x10de",
    subsystem_device: "0x145f",
  },
  t4: {
    class: "0x030200",
    vendor: "0x10de",
    device: "0x1eb8",
    vendor_name: "NVIDIA Corporation",
    device_name: "TU104GL [Tesla T4]",
    subsystem_vendor: "0x10de",
    subsystem_device: "0x12a2",
    mdevTypes: [
      { type: "nvidia-222", available: 16, name: "GRID T4-1B", description: "num_heads=4" },
      { type: "nvidia-223", available: 8, name: "GRID T4-2B", description: "num_heads=4" },
      { type: "nvidia-230", available: 1, name: "GRID T4-16Q", description: "num_heads=4" },
    ],
  },
} as const satisfies Record<string, Omit<PciDeviceSpec, "id">>;

/**
 * N GPUs per host (at `0000:<41+i>:00.0`, one IOMMU group each) and one mapping (default
 * `gpu`) with an entry per device: what an operator sets up for passthrough.
 */
export function gpuSeed(
  perHost: Record<string, number>,
  opts: { model?: keyof typeof GPU_MODELS; mapping?: string } = {},
): PciSeed {
  const model = GPU_MODELS[opts.model ?? "a100"];
  const devices: Record<string, PciDeviceSpec[]> = {};
  const map: string[] = [];
  for (const [node, n] of Object.entries(perHost)) {
    devices[node] = Array.from({ length: n }, (_, i) => {
      const id = `0000:${(0x41 + i).toString(16)}:00.0`;
      const sub = `${model.subsystem_vendor.slice(2)}:${model.subsystem_device.slice(2)}`;
      map.push(
        `node=${node},path=${id},id=${model.vendor.slice(2)}:${model.device.slice(2)},iommugroup=${
          20 + i
        },subsystem-id=${sub}`,
      );
      const d: PciDeviceSpec = { id, ...model, iommugroup: 20 + i };
      if ("mdevTypes" in model) d.mdevTypes = model.mdevTypes.map((t) => ({ ...t }));
      return d;
    });
  }
  const mdev = "mdevTypes" in model;
  return {
    devices,
    mappings: [{ id: opts.mapping ?? "gpu", map, ...(mdev ? { mdev: true } : {}) }],
  };
}

/** pci.cfg as PVE writes it (its SHA-1 is the mappings' digest). */
export function mappingFileText(st: ModelState): string {
  const out: string[] = [];
  for (const [id, m] of [...pciState(st).mappings].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(id);
    if (m.description !== undefined) out.push(`\tdescription ${m.description}`);
    for (const e of m.map) out.push(`\tmap ${e}`);
    if (m.mdev !== undefined) out.push(`\tmdev ${m.mdev ? 1 : 0}`);
    out.push("");
  }
  return out.join("\n");
}

/** The digest `GET /cluster/mapping/pci` reports. */
export function mappingDigest(st: ModelState): string {
  return createHash("sha1").update(mappingFileText(st)).digest("hex");
}

/** `01:00.0` -> `0000:01:00.0` (lspci's full form). */
export function normalizePciId(id: string): string {
  return /^[a-f0-9]{4,}:/i.test(id) && id.split(":").length === 3 ? id : `0000:${id}`;
}

/** Parses one `map` entry of a mapping (`node=…,path=…,id=…[,iommugroup=N][,subsystem-id=…]`). */
export function parseMapEntry(v: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of v.split(",")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) return "value without key, but schema does not define a default key";
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** The entries of a mapping for one node, parsed (undefined when the mapping does not exist). */
export function nodeEntries(
  st: ModelState,
  name: string,
  node: string,
): Array<Record<string, string>> | undefined {
  const m = pciState(st).mappings.get(name);
  if (!m) return undefined;
  return m.map.map(parseMapEntry).filter((e): e is Record<string, string> =>
    typeof e !== "string" && e.node === node
  );
}
