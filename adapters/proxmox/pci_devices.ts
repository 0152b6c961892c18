/**
 * PCI passthrough devices as the provider sees them: the cluster's PCI resource mappings
 * (`/cluster/mapping/pci`, one entry per device per node), each host's devices
 * (`/nodes/{n}/hardware/pci`, for model names) and mediated-device types with the instances
 * still available (`/nodes/{n}/hardware/pci/{id}/mdev`), minus the devices VMs hold by their
 * `hostpciN` lines. Also the `hostpciN` lines a GPU shape's VM gets, and the start-task texts
 * that mean a device was taken.
 *
 * What counts as held: a whole device (`mapping=NAME` without mdev) is held by every running
 * VM naming the mapping, by every proxscale VM whatever its state (it starts soon) and by this
 * process's launches in flight; PVE's mdev counts already leave out running VMs, so an mdev
 * instance is subtracted only for proxscale VMs not running yet and launches in flight.
 *
 * May import: core/, adapters/proxmox/.
 */
import { z } from "zod";
import type { Host, HostDevices, MachineTemplate, ShapeGpus } from "../../core/model.ts";
import { takeDevices } from "../../core/gpus.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveError } from "./errors.ts";
import type { Ctx, InFlight } from "./provider_context.ts";
import { intLike } from "./schemas.ts";
import type { QemuListEntry } from "./schemas.ts";
import { type DesiredConfig, hasTag, parseProps } from "./vm_config.ts";

const flag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) =>
  v === 1 || v === true
);
const pciMappings = z.array(z.looseObject({
  id: z.string(),
  map: z.union([z.array(z.string()), z.string()]).optional(),
  mdev: flag.optional(),
}));
const hardwarePci = z.array(z.looseObject({
  id: z.string(),
  device_name: z.string().optional(),
  mdev: flag.optional(),
}));
const mdevTypes = z.array(z.looseObject({ type: z.string(), available: intLike }));

/** A `hostpciN` line's device use: the mapping it names and its mdev type, if any. */
export type DeviceUse = { mapping: string; mdev?: string };

/**
 * The mapping and mdev type of a `hostpciN` value. A raw `host=` id (root can write those)
 * counts as the mapping `byHostId` says has that device, else as none.
 */
export function parseHostpciUse(
  value: string,
  byHostId: (id: string) => string | undefined = () => undefined,
): DeviceUse | undefined {
  const p = parseProps(value, "host");
  const raw = p.get("host");
  const mapping = p.get("mapping") ??
    (raw !== undefined ? byHostId(raw.split(";")[0]!) : undefined);
  if (mapping === undefined) return undefined;
  const mdev = p.get("mdev");
  return mdev !== undefined ? { mapping, mdev } : { mapping };
}

/** Every device use of a config's `hostpci0..15` lines. */
export function configDeviceUses(
  config: Record<string, unknown>,
  byHostId?: (id: string) => string | undefined,
): DeviceUse[] {
  const out: DeviceUse[] = [];
  for (let i = 0; i < 16; i++) {
    const v = config[`hostpci${i}`];
    if (typeof v !== "string") continue;
    const u = parseHostpciUse(v, byHostId);
    if (u) out.push(u);
  }
  return out;
}

/**
 * The config keys a VM of a GPU shape gets once its mapping is chosen: `hostpci0..` (one per
 * device) and, for PCIe, a q35 `machine` (the template's own when it already is one).
 */
export function hostpciScalars(
  gpus: ShapeGpus,
  mapping: string,
  pcie: boolean,
  machine: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < gpus.count; i++) {
    out[`hostpci${i}`] = `mapping=${mapping}${pcie ? ",pcie=1" : ""}` +
      (gpus.mdev !== undefined ? `,mdev=${gpus.mdev}` : "");
  }
  if (pcie) out.machine = machine !== undefined && /q35/.test(machine) ? machine : "q35";
  return out;
}

