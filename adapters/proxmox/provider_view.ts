/**
 * What the provider reads from PVE: the hosts with their VMs (for inventory and placement), the
 * VM of a claim (for adoption after a crash), and a VM config as a Machine. Committed resources
 * count every VM's configured size, never live usage (a host's `mem`
 * does not show stopped or ballooned VMs), plus this process's launches in
 * flight, which PVE may not show yet.
 */
import type { Host } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { Machine, ProviderError } from "../../daemon/ports/provider.ts";
import { type Ctx, persist, pveFail } from "./provider_context.ts";
import type { NodeEntry, QemuListEntry, VmConfig } from "./schemas.ts";
import { hostDevices, type HostPciFacts, readPciFacts } from "./pci_devices.ts";
import {
  claimCreatedFromDescription,
  claimFromDescription,
  hasTag,
  parseTags,
  templateHashFromDescription,
  vmCreationFromMeta,
  vmName as vmNameOf,
} from "./vm_config.ts";

/** Whether `vmid` is in the Provider's managed VMID range. */
export function inManagedRange(ctx: Ctx, vmid: number): boolean {
  const r = ctx.provider.vmidRange;
  return vmid >= r.lower && vmid <= r.upper;
}

/** A VM found by claim identity. */
export type Located = { node: string; vmid: number; config: VmConfig };

/** One read of the cluster: hosts, per-host VM lists, quorum, owned VMs per zone. */
export type View = {
  byName: Map<string, NodeEntry>;
  lists: Map<string, QemuListEntry[]>;
  quorate: boolean;
  zoneCounts: Map<string, number>;
  /** PCI passthrough facts per host, read only when asked for (some template has GPUs). */
  pci?: Map<string, HostPciFacts>;
  /** Nodes the HA manager reports in maintenance (absent or empty: none, or unreadable). */
  haMaintenance?: Set<string>;
};

/** The claim's VM if one exists anywhere (by name, confirmed by the description identity). */
export async function findClaimVm(
  ctx: Ctx,
  claimName: string,
): Promise<Result<Located | undefined, ProviderError>> {
  const nodes = await persist(ctx, () => ctx.client.nodes());
  if (!nodes.ok) return err(pveFail("list hosts", nodes.error));
  for (const n of nodes.value) {
    // A VM on an offline host cannot be reached either way; it is found again when it returns.
    if (n.status !== "online") continue;
    const list = await persist(ctx, () => ctx.client.qemuList(n.node));
    if (!list.ok) {
      if (list.error.kind === "nodeUnreachable" || list.error.kind === "circuitOpen") continue;
      return err(pveFail(`list VMs on ${n.node}`, list.error));
    }
    for (const v of list.value) {
      // Names do not lag in this listing; a name match is confirmed by the description.
      if (v.template || (v.name !== vmNameOf(claimName) && !v.lock)) continue;
      const cfg = await persist(ctx, () => ctx.client.vmConfig(n.node, v.vmid));
      if (!cfg.ok) {
        if (cfg.error.kind === "notFound") continue; // gone since the listing
        // Unknown is not "absent": creating now could make a second VM for the claim.
        return err(pveFail(`read config of VM ${v.vmid}`, cfg.error));
      }
      if (claimFromDescription(cfg.value.description) === claimName) {
        return ok({ node: n.node, vmid: v.vmid, config: cfg.value });
      }
    }
  }
  return ok(undefined);
}

/** Reads hosts, quorum and per-host VM lists; unreachable hosts are simply absent. */
export async function view(
  ctx: Ctx,
  opts: { devices?: boolean } = {},
): Promise<Result<View, ProviderError>> {
  const [nodes, status, ha] = await Promise.all([
    ctx.client.nodes(),
    ctx.client.clusterStatus(),
    ctx.client.haManagerStatus(),
  ]);
  if (!nodes.ok) return err(pveFail("list hosts", nodes.error));
  if (nodes.value.length === 0) {
    return err(pveFail("list hosts", {
      kind: "permission",
      endpoint: "GET /nodes",
      message:
        "PVE shows no hosts: the API token probably lacks Sys.Audit (listings are filtered silently)",
    }));
  }
  const quorate = !status.ok || (status.value.find((e) => e.type === "cluster")?.quorate ?? true);
  const byName = new Map(nodes.value.map((n) => [n.node, n]));
  const lists = new Map<string, QemuListEntry[]>();
  const zoneCounts = new Map<string, number>();
  for (const h of ctx.provider.hosts) {
    const n = byName.get(h.name);
    if (!n || n.status !== "online" || ctx.client.hostTripped(h.name)) continue;
    const l = await ctx.client.qemuList(h.name);
    if (!l.ok) {
      if (["nodeUnreachable", "circuitOpen", "timeout", "connection"].includes(l.error.kind)) {
        continue;
      }
      return err(pveFail(`list VMs on ${h.name}`, l.error));
    }
    lists.set(h.name, l.value);
    const owned = l.value.filter((v) => hasTag(v.tags, ctx.provider.managedTag)).length;
    zoneCounts.set(h.zone, (zoneCounts.get(h.zone) ?? 0) + owned);
  }
  // HA status that cannot be read (no HA stack, no Sys.Audit) says nothing about maintenance.
  const haMaintenance = new Set(
    ha.ok
      ? Object.entries(ha.value.manager_status?.node_status ?? {})
        .filter(([, state]) => state === "maintenance").map(([node]) => node)
      : [],
  );
  if (!opts.devices) return ok({ byName, lists, quorate, zoneCounts, haMaintenance });
  // Unreadable mappings leave every host without devices this pass (GPU pods wait, CPU ones
  // are unaffected) rather than failing the whole inventory.
  const pci = await readPciFacts(ctx, lists);
  return ok({
    byName,
    lists,
    quorate,
    zoneCounts,
    haMaintenance,
    pci: pci.ok ? pci.value : new Map(),
  });
}

