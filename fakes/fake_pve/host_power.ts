/**
 * Power of the fake PVE's hosts, as a BMC (or a hand on the button) changes it. A host powered
 * off is at once offline in /cluster/status and /nodes, every `/nodes/{node}/…` call to it
 * fails as PVE's proxy does for an unreachable node (595), its running VMs stop (a power cut),
 * and its quorum votes are lost: the cluster stays quorate only while the votes of powered
 * hosts are strictly more than half of all votes (corosync's votequorum), and without quorum
 * every write fails. A host powered on joins the cluster (online again) after its boot delay.
 *
 * May import: fakes/fake_pve/ only.
 */
import { sleep } from "./scheduler.ts";
import type { ModelState } from "./state.ts";

/** A host's power: on (maybe still booting), or off. */
export type FakeHostPower = "on" | "off";

/** The power state and boot progress of every host, kept beside the model's state. */
export class HostPowerTable {
  /** Hosts whose power is off. */
  readonly off = new Set<string>();
  /** Hosts powered on and not yet joined: the boot's sequence number (a later one wins). */
  readonly booting = new Map<string, number>();
  #seq = 0;
  /** A new boot's sequence number. */
  nextBoot(): number {
    return ++this.#seq;
  }
  /** Quorum votes per host (absent: 1, corosync's default). */
  readonly votes = new Map<string, number>();
  /** Time from power-on until the host is online in PVE (ms), per host or the default. */
  bootDelayMs = 30_000;
  readonly bootDelays = new Map<string, number>();
}

const tables = new WeakMap<ModelState, HostPowerTable>();

/** The power table of a model's state (made on first use). */
export function powerTable(st: ModelState): HostPowerTable {
  let t = tables.get(st);
  if (!t) tables.set(st, t = new HostPowerTable());
  return t;
}

/** The host's power as its BMC would report it. */
export function hostPower(st: ModelState, node: string): FakeHostPower {
  return powerTable(st).off.has(node) ? "off" : "on";
}

/** Votes of one host. */
export function hostVotes(st: ModelState, node: string): number {
  return powerTable(st).votes.get(node) ?? 1;
}

/**
 * Whether the cluster has quorum: no lost-quorum fault, and the votes of powered hosts are
 * strictly more than half of all votes.
 */
export function isQuorate(st: ModelState): boolean {
  if (!st.quorate) return false;
  const t = powerTable(st);
  if (t.off.size === 0) return true;
  let total = 0;
  let on = 0;
  for (const name of st.hosts.keys()) {
    const v = hostVotes(st, name);
    total += v;
    if (!t.off.has(name)) on += v;
  }
  return on * 2 > total;
}

/**
 * Powers a host off (at once: offline, running VMs stopped) or on (online after its boot
 * delay). Returns false for an unknown host. Powering on a host that is on does nothing.
 */
export function setHostPower(st: ModelState, node: string, on: boolean): boolean {
  const h = st.hosts.get(node);
  if (!h) return false;
  const t = powerTable(st);
  if (!on) {
    t.booting.delete(node);
    t.off.add(node);
    h.online = false;
    for (const vm of st.vms.values()) {
      if (vm.node !== node || vm.status !== "running") continue;
      vm.status = "stopped";
      delete vm.startedAt;
    }
    return true;
  }
  if (!t.off.has(node)) return true;
  t.off.delete(node);
  const delay = t.bootDelays.get(node) ?? t.bootDelayMs;
  const boot = t.nextBoot();
  t.booting.set(node, boot);
  st.sched.spawn(
    (function* () {
      yield sleep(delay);
      // Only the latest boot joins, and only if the host was not powered off meanwhile.
      if (t.booting.get(node) !== boot) return;
      t.booting.delete(node);
      h.online = true;
    })(),
    () => {},
  );
  return true;
}

const haServices = new WeakMap<ModelState, Set<number>>();

/** The VMIDs under HA management (`ha-manager add vm:VMID`), made on first use. */
export function haVmids(st: ModelState): Set<number> {
  let s = haServices.get(st);
  if (!s) haServices.set(st, s = new Set());
  return s;
}

/** `GET /cluster/config/nodes`: each member with its corosync quorum votes. */
export function clusterConfigNodesView(st: ModelState): Record<string, unknown>[] {
  return [...st.hosts.values()].map((h) => ({
    node: h.name,
    name: h.name,
    nodeid: String(h.nodeid),
    quorum_votes: String(hostVotes(st, h.name)),
    ring0_addr: h.ip,
  }));
}

/**
 * `GET /cluster/ha/status/current`: the quorum entry, then one `service` entry per HA
 * resource with the node its VM is on and its state.
 */
export function haStatusCurrentView(st: ModelState): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{
    id: "quorum",
    type: "quorum",
    node: [...st.hosts.values()].find((h) => h.online)?.name ?? "",
    status: isQuorate(st) ? "OK" : "No quorum on node",
    quorate: isQuorate(st) ? 1 : 0,
  }];
  for (const vmid of [...haVmids(st)].sort((a, b) => a - b)) {
    const vm = st.vms.get(vmid);
    if (!vm) continue;
    out.push({
      id: `service:vm:${vmid}`,
      type: "service",
      sid: `vm:${vmid}`,
      node: vm.node,
      state: vm.status === "running" ? "started" : "stopped",
      crm_state: vm.status === "running" ? "started" : "stopped",
      request_state: "started",
      max_relocate: 1,
      max_restart: 1,
    });
  }
  return out;
}
