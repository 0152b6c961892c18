/**
 * fakes/fake_pve: a stateful fake of a Proxmox VE 8 cluster. PveModel is the in-process API that
 * the simulator drives directly (no HTTP) and that server.ts exposes over HTTPS. Time comes from
 * an injected `now()`: tasks complete when the clock passes their end, so the simulator advances
 * virtual time and the HTTP server runs in real time. Only sim/ and tests may import this folder.
 */
import {
  clusterConfigNodesView,
  haStatusCurrentView,
  haVmids,
  hostPower,
  powerTable,
  setHostPower,
} from "./host_power.ts";
import { configText, renderConfig } from "./config_file.ts";
import {
  DEFAULT_TIMING,
  type HostState,
  type ModelHooks,
  ModelState,
  type Outcome,
  type PveError,
  type StorageState,
  type TaskState,
  type Timing,
  type VmState,
} from "./state.ts";
import { lock, sleep, TaskFailure } from "./scheduler.ts";
import { parseUpid } from "./upid.ts";
import {
  deleteContent,
  listStorage,
  storageContent,
  storageStatus,
  uploadIso,
} from "./storage_ops.ts";
import { cloneVm, createVm, quorumError } from "./vm_create.ts";
import { downloadUrl } from "./download_url.ts";
import { destroyVm, powerVm, resizeVm, templateVm, updateConfig } from "./vm_lifecycle.ts";
import { type Params, pendingList } from "./vm_config.ts";
import { qemuListItem, resourceVm, StatsCache, vmCurrent } from "./inventory.ts";
import { createPool, deletePool, listPools, updatePool } from "./pools.ts";
import {
  clusterStatusView,
  haManagerStatusView,
  nextidView,
  nodeStatusView,
  nodesView,
  resourcesView,
} from "./cluster_views.ts";
import { type PciSeed, seedPci } from "./pci_inventory.ts";
import { claimPci } from "./pci.ts";
import { addTemplateFixture, addVmFixture, defaultStorages, type VmFixture } from "./fixtures.ts";

export { defaultStorages };
export type { PciSeed, VmFixture };
export type {
  HostState,
  ModelHooks,
  Outcome,
  Params,
  PveError,
  StorageState,
  TaskState,
  Timing,
  VmState,
};

/** A host to create; memory in bytes. */
export type HostSpec = { name: string; cpus?: number; memory?: number; ip?: string };

/** Construction options; every field has a default suited to tests and the demo. */
export type PveModelOptions = {
  /** number of hosts named pve1..pveN (default 3), or explicit specs */
  hosts?: number | HostSpec[];
  now?: () => number;
  seed?: number;
  clusterName?: string;
  /** How far /cluster/resources statistics lag behind, in ms (0: live) */
  statsLagMs?: number;
  timing?: Partial<Omit<Timing, "durations">> & { durations?: Record<string, number> };
  /** storages; default local (dir: iso, snippets, …), local-lvm (lvmthin), ceph (shared rbd) */
  storages?: StorageState[];
  /** add one template per host, VMID 9000+i, on local-lvm (default true) */
  templates?: boolean;
  /** PCI devices per host and PCI mappings (see pci.ts; `gpuSeed` builds a typical one) */
  pci?: PciSeed;
};

const GiB = 1024 ** 3;

/** The fake cluster. Every call first lets due tasks run (see scheduler.ts). */
export class PveModel {
  /** Internal state, shared with the operation modules and the fault controller. */
  readonly st: ModelState;
  /** Leaf certificate fingerprint reported in `/nodes` (set by the server). */
  fingerprint = "";
  readonly #stats = new StatsCache();

  constructor(opts: PveModelOptions = {}) {
    const timing: Timing = {
      ...DEFAULT_TIMING,
      ...opts.timing,
      durations: { ...DEFAULT_TIMING.durations, ...opts.timing?.durations },
    };
    this.st = new ModelState(opts.now ?? (() => Date.now()), opts.seed ?? 1, {
      timing,
      ...(opts.clusterName ? { clusterName: opts.clusterName } : {}),
      ...(opts.statsLagMs !== undefined ? { statsLagMs: opts.statsLagMs } : {}),
    });
    const specs: HostSpec[] = typeof opts.hosts === "object"
      ? opts.hosts
      : Array.from({ length: opts.hosts ?? 3 }, (_, i) => ({ name: `pve${i + 1}` }));
    specs.forEach((h, i) =>
      this.st.hosts.set(h.name, {
        name: h.name,
        nodeid: i + 1,
        ip: h.ip ?? `10.0.0.${11 + i}`,
        cpus: h.cpus ?? 32,
        memory: h.memory ?? 128 * GiB,
        online: true,
        rootfs: 100 * GiB,
      })
    );
    for (const s of opts.storages ?? defaultStorages()) this.st.storages.set(s.id, { ...s });
    if (opts.templates ?? true) {
      specs.forEach((h, i) => this.addTemplate(9000 + i, h.name));
    }
    if (opts.pci) seedPci(this.st, opts.pci);
  }

