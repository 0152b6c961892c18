/**
 * Read-only views of the fake cluster as PVE's listing endpoints shape them: cluster status,
 * /cluster/resources (whose CPU and memory statistics lag behind, as on PVE), /nodes, node status,
 * the qemu list and status/current.
 */
import { diskKeys } from "./config_file.ts";
import { parseDrive, propGet } from "./property_string.ts";
import { findVolume } from "./storage_ops.ts";
import type { HostState, ModelState, VmState } from "./state.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Statistics pvestatd would report for a VM at time `now`. */
export type VmStats = {
  name: string;
  template: number;
  status: "running" | "stopped";
  maxcpu: number;
  cpu: number;
  maxmem: number;
  mem: number;
  maxdisk: number;
  disk: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  uptime: number;
};

/** Configured memory in bytes (`memory` is MiB, default 512). */
export function vmMaxmem(vm: VmState): number {
  const m = /(\d+)/.exec(vm.conf.values.get("memory") ?? "512");
  return Number(m ? m[1] : 512) * MiB;
}

/** sockets × cores capped at the host's CPUs, or vcpus. */
export function vmCpus(st: ModelState, vm: VmState): number {
  const v = vm.conf.values.get("vcpus");
  if (v) return Number(v);
  const n = Number(vm.conf.values.get("sockets") ?? 1) * Number(vm.conf.values.get("cores") ?? 1);
  return Math.min(n, st.hosts.get(vm.node)?.cpus ?? n);
}

function bootDiskSize(st: ModelState, vm: VmState): number {
  for (const k of diskKeys(vm.conf)) {
    const { volume, props } = parseDrive(vm.conf.values.get(k)!);
    if (propGet(props, "media") === "cdrom") continue;
    const v = findVolume(st, vm.node, volume);
    if (v) return v.size;
  }
  return 0;
}

/** Live statistics of one VM. */
export function vmStats(st: ModelState, vm: VmState, now: number): VmStats {
  const running = vm.status === "running";
  const maxmem = vmMaxmem(vm);
  const uptime = running && vm.startedAt !== undefined
    ? Math.floor((now - vm.startedAt) / 1000)
    : 0;
  return {
    name: vm.conf.values.get("name") ?? `VM ${vm.vmid}`,
    template: vm.conf.values.get("template") === "1" ? 1 : 0,
    status: vm.status,
    maxcpu: vmCpus(st, vm),
    cpu: running ? 0.02 : 0,
    maxmem,
    mem: running ? Math.floor(maxmem / 4) : 0,
    maxdisk: bootDiskSize(st, vm),
    disk: 0,
    netin: running ? uptime * 1200 : 0,
    netout: running ? uptime * 800 : 0,
    diskread: 0,
    diskwrite: 0,
    uptime,
  };
}

/** Host statistics: used memory is a base plus what running VMs actually use. */
export function hostStats(st: ModelState, h: HostState, now: number) {
  let mem = 2 * GiB;
  let running = 0;
  for (const vm of st.vms.values()) {
    if (vm.node === h.name && vm.status === "running") {
      mem += vmStats(st, vm, now).mem;
      running++;
    }
  }
  return {
    cpu: Math.min(1, 0.01 + running * 0.005),
    maxcpu: h.cpus,
    mem: Math.min(mem, h.memory),
    maxmem: h.memory,
    disk: 8 * GiB,
    maxdisk: h.rootfs,
    uptime: Math.floor(now / 1000) % 10_000_000,
  };
}

/** One pvestatd cycle's statistics. */
export type StatsSnapshot = {
  at: number;
  vms: Map<number, VmStats>;
  hosts: Map<string, ReturnType<typeof hostStats>>;
};

/** Statistics as `/cluster/resources` sees them: the last pvestatd cycle, not the live state. */
export class StatsCache {
  #snap: StatsSnapshot | undefined;

  /**
   * The snapshot for `now`. With a lag, statistics belong to the last cycle (a multiple of the
   * lag): VMs created after it have none yet. The snapshot is taken lazily at the first read in
   * a cycle, so a change between the cycle start and that read shows early (an approximation).
   */
  at(st: ModelState, now: number): StatsSnapshot {
    const lag = st.statsLagMs;
    const cycle = lag > 0 ? Math.floor(now / lag) * lag : now;
    if (lag > 0 && this.#snap?.at === cycle) return this.#snap;
    const vms = new Map<number, VmStats>();
    for (const vm of st.vms.values()) {
      if (lag === 0 || vm.createdAt < cycle) vms.set(vm.vmid, vmStats(st, vm, cycle));
    }
    const hosts = new Map<string, ReturnType<typeof hostStats>>();
    for (const h of st.hosts.values()) hosts.set(h.name, hostStats(st, h, cycle));
    this.#snap = { at: cycle, vms, hosts };
    return this.#snap;
  }
}

/** One `/cluster/resources` VM entry: identity, tags, lock and pool immediate; the rest lags. */
export function resourceVm(
  st: ModelState,
  vm: VmState,
  stats: VmStats | undefined,
): Record<string, unknown> {
  const e: Record<string, unknown> = {
    id: `qemu/${vm.vmid}`,
    type: "qemu",
    vmid: vm.vmid,
    node: vm.node,
  };
  const host = st.hosts.get(vm.node);
  if (!stats || (host && !host.online)) e.status = "unknown";
  else {
    Object.assign(e, stats);
    if (!vm.conf.values.has("name") && stats.name === `VM ${vm.vmid}`) delete e.name;
  }
  const tags = vm.conf.values.get("tags");
  if (tags !== undefined) e.tags = tags;
  const lock = vm.conf.values.get("lock");
  if (lock !== undefined) e.lock = lock;
  if (vm.pool) e.pool = vm.pool;
  return e;
}

/** One `/nodes/{node}/qemu` item (no node, no type; `name` falls back to `VM <vmid>`). */
export function qemuListItem(
  st: ModelState,
  vm: VmState,
  now: number,
  full: boolean,
): Record<string, unknown> {
  const s = vmStats(st, vm, now);
  const e: Record<string, unknown> = {
    vmid: vm.vmid,
    name: s.name,
    status: s.status,
    cpus: s.maxcpu,
    maxmem: s.maxmem,
    mem: s.mem,
    maxdisk: s.maxdisk,
    disk: 0,
    cpu: s.cpu,
    netin: s.netin,
    netout: s.netout,
    uptime: s.uptime,
  };
  if (s.status === "running") e.pid = 10_000 + vm.vmid;
  if (s.template) e.template = 1;
  const lock = vm.conf.values.get("lock");
  if (lock !== undefined) e.lock = lock;
  const tags = vm.conf.values.get("tags");
  if (tags !== undefined) e.tags = tags;
  if (full) {
    e.qmpstatus = s.status;
    e.diskread = s.diskread;
    e.diskwrite = s.diskwrite;
    if (s.status === "running") {
      e["running-machine"] = "pc-i440fx-9.0+pve0";
      e["running-qemu"] = "9.0.2";
      e.balloon = s.maxmem;
      e.freemem = s.maxmem - s.mem;
    }
  }
  return e;
}

/** `status/current`: a full list item plus `ha` and `agent` when enabled. */
export function vmCurrent(st: ModelState, vm: VmState, now: number): Record<string, unknown> {
  const e = qemuListItem(st, vm, now, true);
  e.ha = { managed: 0 };
  const agent = vm.conf.values.get("agent");
  if (agent && /^(enabled=)?1/.test(agent)) e.agent = 1;
  return e;
}