/** Hosts with committed resources: every VM's size (+overhead) plus this process's in-flight launches. */
export function hosts(
  ctx: Ctx,
  view: View,
): Host[] {
  const now = ctx.now();
  for (const [k, f] of ctx.inFlight) if (f.expires <= now) ctx.inFlight.delete(k);
  const flights = [...ctx.inFlight.values()];
  const flightIds = new Set(flights.flatMap((f) => (f.vmid === undefined ? [] : [f.vmid])));
  return ctx.provider.hosts.map((h): Host => {
    const n = view.byName.get(h.name);
    const list = view.lists.get(h.name);
    const committed = { cpu: 0, memory: 0 };
    for (const v of list ?? []) {
      if (v.template || flightIds.has(v.vmid)) continue;
      committed.cpu += Math.ceil(v.cpus ?? 1) * 1000;
      committed.memory += (v.maxmem ?? 0) + ctx.overhead;
    }
    for (const f of flights) {
      if (f.host !== h.name) continue;
      committed.cpu += f.footprint.cpu;
      committed.memory += f.footprint.memory;
    }
    const devices = view.pci ? hostDevices(view.pci.get(h.name), h.name, flights) : undefined;
    return {
      ...(devices ? { devices } : {}),
      name: h.name,
      provider: ctx.provider.name,
      zone: h.zone,
      online: view.quorate && list !== undefined,
      capacity: { cpu: Math.round((n?.maxcpu ?? 0) * 1000), memory: n?.maxmem ?? 0 },
      cpuOvercommit: h.cpuOvercommit,
      memoryOvercommit: h.memoryOvercommit,
      reserved: h.reserved,
      committed,
      // PVE's HA maintenance: the node is about to be emptied (upgrade, reboot), so its nodes
      // are replaced. Maintenance set by the operator is joined by core/host_maintenance.ts.
      ...(view.haMaintenance?.has(h.name) ? { maintenance: "drain" as const } : {}),
      ...(h.capacityType !== undefined ? { capacityType: h.capacityType } : {}),
    };
  });
}

/**
 * A config as a Machine, if it carries a claim identity and is managed: the managed tag, or a
 * VMID in the managed range (a clone whose launch died before its tags were set).
 */
export function machine(
  ctx: Ctx,
  node: string,
  vmid: number,
  c: VmConfig,
  status: string | undefined,
  uptimeSeconds?: number,
): Machine | undefined {
  const claim = claimFromDescription(c.description);
  if (!claim || !(hasTag(c.tags, ctx.provider.managedTag) || inManagedRange(ctx, vmid))) {
    return undefined;
  }
  const hash = templateHashFromDescription(c.description);
  const created = claimCreatedFromDescription(c.description);
  const made = vmCreationFromMeta(c.meta);
  const s = status === "running" || status === "stopped" || status === "paused"
    ? status
    : "unknown";
  return {
    vmid,
    host: node,
    provider: ctx.provider.name,
    name: c.name ?? `VM ${vmid}`,
    tags: parseTags(c.tags),
    status: s,
    size: { cpu: (c.cores ?? 1) * (c.sockets ?? 1) * 1000, memory: (c.memory ?? 512) * 2 ** 20 },
    claim,
    ...(hash ? { templateHash: hash } : {}),
    ...(created !== undefined ? { claimCreatedAt: created } : {}),
    ...(made !== undefined ? { vmCreatedAt: made } : {}),
    // PVE's uptime counts whole seconds since the last start; 0 or absent says nothing.
    ...(s === "running" && uptimeSeconds !== undefined && uptimeSeconds > 0
      ? { startedAt: ctx.now() - uptimeSeconds * 1000 }
      : {}),
  };
}

/**
 * The subset of `volids` missing on `host` (a storage that does not exist there counts as
 * missing); one listing per storage.
 */
export async function missingVolumes(
  ctx: Ctx,
  host: string,
  volids: readonly string[],
): Promise<Result<string[], ProviderError>> {
  const byStorage = new Map<string, string[]>();
  for (const v of volids) {
    const storage = v.slice(0, v.indexOf(":"));
    byStorage.set(storage, [...(byStorage.get(storage) ?? []), v]);
  }
  const missing: string[] = [];
  for (const [storage, wanted] of byStorage) {
    const list = await persist(ctx, () => ctx.client.storageContent(host, storage));
    if (!list.ok) {
      if (list.error.kind === "notFound") {
        missing.push(...wanted);
        continue;
      }
      return err(pveFail(`list storage ${storage} on ${host}`, list.error));
    }
    const have = new Set(list.value.map((e) => e.volid));
    missing.push(...wanted.filter((v) => !have.has(v)));
  }
  return ok(missing);
}