  /** Model time (epoch ms). */
  now(): number {
    return this.st.time();
  }

  /** Runs every task step due by now; call after advancing a virtual clock. */
  advance(): void {
    this.st.sched.advance();
  }

  /** The next time something happens (a task step or lock deadline), for discrete-event drivers. */
  nextEventAt(): number | undefined {
    return this.st.sched.nextEventAt();
  }

  /** Plugs in fault hooks (faults.ts). */
  setHooks(h: ModelHooks): void {
    this.st.hooks = h;
  }

  // ---- fixtures and fault state -------------------------------------------------------------

  /**
   * Adds a VM with real volumes; returns its VMID. A running one holds its `hostpciN` devices
   * as if started (a foreign VM using a GPU, say); a fixture that could not start throws.
   */
  addVm(f: VmFixture): number {
    const vmid = addVmFixture(this.st, f);
    const pciError = f.running ? claimPci(this.st, this.st.vms.get(vmid)!) : undefined;
    if (pciError) {
      this.st.vms.delete(vmid);
      throw new Error(`Fixture VM ${vmid} cannot run: ${pciError}`);
    }
    return vmid;
  }

  /** A cloud-image template like operators build: 2 cores, 2 GiB, 32G scsi0, cloud-init drive. */
  addTemplate(vmid: number, node: string, storage = "local-lvm"): number {
    return addTemplateFixture(this.st, vmid, node, storage);
  }

  /** Adds a pre-placed file (snippet or ISO) to a file storage, as an operator would by hand. */
  addFile(
    node: string,
    storage: string,
    content: "snippets" | "iso",
    file: string,
    size = 1024,
  ): string {
    const s = this.st.storageOn(node, storage);
    if (!s) throw new Error(`No storage ${storage} on ${node}`);
    const name = `${content}/${file}`;
    this.st.volumesOf(node, s).set(name, { storage, name, size, content });
    return `${storage}:${name}`;
  }

  /** Marks a host online or offline. */
  setHostOnline(node: string, online: boolean): void {
    const h = this.st.hosts.get(node);
    if (!h) throw new Error(`No host ${node}`);
    h.online = online;
  }

  /** Sets a storage's capacity in bytes; `availBytes` makes it exactly that full. */
  setStorageAvail(storage: string, availBytes: number, node?: string): void {
    const s = this.st.storages.get(storage);
    if (!s) throw new Error(`No storage ${storage}`);
    const n = node ?? s.nodes?.[0] ?? [...this.st.hosts.keys()][0]!;
    s.total = this.st.usedBytes(n, s) + availBytes;
  }

  /** Sets or clears a VM's `lock` property with no task behind it: a stale lock. */
  setLockProperty(vmid: number, value: string | undefined): void {
    const vm = this.st.vms.get(vmid);
    if (!vm) throw new Error(`No VM ${vmid}`);
    if (value === undefined) vm.conf.values.delete("lock");
    else vm.conf.values.set("lock", value);
  }

  /** Holds a VM's file lock for `ms` as a hidden task would. */
  holdVmLock(vmid: number, ms: number): void {
    const st = this.st;
    st.sched.spawn(
      (function* () {
        yield lock(st.vmLockKey(vmid), "exclusive", 0, "injected");
        yield sleep(ms);
      })(),
      () => {},
    );
  }

  /**
   * Powers a host off (offline at once, its running VMs stopped, its votes lost) or on (online
   * after its boot delay), as its BMC would; false for an unknown host (fakes/fake_pve/host_power.ts).
   */
  setHostPower(node: string, on: boolean): boolean {
    this.advance();
    return setHostPower(this.st, node, on);
  }

  /** A host's power: "on" (booting included) or "off". */
  hostPower(node: string): "on" | "off" {
    this.advance();
    return hostPower(this.st, node);
  }

  /** Time from power-on until the host joins, for one host or (no node) every host. */
  setBootDelay(ms: number, node?: string): void {
    const t = powerTable(this.st);
    if (node === undefined) t.bootDelayMs = ms;
    else t.bootDelays.set(node, ms);
  }

  /** A host's corosync quorum votes (default 1). */
  setHostVotes(node: string, votes: number): void {
    powerTable(this.st).votes.set(node, votes);
  }