/** Does a start task's failure text say a passthrough device was not free? */
export function deviceConflict(text: string | undefined): boolean {
  return text !== undefined &&
    /already in use by VMID|could not find a free device|could not create mediated device|can't unbind\/bind PCI group|PCI device mapping (not found|invalid)/
      .test(text);
}

/** What PVE says a host has: per mapping, devices on the host, model and mdev availability. */
export type HostPciFacts = {
  mappings: { mapping: string; devices: number; model?: string; mdev?: Record<string, number> }[];
  /** The device uses of the host's running VMs and proxscale VMs (see the file comment). */
  vms: { vmid: number; running: boolean; uses: DeviceUse[] }[];
};

type ConfigCache = Map<string, { uses: DeviceUse[]; until: number }>;
const caches = new WeakMap<Ctx, ConfigCache>();
/** How long a VM's hostpci lines are trusted without reading its config again (ms). */
const CONFIG_TTL = 60_000;

const mdevKey = (mapping: string, type: string) => `${mapping}/${type}`;
const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/**
 * Reads the PCI facts of every listed host: the mappings once, then per host its hardware,
 * its mdev types and the hostpci lines of its running and proxscale VMs (configs cached a
 * minute per VM). A host whose reads fail has no entry (it offers no devices this pass).
 */
export async function readPciFacts(
  ctx: Ctx,
  lists: ReadonlyMap<string, QemuListEntry[]>,
): Promise<Result<Map<string, HostPciFacts>, PveError>> {
  const maps = await ctx.client.call(pciMappings, "GET", "/cluster/mapping/pci");
  if (!maps.ok) return err(maps.error);
  const out = new Map<string, HostPciFacts>();
  if (maps.value.length === 0) return ok(out);
  let cache = caches.get(ctx);
  if (!cache) caches.set(ctx, cache = new Map());
  const now = ctx.now();
  for (const [host, list] of lists) {
    const entries = maps.value.map((m) => ({
      mapping: m.id,
      mdev: m.mdev === true,
      paths: (typeof m.map === "string" ? [m.map] : m.map ?? []).flatMap((e) => {
        const p = parseProps(e, "node");
        return p.get("node") === host ? [normId((p.get("path") ?? "").split(";")[0]!)] : [];
      }),
    })).filter((e) => e.paths.length > 0);
    if (entries.length === 0) continue;
    const hw = await ctx.client.call(
      hardwarePci,
      "GET",
      `/nodes/${encodeURIComponent(host)}/hardware/pci`,
    );
    if (!hw.ok) continue;
    const names = new Map(hw.value.map((d) => [d.id.toLowerCase(), d.device_name]));
    const mappings: HostPciFacts["mappings"] = [];
    for (const e of entries) {
      const model = e.paths.map((p) => names.get(p)).find((n) => n !== undefined);
      const row: HostPciFacts["mappings"][number] = {
        mapping: e.mapping,
        devices: e.paths.length,
        ...(model !== undefined ? { model } : {}),
      };
      if (e.mdev) {
        const avail: Record<string, number> = {};
        for (const p of e.paths) {
          const t = await ctx.client.call(
            mdevTypes,
            "GET",
            `/nodes/${encodeURIComponent(host)}/hardware/pci/${encodeURIComponent(p)}/mdev`,
          );
          if (!t.ok) continue;
          for (const x of t.value) avail[x.type] = (avail[x.type] ?? 0) + x.available;
        }
        row.mdev = avail;
      }
      mappings.push(row);
    }
    const byHostId = (id: string) => {
      const want = normId(id);
      return entries.find((e) => e.paths.some((p) => p === want || p.startsWith(`${want}.`)))
        ?.mapping;
    };
    const vms: HostPciFacts["vms"] = [];
    for (const v of list) {
      if (v.template) continue;
      const ours = hasTag(v.tags, ctx.provider.managedTag) ||
        (v.vmid >= ctx.provider.vmidRange.lower && v.vmid <= ctx.provider.vmidRange.upper);
      const running = v.status === "running";
      if (!ours && !running) continue; // a stopped foreign VM holds nothing
      // The state is part of the key: a clone read before its lines were written is read
      // again once it runs (lines changed while it runs wait in pending until a restart).
      const key = `${host}/${v.vmid}/${v.name ?? ""}/${v.status}`;
      let uses = cache.get(key);
      if (!uses || uses.until <= now) {
        const cfg = await ctx.client.vmConfig(host, v.vmid);
        if (!cfg.ok) continue; // gone since the listing, or unreadable: nothing known held
        cache.set(
          key,
          uses = { uses: configDeviceUses(cfg.value, byHostId), until: now + CONFIG_TTL },
        );
      }
      if (uses.uses.length) vms.push({ vmid: v.vmid, running, uses: uses.uses });
    }
    out.set(host, { mappings, vms });
  }
  for (const [k, v] of cache) if (v.until <= now) cache.delete(k);
  return ok(out);
}

