/**
 * PCI passthrough in the fake PVE: the PCI devices each host has (what `lspci` would show,
 * with mediated-device types and their instance limits), the cluster-wide PCI resource
 * mappings (`/etc/pve/mapping/pci.cfg`), the `hostpciN` value format, and what happens at VM
 * start, as qemu-server does it:
 *
 * - a `hostpciN` names either `host=` PCI ids or `mapping=` a cluster mapping, never both;
 *   `pcie=1` needs a q35 machine; a mapping must have an entry for the VM's node whose device
 *   still matches the recorded vendor:device, subsystem and IOMMU group;
 * - a whole device passed through is reserved for that running VM: a second VM naming it does
 *   not start ("already in use by VMID"); a mapping with several entries on one node picks the
 *   first free one;
 * - a mediated device (`mdev=TYPE`) takes one instance of that type on the device: the type's
 *   `available` count drops while the VM runs and comes back when it stops or is destroyed; a
 *   device serving one type offers no instances of its other types (one vGPU type per GPU).
 *
 * State lives beside ModelState (one PciState per model); a VM's devices are held exactly while
 * it runs, so stopping or destroying it needs no hook.
 *
 * May import: fakes/fake_pve/.
 */
import { createHash } from "node:crypto";
import type { ModelState, VmState } from "./state.ts";

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

type Claim = { node: string; whole: string[]; mdev: Array<{ pciId: string; type: string }> };

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

const PCI_ADDR = "(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?";
const HOST_RE = new RegExp(`^${PCI_ADDR}(?:;${PCI_ADDR})*$`);
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;
const HEX_ID_RE = /^0x[0-9a-fA-F]{4}$/;
const HOSTPCI_BOOLEANS = new Set(["rombar", "pcie", "x-vga", "legacy-igd"]);
const HOSTPCI_KEYS = new Set([
  "host",
  "mapping",
  "romfile",
  "mdev",
  "vendor-id",
  "device-id",
  "sub-vendor-id",
  "sub-device-id",
  ...HOSTPCI_BOOLEANS,
]);

/** A property-string boolean as PVE parses it (1/on/yes/true, 0/off/no/false), else undefined. */
export function parseBool(v: string): boolean | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return true;
  if (/^(0|off|no|false)$/i.test(v)) return false;
  return undefined;
}

/** A `pve-configid` (mapping names, VM ids of config sections). */
export function isConfigId(v: string): boolean {
  return CONFIGID_RE.test(v);
}

/** Parses a `hostpciN` value into its keys, or the reason it is not one. */
export function parseHostpci(v: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of v.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (m) {
      if (m[1]! in out) return `duplicate key in comma-separated list property: ${m[1]}`;
      out[m[1]!] = m[2]!;
    } else if (!part.includes("=")) {
      if ("host" in out) return "duplicate key in comma-separated list property: host";
      out.host = part;
    } else return "missing key in comma-separated list property";
  }
  return out;
}