  /** Puts a VM under HA management (`ha-manager add vm:VMID`), or takes it out. */
  setHaResource(vmid: number, on: boolean): void {
    if (on) haVmids(this.st).add(vmid);
    else haVmids(this.st).delete(vmid);
  }

  /** `GET /cluster/config/nodes` */
  clusterConfigNodes(): Record<string, unknown>[] {
    this.advance();
    return clusterConfigNodesView(this.st);
  }

  /** `GET /cluster/ha/status/current` */
  haStatusCurrent(): Record<string, unknown>[] {
    this.advance();
    return haStatusCurrentView(this.st);
  }

  /** Quorum on or off (without it every write fails). */
  setQuorate(quorate: boolean): void {
    this.st.quorate = quorate;
  }

  /**
   * `ha-manager crm-command node-maintenance enable|disable NODE`: the HA manager reports the
   * node in maintenance (or online again).
   */
  setHaMaintenance(node: string, on: boolean): void {
    if (on) this.st.haMaintenance.add(node);
    else this.st.haMaintenance.delete(node);
  }

  /** The datacenter `next-id` range ([lower, upper), upper exclusive as PVE's). */
  setNextIdRange(lower: number, upper: number): void {
    this.st.nextIdRange = { lower, upper };
  }

  /** The raw config file text of a VM (for assertions). */
  configFileText(vmid: number): string | undefined {
    const vm = this.st.vms.get(vmid);
    return vm ? configText(vm.conf) : undefined;
  }

  // ---- node routing -------------------------------------------------------------------------

  /** PVE's answer for a `/nodes/{node}/…` call to an unknown or unreachable node, if any. */
  nodeError(node: string): PveError | undefined {
    const h = this.st.hosts.get(node);
    if (!h) {
      return this.st.fail(
        500,
        `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`,
      );
    }
    if (!h.online) return this.st.fail(595, "No route to host");
    return undefined;
  }