function normId(id: string): string {
  const l = id.toLowerCase();
  return /^[0-9a-f]{4}:/.test(l) ? l : `0000:${l}`;
}

/**
 * A host's devices for core: each mapping's devices minus those held by VMs and by this
 * process's launches in flight to the host (those whose VM is not already counted).
 */
export function hostDevices(
  facts: HostPciFacts | undefined,
  host: string,
  flights: readonly InFlight[],
): HostDevices[] | undefined {
  if (!facts) return undefined;
  const whole = new Map<string, number>();
  const mdev = new Map<string, number>();
  const mine = flights.filter((f) => f.host === host && f.gpus !== undefined);
  // A launch in flight counts as its ask until it ends (its VM's lines may not be written yet).
  const flying = new Set(mine.flatMap((f) => f.vmid === undefined ? [] : [f.vmid]));
  for (const v of facts.vms) {
    if (flying.has(v.vmid)) continue;
    for (const u of v.uses) {
      if (u.mdev === undefined) bump(whole, u.mapping);
      else if (!v.running) bump(mdev, mdevKey(u.mapping, u.mdev));
    }
  }
  for (const f of mine) {
    const g = f.gpus!;
    if (g.mdev === undefined) bump(whole, g.mapping, g.count);
    else bump(mdev, mdevKey(g.mapping, g.mdev), g.count);
  }
  return facts.mappings.map((m): HostDevices => {
    const d: HostDevices = {
      mapping: m.mapping,
      free: Math.max(0, m.devices - (whole.get(m.mapping) ?? 0)),
      ...(m.model !== undefined ? { model: m.model } : {}),
    };
    if (m.mdev) {
      d.mdev = Object.fromEntries(
        Object.entries(m.mdev).map((
          [t, n],
        ) => [t, Math.max(0, n - (mdev.get(mdevKey(m.mapping, t)) ?? 0))]),
      );
    }
    return d;
  });
}

/**
 * Adds the `hostpciN` lines (and q35 machine) of a GPU shape to `desired`, for the mapping on
 * `host` that placement found free, and says what the launch takes (undefined without GPUs).
 */
export function withDevices(
  desired: DesiredConfig,
  template: MachineTemplate,
  host: Host,
  ask: ShapeGpus | undefined,
): InFlight["gpus"] | undefined {
  if (!ask) return undefined;
  // Placement only chose hosts with a group serving the ask; the first one is the one it counted.
  const group = takeDevices(host.devices, ask, undefined);
  const mapping = group?.mapping ?? ask.mapping;
  if (mapping === undefined) return undefined;
  const pcie = template.gpu?.pcie ?? true;
  Object.assign(desired.scalars, hostpciScalars(ask, mapping, pcie, template.vm?.machine));
  return { mapping, count: ask.count, ...(ask.mdev !== undefined ? { mdev: ask.mdev } : {}) };
}
