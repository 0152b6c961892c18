/**
 * PCI passthrough at VM start in the fake PVE, as qemu-server does it:
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
 * A VM's devices are held exactly while it runs, so stopping or destroying it needs no hook.
 * Hardware and mappings: pci_inventory.ts; the value format: hostpci_format.ts.
 *
 * May import: fakes/fake_pve/.
 */
import type { ModelState, VmState } from "./state.ts";
import { parseBool, parseHostpci } from "./hostpci_format.ts";
import {
  type Claim,
  hostDevices,
  type MdevTypeSpec,
  nodeEntries,
  normalizePciId,
  type PciDeviceSpec,
  pciState,
} from "./pci_inventory.ts";

/** The functions an id names on a host: one function, or every function of a whole device. */
function lspci(st: ModelState, node: string, id: string): PciDeviceSpec[] {
  const full = normalizePciId(id.toLowerCase());
  const devs = hostDevices(st, node);
  return /\.[a-f0-9]$/.test(full)
    ? devs.filter((d) => d.id === full)
    : devs.filter((d) => d.id.startsWith(`${full}.`));
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
  const claim: Claim = { node: vm.node, whole: [], mdev: [], grants: [] };
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
    claim.grants.push({ key: w.key, ids: chosen.map((d) => d.id) });
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
    claim.grants.push({ key: w.key, ids: [got], mdev: w.mdev });
  }
  claim.grants.sort((a, b) => Number(a.key.slice(7)) - Number(b.key.slice(7)));
  s.claims.set(vm.vmid, claim);
  return undefined;
}

/**
 * What a running VM's guest sees on its PCI bus, per `hostpciN` (in key order): the host
 * functions passed through, or the mediated device's type. Empty when it holds nothing (a VM
 * that was never started through the API, say).
 */
export function guestPciDevices(
  st: ModelState,
  vmid: number,
): Array<{ key: string; devices: PciDeviceSpec[]; mdev?: MdevTypeSpec }> {
  const c = pciState(st).claims.get(vmid);
  const vm = st.vms.get(vmid);
  if (!c || !vm || vm.status !== "running" || vm.node !== c.node) return [];
  const devs = hostDevices(st, c.node);
  return c.grants.map((g) => {
    const devices = g.ids.flatMap((id) => devs.filter((d) => d.id === id));
    const mdev = g.mdev !== undefined
      ? devices[0]?.mdevTypes?.find((t) => t.type === g.mdev)
      : undefined;
    return mdev ? { key: g.key, devices, mdev } : { key: g.key, devices };
  });
}