  #onNode<T>(node: string, f: () => Outcome<T>): Outcome<T> {
    this.advance();
    const e = this.nodeError(node);
    return e ? { ok: false, error: e } : f();
  }

  // ---- cluster -------------------------------------------------------------------------------

  /** `GET /version` */
  version(): { version: string; release: string; repoid: string } {
    return { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" };
  }

  /** `GET /cluster/status` */
  clusterStatus(): Record<string, unknown>[] {
    this.advance();
    return clusterStatusView(this.st);
  }

  /** `GET /cluster/ha/status/manager_status` */
  haManagerStatus(): Record<string, unknown> {
    this.advance();
    return haManagerStatusView(this.st, this.now());
  }

  /** `GET /cluster/nextid[?vmid=N]`: the lowest free VMID as a string; nothing is reserved. */
  nextid(vmid?: string): Outcome<string> {
    this.advance();
    return nextidView(this.st, vmid);
  }

  /** `GET /cluster/resources[?type=vm|storage|node|sdn]` (unfiltered by permissions). */
  resources(type?: string): Outcome<Record<string, unknown>[]> {
    this.advance();
    return resourcesView(this.st, this.#stats.at(this.st, this.st.time()), type);
  }

  /** `GET /nodes` */
  nodes(): Record<string, unknown>[] {
    this.advance();
    return nodesView(this.st, this.fingerprint);
  }

  /** `GET /nodes/{node}/status` */
  nodeStatus(node: string): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => nodeStatusView(this.st, this.st.hosts.get(node)!));
  }

  // ---- VMs ----------------------------------------------------------------------------------

  /** `GET /nodes/{node}/qemu[?full=1]` */
  listQemu(node: string, full = false): Outcome<Record<string, unknown>[]> {
    return this.#onNode(node, () => ({
      ok: true,
      value: [...this.st.vms.values()].filter((v) => v.node === node).sort((a, b) =>
        a.vmid - b.vmid
      )
        .map((v) => qemuListItem(this.st, v, this.now(), full)),
    }));
  }

  /** `GET /nodes/{node}/qemu/{vmid}/status/current` */
  statusCurrent(node: string, vmid: number): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => {
      const vm = this.st.vmOn(node, vmid);
      return vm.ok ? { ok: true, value: vmCurrent(this.st, vm.value, this.now()) } : vm;
    });
  }

  /**
   * `GET /nodes/{node}/qemu/{vmid}/config[?current=1]`: typed values and `digest`, pending
   * changes applied unless `current`; takes no file lock (answers during a clone).
   */
  getConfig(node: string, vmid: number, current = false): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => {
      const vm = this.st.vmOn(node, vmid);
      return vm.ok
        ? {
          ok: true,
          value: renderConfig(vm.value.conf, { memoryAsString: this.st.memoryAsString }, current),
        }
        : vm;
    });
  }

  /** `GET /nodes/{node}/qemu/{vmid}/pending` */
  pending(node: string, vmid: number): Outcome<Array<Record<string, unknown>>> {
    return this.#onNode(node, () => {
      const vm = this.st.vmOn(node, vmid);
      return vm.ok ? { ok: true, value: pendingList(vm.value.conf) } : vm;
    });
  }

  /** `POST /nodes/{node}/qemu` → qmcreate UPID. `user` as in UPIDs (`user@realm!token`). */
  createVm(node: string, params: Params, user: string): Outcome<string> {
    return this.#onNode(node, () => createVm(this.st, node, params, user));
  }

  /** `POST /nodes/{node}/qemu/{vmid}/clone` → qmclone UPID (id = source VMID). */
  cloneVm(node: string, vmid: number, params: Params, user: string): Outcome<string> {
    return this.#onNode(node, () => cloneVm(this.st, node, vmid, params, user));
  }

  /** `POST` (async → UPID) or `PUT` (sync → null) config; see vm_lifecycle.ts for lockBusy. */
  updateConfig(
    node: string,
    vmid: number,
    params: Params,
    user: string,
    mode: "async" | "sync",
  ): Outcome<string | null> {
    return this.#onNode(node, () => updateConfig(this.st, node, vmid, params, user, mode));
  }

  /** `PUT /nodes/{node}/qemu/{vmid}/resize` → resize UPID. */
  resizeVm(node: string, vmid: number, params: Params, user: string): Outcome<string> {
    return this.#onNode(node, () => resizeVm(this.st, node, vmid, params, user));
  }

  /** `POST …/status/{start|stop|shutdown|reboot}` → UPID. */
  powerVm(
    node: string,
    vmid: number,
    action: "start" | "stop" | "shutdown" | "reboot",
    params: Params,
    user: string,
  ): Outcome<string> {
    return this.#onNode(node, () => powerVm(this.st, node, vmid, action, params, user));
  }

  /** `DELETE /nodes/{node}/qemu/{vmid}` → qmdestroy UPID. */
  destroyVm(node: string, vmid: number, params: Params, user: string): Outcome<string> {
    return this.#onNode(node, () => destroyVm(this.st, node, vmid, params, user));
  }

  /** `POST …/template` → qmtemplate UPID. */
  templateVm(node: string, vmid: number, user: string): Outcome<string> {
    return this.#onNode(node, () => {
      const q = quorumError(this.st);
      return q ? { ok: false, error: q } : templateVm(this.st, node, vmid, user);
    });
  }

  // ---- tasks --------------------------------------------------------------------------------

  #task(node: string, upid: string): Outcome<TaskState> {
    if (!parseUpid(upid)) {
      return {
        ok: false,
        error: this.st.fail(400, "Parameter verification failed.", {
          upid: "unable to parse worker upid",
        }),
      };
    }
    const t = this.st.tasks.get(upid);
    if (!t || t.node !== node) {
      return {
        ok: false,
        error: this.st.fail(400, "Parameter verification failed.", { upid: "no such task" }),
      };
    }
    return { ok: true, value: t };
  }

  /** A task by UPID, for owner checks (no node routing). */
  task(upid: string): TaskState | undefined {
    this.advance();
    return this.st.tasks.get(upid);
  }

  /** `GET /nodes/{node}/tasks/{upid}/status` (no `endtime`; user and tokenid split). */
  taskStatus(node: string, upid: string): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => {
      const r = this.#task(node, upid);
      if (!r.ok) return r;
      const t = r.value;
      const [user, tokenid] = t.user.split("!");
      const e: Record<string, unknown> = {
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        user,
        status: t.status,
      };
      if (tokenid) e.tokenid = tokenid;
      if (t.exitstatus !== undefined) e.exitstatus = t.exitstatus;
      return { ok: true, value: e };
    });
  }

  /** `GET /nodes/{node}/tasks/{upid}/log?start=&limit=` with `total`. */
  taskLog(
    node: string,
    upid: string,
    start = 0,
    limit = 50,
  ): Outcome<{ lines: Array<{ n: number; t: string }>; total: number }> {
    return this.#onNode(node, () => {
      const r = this.#task(node, upid);
      if (!r.ok) return r;
      const all = r.value.log.length ? r.value.log : ["no content"];
      const lines = all.map((t, i) => ({ n: i + 1, t })).slice(start, start + limit);
      return { ok: true, value: { lines, total: all.length } };
    });
  }

  /** `GET /nodes/{node}/tasks` (newest first). */
  listTasks(
    node: string,
    f: { vmid?: number; typefilter?: string; source?: string } = {},
  ): Outcome<Record<string, unknown>[]> {
    return this.#onNode(node, () => ({
      ok: true,
      value: [...this.st.tasks.values()]
        .filter((t) => t.node === node)
        .filter((t) => f.vmid === undefined || t.id === String(f.vmid))
        .filter((t) => !f.typefilter || t.type === f.typefilter)
        .filter((t) =>
          f.source === "all" ||
          (f.source === "active"
            ? t.status === "running"
            : f.source === "archive"
            ? t.status === "stopped"
            : true)
        )
        .reverse()
        .map((t) => {
          const e: Record<string, unknown> = {
            upid: t.upid,
            node: t.node,
            pid: t.pid,
            pstart: t.pstart,
            starttime: t.starttime,
            type: t.type,
            id: t.id,
            user: t.user,
          };
          if (t.status === "stopped") {
            e.endtime = t.endtime;
            e.status = t.exitstatus;
          }
          return e;
        }),
    }));
  }

  /** `DELETE /nodes/{node}/tasks/{upid}`: interrupts a running worker (it rolls back). */
  stopTask(node: string, upid: string): Outcome<null> {
    return this.#onNode(node, () => {
      const r = this.#task(node, upid);
      if (!r.ok) return r;
      this.st.sched.interrupt(r.value.runId, new TaskFailure("received interrupt"));
      return { ok: true, value: null };
    });
  }

  // ---- storage and pools ----------------------------------------------------------------------

  /** `GET /nodes/{node}/storage` */
  listStorage(
    node: string,
    f: { content?: string; enabled?: boolean } = {},
  ): Outcome<Record<string, unknown>[]> {
    return this.#onNode(node, () => ({ ok: true, value: listStorage(this.st, node, f) }));
  }

  /** `GET /nodes/{node}/storage/{storage}/status` */
  storageStatus(node: string, storage: string): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => storageStatus(this.st, node, storage));
  }

  /** `GET /nodes/{node}/storage/{storage}/content` */
  storageContent(
    node: string,
    storage: string,
    f: { content?: string; vmid?: number } = {},
  ): Outcome<Record<string, unknown>[]> {
    return this.#onNode(node, () => storageContent(this.st, node, storage, f));
  }

  /** `POST /nodes/{node}/storage/{storage}/upload` (content iso, vztmpl or import) → imgcopy UPID. */
  upload(
    node: string,
    storage: string,
    p: { content: string; filename: string; size: number; data?: Uint8Array },
    user: string,
  ): Outcome<string> {
    return this.#onNode(node, () => uploadIso(this.st, node, storage, p, user));
  }

  /** `POST /nodes/{node}/storage/{storage}/download-url` → download UPID (fetches for real). */
  downloadUrl(node: string, storage: string, params: Params, user: string): Outcome<string> {
    return this.#onNode(node, () => downloadUrl(this.st, node, storage, params, user));
  }

  /** The bytes of an uploaded volume (`<storage>:iso/<name>`) on `node`, if it exists. */
  volumeData(node: string, volid: string): Uint8Array | undefined {
    const at = volid.indexOf(":");
    const s = this.st.storageOn(node, volid.slice(0, at));
    return s ? this.st.volumesOf(node, s).get(volid.slice(at + 1))?.data : undefined;
  }

  /** `DELETE /nodes/{node}/storage/{storage}/content/{volume}` → imgdel UPID. */
  deleteVolume(node: string, storage: string, volume: string, user: string): Outcome<string> {
    return this.#onNode(node, () => deleteContent(this.st, node, storage, volume, user));
  }

  /** `GET /pools[?poolid=&type=]` */
  listPools(poolid?: string, type?: string): Outcome<Record<string, unknown>[]> {
    this.advance();
    return listPools(
      this.st,
      poolid,
      type,
      (vm) => resourceVm(this.st, vm, this.#stats.at(this.st, this.now()).vms.get(vm.vmid)),
    );
  }

  /** `POST /pools` */
  createPool(poolid: string, comment?: string): Outcome<null> {
    this.advance();
    return createPool(this.st, poolid, comment);
  }

  /** `PUT /pools` (or the deprecated `/pools/{poolid}`) */
  updatePool(params: Params): Outcome<null> {
    this.advance();
    return updatePool(this.st, params);
  }

  /** `DELETE /pools?poolid=` */
  deletePool(poolid: string): Outcome<null> {
    this.advance();
    return deletePool(this.st, poolid);
  }
}