/** The 400 `errors` text for a bad `hostpciN` value, or undefined when PVE's schema takes it. */
export function checkHostpci(key: string, v: string): string | undefined {
  const p = parseHostpci(v);
  if (typeof p === "string") return `invalid format - ${p}\n`;
  const errs: string[] = [];
  for (const [k, val] of Object.entries(p)) {
    const path = `${key}.${k}`;
    if (!HOSTPCI_KEYS.has(k)) {
      errs.push(
        `${path}: property is not defined in schema and the schema does not allow additional properties`,
      );
    } else if (HOSTPCI_BOOLEANS.has(k) && parseBool(val) === undefined) {
      errs.push(`${path}: type check ('boolean') failed - got '${val}'`);
    } else if (k === "host" && !HOST_RE.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (k === "mapping" && !CONFIGID_RE.test(val)) {
      errs.push(`${path}: invalid format - invalid configuration ID '${val}'`);
    } else if (k === "mdev" && !/^[^/.:]+$/.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (k === "romfile" && !/^[^,;]+$/.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (/-id$/.test(k) && !HEX_ID_RE.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    }
  }
  return errs.length ? `invalid format - format error\n${errs.join("\n")}\n` : undefined;
}

/** `01:00.0` -> `0000:01:00.0` (lspci's full form). */
export function normalizePciId(id: string): string {
  return /^[a-f0-9]{4,}:/i.test(id) && id.split(":").length === 3 ? id : `0000:${id}`;
}

/** The functions an id names on a host: one function, or every function of a whole device. */
function lspci(st: ModelState, node: string, id: string): PciDeviceSpec[] {
  const full = normalizePciId(id.toLowerCase());
  const devs = hostDevices(st, node);
  return /\.[a-f0-9]$/.test(full)
    ? devs.filter((d) => d.id === full)
    : devs.filter((d) => d.id.startsWith(`${full}.`));
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

/** Why a mapping entry no longer matches the host's hardware, or undefined (assert_valid). */
function entryMismatch(
  st: ModelState,
  node: string,
  name: string,
  e: Record<string, string>,
): string | undefined {
  const paths = (e.path ?? "").split(";").filter((p) => p);
  for (const [i, raw] of paths.entries()) {
    const path = /\.[a-f0-9]$/i.test(raw) ? raw : `${raw}.0`;
    const d = hostDevices(st, node).find((x) => x.id === normalizePciId(path.toLowerCase()));
    if (!d) return `pci device '${path}' not found`;
    const want: Record<string, string | undefined> = {
      id: `${d.vendor.slice(2)}:${d.device.slice(2)}`,
      iommugroup: String(d.iommugroup),
      "subsystem-id": d.subsystem_vendor && d.subsystem_device
        ? `${d.subsystem_vendor.slice(2)}:${d.subsystem_device.slice(2)}`
        : undefined,
    };
    for (const prop of ["id", "iommugroup", "subsystem-id"]) {
      if (prop === "iommugroup" && i > 0) continue;
      const correct = want[prop];
      const have = e[prop];
      if (correct === undefined && have === undefined) continue;
      if (have === undefined) return `no '${prop}' for device '${path}'`;
      if (correct === undefined) return `'${prop}' configured but should not be`;
      const c = correct.replace(/0x/g, "").toLowerCase();
      const h = have.replace(/0x/g, "").toLowerCase();
      if (c !== h) return `'${prop}' does not match for '${name}' (${c} != ${h})`;
    }
  }
  return undefined;
}

/** Who holds what on a host right now: whole devices by VMID, mdev instances per device/type. */
export function usageOn(
  st: ModelState,
  node: string,
  exceptVmid?: number,
): { whole: Map<string, number>; mdev: Map<string, Map<string, number>> } {
  const whole = new Map<string, number>();
  const mdev = new Map<string, Map<string, number>>();
  for (const [vmid, c] of pciState(st).claims) {
    const vm = st.vms.get(vmid);
    if (vmid === exceptVmid || !vm || vm.status !== "running" || vm.node !== c.node) continue;
    if (c.node !== node) continue;
    for (const id of c.whole) whole.set(id, vmid);
    for (const { pciId, type } of c.mdev) {
      const m = mdev.get(pciId) ?? new Map<string, number>();
      m.set(type, (m.get(type) ?? 0) + 1);
      mdev.set(pciId, m);
    }
  }
  return { whole, mdev };
}

/** The mdev types of a device with the instances still available now. */
export function mdevTypesNow(
  st: ModelState,
  node: string,
  pciId: string,
  exceptVmid?: number,
): MdevTypeSpec[] {
  const d = hostDevices(st, node).find((x) => x.id === normalizePciId(pciId.toLowerCase()));
  if (!d?.mdevTypes) return [];
  const u = usageOn(st, node, exceptVmid);
  if (u.whole.has(d.id)) return [];
  const used = u.mdev.get(d.id) ?? new Map<string, number>();
  return d.mdevTypes.map((t) => {
    const other = [...used].some(([type, n]) => type !== t.type && n > 0);
    const available = other ? 0 : Math.max(0, t.available - (used.get(t.type) ?? 0));
    return { ...t, available };
  });
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

const Q35_DIE =
  "q35 machine model is not enabled at /usr/share/perl5/PVE/QemuServer/PCI.pm line 470.";

/**
 * At VM start (after pending changes apply): resolves every `hostpciN`, reserves whole devices
 * and mdev instances for the VM, or gives the start task's error. Nothing is held on failure.
 */
export function claimPci(st: ModelState, vm: VmState): string | undefined {
  const s = pciState(st);
  s.claims.delete(vm.vmid);
  const keys = Array.from({ length: 16 }, (_, i) => `hostpci${i}`)
    .filter((k) => vm.conf.values.has(k));
  if (keys.length === 0) return undefined;
  const q35 = /q35/.test(vm.conf.values.get("machine") ?? "");
  type Want = { key: string; mdev?: string; alternatives: PciDeviceSpec[][] };
  const wants: Want[] = [];
  for (const key of keys) {
    const p = parseHostpci(vm.conf.values.get(key)!);
    if (typeof p === "string") return p;
    if (p.host !== undefined && p.mapping !== undefined) {
      return "Cannot set both 'host' and 'mapping'.";
    }
    const alternatives: PciDeviceSpec[][] = [];
    if (p.mapping !== undefined) {
      const entries = nodeEntries(st, p.mapping, vm.node);
      if (!entries || entries.length === 0) {
        return `PCI device mapping not found for '${p.mapping}'`;
      }
      for (const e of entries) {
        const bad = entryMismatch(st, vm.node, p.mapping, e);
        if (bad) return `PCI device mapping invalid (hardware probably changed): ${bad}`;
        alternatives.push((e.path ?? "").split(";").flatMap((id) => lspci(st, vm.node, id)));
      }
    } else if (p.host !== undefined) {
      const ids: PciDeviceSpec[] = [];
      for (const id of p.host.split(";")) {
        const found = lspci(st, vm.node, id);
        if (found.length === 0) return `no PCI device found for '${id}'`;
        ids.push(...found);
      }
      alternatives.push(ids);
    } else return "Either 'host' or 'mapping' must be set.";
    if (p.mdev !== undefined && alternatives.some((a) => a.length > 1)) {
      return "cannot use mediated device with multifunction device";
    }
    if (!q35 && p.pcie !== undefined && parseBool(p.pcie)) return Q35_DIE;
    wants.push(p.mdev !== undefined ? { key, mdev: p.mdev, alternatives } : { key, alternatives });
  }
  const usage = usageOn(st, vm.node, vm.vmid);
  const claim: Claim = { node: vm.node, whole: [], mdev: [] };
  const mine = new Set<string>();
  for (const w of wants) {
    if (w.mdev !== undefined) continue;
    const free = (a: PciDeviceSpec[]) => a.every((d) => !usage.whole.has(d.id) && !mine.has(d.id));
    let chosen: PciDeviceSpec[] | undefined;
    if (w.alternatives.length === 1) {
      chosen = w.alternatives[0]!;
      for (const d of chosen) {
        if (mine.has(d.id)) return `device '${d.id}' assigned more than once`;
        const other = usage.whole.get(d.id);
        if (other !== undefined) return `PCI device '${d.id}' already in use by VMID '${other}'`;
      }
    } else {
      chosen = w.alternatives.find(free);
      if (!chosen) return `could not find a free device for '${w.key}'`;
    }
    for (const d of chosen) {
      if ([...(usage.mdev.get(d.id)?.values() ?? [])].some((n) => n > 0)) {
        return `can't unbind/bind PCI group to VFIO '${d.id}'`;
      }
      mine.add(d.id);
      claim.whole.push(d.id);
    }
  }
  const pendingMdev = new Map<string, Map<string, number>>();
  for (const w of wants) {
    if (w.mdev === undefined) continue;
    let got: string | undefined;
    for (const [d] of w.alternatives) {
      if (!d || mine.has(d.id)) continue;
      const types = mdevTypesNow(st, vm.node, d.id, vm.vmid);
      const taken = pendingMdev.get(d.id) ?? new Map<string, number>();
      const otherTaken = [...taken].some(([t, n]) => t !== w.mdev && n > 0);
      const t = types.find((x) => x.type === w.mdev);
      if (!t || otherTaken || t.available - (taken.get(w.mdev) ?? 0) <= 0) continue;
      taken.set(w.mdev, (taken.get(w.mdev) ?? 0) + 1);
      pendingMdev.set(d.id, taken);
      got = d.id;
      break;
    }
    if (!got) return "could not create mediated device";
    claim.mdev.push({ pciId: got, type: w.mdev });
  }
  s.claims.set(vm.vmid, claim);
  return undefined;
}

/** The host PCI functions a running VM holds (whole devices and mdev parents), for views. */
export function devicesOfVm(st: ModelState, vmid: number): PciDeviceSpec[] {
  const c = pciState(st).claims.get(vmid);
  const vm = st.vms.get(vmid);
  if (!c || !vm || vm.status !== "running") return [];
  const devs = hostDevices(st, c.node);
  return [...c.whole, ...c.mdev.map((m) => m.pciId)]
    .flatMap((id) => devs.filter((d) => d.id === id));
}

/** `Mapping.Use` on `/mapping/pci/<name>` for every `hostpciN` that names a mapping. */
export function mappingUseNeeds(
  params: Record<string, string>,
): Array<{ paths: string[]; privs: string[] }> {
  const out: Array<{ paths: string[]; privs: string[] }> = [];
  for (const [k, v] of Object.entries(params)) {
    if (!/^hostpci\d+$/.test(k)) continue;
    const p = parseHostpci(v);
    if (typeof p !== "string" && p.host === undefined && p.mapping !== undefined) {
      out.push({ paths: [`/mapping/pci/${p.mapping}`], privs: ["Mapping.Use"] });
    }
  }
  return out;
}

/**
 * Only root@pam itself (not even its API tokens) may pass raw host devices: everyone else
 * must name a mapping. The error PVE's API raises, or undefined.
 */
export function hostpciRootOnly(
  user: string,
  params: Record<string, string>,
): { status: number; message: string } | undefined {
  if (user === "root@pam") return undefined;
  for (const k of Object.keys(params).filter((x) => /^hostpci\d+$/.test(x)).sort()) {
    const p = parseHostpci(params[k]!);
    if (typeof p === "string") continue;
    if (p.host !== undefined) {
      return { status: 500, message: `only root can set '${k}' config for non-mapped devices` };
    }
    if (p.mapping === undefined) {
      return { status: 500, message: "either 'host' or 'mapping' must be set." };
    }
  }
  return undefined;
}
