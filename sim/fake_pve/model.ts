/**
 * sim/fake_pve: a stateful fake of a Proxmox VE 8 cluster. PveModel is the in-process API that
 * the simulator drives directly (no HTTP) and that server.ts exposes over HTTPS. Time comes from
 * an injected `now()`: tasks complete when the clock passes their end, so the simulator advances
 * virtual time and the HTTP server runs in real time. Only sim/ and tests may import this folder.
 */
import { type ConfigFile, configText, renderConfig } from "./config_file.ts";
import { formatSize, printDrive, printNic } from "./property_string.ts";
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
  allocCloudinit,
  allocDisk,
  deleteContent,
  listStorage,
  storageContent,
  storageStatus,
  toBaseVolume,
  uploadIso,
} from "./storage_ops.ts";
import { cloneVm, createVm, quorumError } from "./vm_create.ts";
import { destroyVm, powerVm, resizeVm, templateVm, updateConfig } from "./vm_lifecycle.ts";
import type { Params } from "./vm_config.ts";
import { hostStats, qemuListItem, resourceVm, StatsCache, vmCurrent } from "./inventory.ts";
import { createPool, deletePool, listPools, updatePool } from "./pools.ts";

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
  /** §12 statistics lag in ms (0: live) */
  statsLagMs?: number;
  timing?: Partial<Omit<Timing, "durations">> & { durations?: Record<string, number> };
  /** storages; default local (dir: iso, snippets, …), local-lvm (lvmthin), ceph (shared rbd) */
  storages?: StorageState[];
  /** add one template per host, VMID 9000+i, on local-lvm (default true) */
  templates?: boolean;
};

/** A VM fixture: disks are allocated for real so sizes, volumes and clones behave. */
export type VmFixture = {
  vmid: number;
  node: string;
  name?: string;
  config?: Record<string, string>;
  disks?: Array<
    { key: string; storage: string; size: number; options?: string; cloudinit?: boolean }
  >;
  template?: boolean;
  running?: boolean;
  description?: string;
  pool?: string;
};

const GiB = 1024 ** 3;

/** Default storages of a PVE 8 host plus one shared Ceph pool. */
export function defaultStorages(): StorageState[] {
  return [
    {
      id: "local",
      type: "dir",
      content: ["backup", "iso", "snippets", "vztmpl"],
      shared: false,
      total: 100 * GiB,
      enabled: true,
    },
    {
      id: "local-lvm",
      type: "lvmthin",
      content: ["images", "rootdir"],
      shared: false,
      total: 1024 * GiB,
      enabled: true,
    },
    {
      id: "ceph",
      type: "rbd",
      content: ["images", "rootdir"],
      shared: true,
      total: 4096 * GiB,
      enabled: true,
    },
  ];
}

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

  /** Adds a VM with real volumes; returns its VMID. */
  addVm(f: VmFixture): number {
    const st = this.st;
    if (st.vms.has(f.vmid)) throw new Error(`Fixture VMID ${f.vmid} already exists`);
    const conf: ConfigFile = { values: new Map() };
    if (f.description !== undefined) conf.description = f.description;
    if (f.name) conf.values.set("name", f.name);
    for (const [k, v] of Object.entries(f.config ?? {})) conf.values.set(k, v);
    for (const d of f.disks ?? []) {
      const s = st.storageOn(f.node, d.storage);
      if (!s) throw new Error(`Fixture storage ${d.storage} not on ${f.node}`);
      const r = d.cloudinit
        ? allocCloudinit(st, f.node, s, f.vmid)
        : allocDisk(st, f.node, s, f.vmid, d.size);
      if (!r.ok) throw new Error(r.error.message);
      let volid = r.value;
      if (f.template && !d.cloudinit) volid = toBaseVolume(st, f.node, volid);
      const opts = d.options
        ? d.options.split(",").map((o): [string, string] => {
          const [k, v] = o.split("=");
          return [k!, v ?? ""];
        })
        : [];
      conf.values.set(
        d.key,
        printDrive(
          volid,
          d.cloudinit ? [...opts, ["media", "cdrom"]] : [...opts, ["size", formatSize(d.size)]],
        ),
      );
    }
    if (f.template) conf.values.set("template", "1");
    const vm: VmState = {
      vmid: f.vmid,
      node: f.node,
      conf,
      status: f.running ? "running" : "stopped",
      createdAt: -Infinity,
    };
    if (f.running) vm.startedAt = st.time();
    if (f.pool) {
      vm.pool = f.pool;
      st.pools.get(f.pool)?.vms.add(f.vmid);
    }
    st.vms.set(f.vmid, vm);
    return f.vmid;
  }

  /** A cloud-image template like operators build: 2 cores, 2 GiB, 32G scsi0, cloud-init drive. */
  addTemplate(vmid: number, node: string, storage = "local-lvm"): number {
    return this.addVm({
      vmid,
      node,
      name: `k8s-template-${node}`,
      template: true,
      config: {
        agent: "1",
        boot: "order=scsi0",
        cores: "2",
        memory: "2048",
        net0: printNic("virtio", this.st.rng.mac(), [["bridge", "vmbr0"]]),
        ostype: "l26",
        scsihw: "virtio-scsi-single",
        smbios1: `uuid=${this.st.rng.uuid()}`,
        ipconfig0: "ip=dhcp",
      },
      disks: [
        { key: "scsi0", storage, size: 32 * GiB, options: "discard=on,iothread=1,ssd=1" },
        { key: "ide2", storage, size: 0, cloudinit: true },
      ],
    });
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

  /** Marks a host online or offline (F9). */
  setHostOnline(node: string, online: boolean): void {
    const h = this.st.hosts.get(node);
    if (!h) throw new Error(`No host ${node}`);
    h.online = online;
  }

  /** Sets a storage's capacity in bytes; `availBytes` makes it exactly that full (F8). */
  setStorageAvail(storage: string, availBytes: number, node?: string): void {
    const s = this.st.storages.get(storage);
    if (!s) throw new Error(`No storage ${storage}`);
    const n = node ?? s.nodes?.[0] ?? [...this.st.hosts.keys()][0]!;
    s.total = this.st.usedBytes(n, s) + availBytes;
  }

  /** Sets or clears a VM's `lock` property with no task behind it: a stale lock (F5). */
  setLockProperty(vmid: number, value: string | undefined): void {
    const vm = this.st.vms.get(vmid);
    if (!vm) throw new Error(`No VM ${vmid}`);
    if (value === undefined) vm.conf.values.delete("lock");
    else vm.conf.values.set("lock", value);
  }

  /** Holds a VM's file lock for `ms` as a hidden task would (F1-F3). */
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

  /** Quorum on or off (F10). */
  setQuorate(quorate: boolean): void {
    this.st.quorate = quorate;
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
    const hosts = [...this.st.hosts.values()];
    return [
      {
        type: "cluster",
        id: "cluster",
        name: this.st.clusterName,
        version: 4,
        quorate: this.st.quorate ? 1 : 0,
        nodes: hosts.length,
      },
      ...hosts.map((h, i) => ({
        type: "node",
        id: `node/${h.name}`,
        name: h.name,
        nodeid: h.nodeid,
        ip: h.ip,
        local: i === 0 ? 1 : 0,
        online: h.online ? 1 : 0,
        level: "",
      })),
    ];
  }

  /** `GET /cluster/nextid[?vmid=N]`: the lowest free VMID as a string; nothing is reserved. */
  nextid(vmid?: string): Outcome<string> {
    this.advance();
    if (vmid !== undefined) {
      const e = /^[+-]?\d+$/.test(vmid)
        ? (/^[1-9][0-9]{2,8}$/.test(vmid)
          ? undefined
          : "invalid format - value does not look like a valid VM ID\n")
        : `type check ('integer') failed - got '${vmid}'`;
      if (e) {
        return {
          ok: false,
          error: this.st.fail(400, "Parameter verification failed.", { vmid: e }),
        };
      }
      if (this.st.vms.has(Number(vmid))) {
        return {
          ok: false,
          error: this.st.fail(400, "Parameter verification failed.", {
            vmid: `VM ${vmid} already exists`,
          }),
        };
      }
      return { ok: true, value: vmid };
    }
    const { lower, upper } = this.st.nextIdRange;
    for (let i = lower; i < upper; i++) {
      if (!this.st.vms.has(i)) return { ok: true, value: String(i) };
    }
    return {
      ok: false,
      error: this.st.fail(500, `unable to get any free VMID in range [${lower}, ${upper}]`),
    };
  }

  /** `GET /cluster/resources[?type=vm|storage|node|sdn]` (unfiltered by permissions). */
  resources(type?: string): Outcome<Record<string, unknown>[]> {
    this.advance();
    if (type !== undefined && !["vm", "storage", "node", "sdn"].includes(type)) {
      return {
        ok: false,
        error: this.st.fail(400, "Parameter verification failed.", {
          type: `value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn'`,
        }),
      };
    }
    const st = this.st;
    const snap = this.#stats.at(st, st.time());
    const out: Record<string, unknown>[] = [];
    if (!type || type === "vm") {
      for (const vm of [...st.vms.values()].sort((a, b) => a.vmid - b.vmid)) {
        out.push(resourceVm(st, vm, snap.vms.get(vm.vmid)));
      }
    }
    if (!type || type === "node") {
      for (const h of st.hosts.values()) {
        const e: Record<string, unknown> = {
          id: `node/${h.name}`,
          type: "node",
          node: h.name,
          status: h.online ? "online" : "offline",
          level: "",
          "cgroup-mode": 2,
        };
        if (h.online) Object.assign(e, snap.hosts.get(h.name));
        out.push(e);
      }
    }
    if (!type || type === "storage") {
      for (const h of st.hosts.values()) {
        for (const s of st.storagesOn(h.name)) {
          const e: Record<string, unknown> = {
            id: `storage/${h.name}/${s.id}`,
            type: "storage",
            storage: s.id,
            node: h.name,
            plugintype: s.type,
            status: h.online && s.enabled ? "available" : "unknown",
            shared: s.shared ? 1 : 0,
            content: [...s.content].sort().join(","),
          };
          if (h.online && s.enabled) {
            e.maxdisk = s.total;
            e.disk = st.usedBytes(h.name, s);
          }
          out.push(e);
        }
      }
    }
    if (!type || type === "sdn") {
      for (const h of st.hosts.values()) {
        out.push({
          id: `sdn/${h.name}/localnetwork`,
          type: "sdn",
          sdn: "localnetwork",
          node: h.name,
          status: "ok",
        });
      }
    }
    if (!type) {
      for (const p of st.pools.values()) {
        out.push({ id: `/pool/${p.poolid}`, type: "pool", pool: p.poolid });
      }
    }
    return { ok: true, value: out };
  }

  /** `GET /nodes` */
  nodes(): Record<string, unknown>[] {
    this.advance();
    return [...this.st.hosts.values()].map((h) => {
      const e: Record<string, unknown> = {
        node: h.name,
        id: `node/${h.name}`,
        type: "node",
        status: h.online ? "online" : "offline",
        level: "",
        ssl_fingerprint: this.fingerprint,
      };
      if (h.online) Object.assign(e, hostStats(this.st, h, this.now()));
      return e;
    });
  }

  /** `GET /nodes/{node}/status` */
  nodeStatus(node: string): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => {
      const h = this.st.hosts.get(node)!;
      const s = hostStats(this.st, h, this.now());
      return {
        ok: true,
        value: {
          uptime: s.uptime,
          idle: 0,
          cpu: s.cpu,
          wait: 0.0001,
          loadavg: ["0.52", "0.61", "0.70"],
          kversion:
            "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64",
          "current-kernel": {
            sysname: "Linux",
            release: "6.8.12-4-pve",
            version: "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4",
            machine: "x86_64",
          },
          "boot-info": { mode: "efi", secureboot: 0 },
          cpuinfo: {
            model: "AMD EPYC 7302P 16-Core Processor",
            cpus: h.cpus,
            sockets: 1,
            cores: h.cpus / 2,
            mhz: "2999.998",
            user_hz: 100,
            hvm: "1",
            flags: "fpu vme de pse",
          },
          memory: { total: h.memory, used: s.mem, free: h.memory - s.mem },
          swap: { total: 8589930496, used: 0, free: 8589930496 },
          ksm: { shared: 0 },
          rootfs: {
            total: h.rootfs,
            used: s.disk,
            free: h.rootfs - s.disk,
            avail: h.rootfs - s.disk,
          },
          pveversion: "pve-manager/8.4.1/2a5fa54a8503f96d",
        },
      };
    });
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

  /** `GET /nodes/{node}/qemu/{vmid}/config`: typed values and `digest`; takes no file lock. */
  getConfig(node: string, vmid: number): Outcome<Record<string, unknown>> {
    return this.#onNode(node, () => {
      const vm = this.st.vmOn(node, vmid);
      return vm.ok
        ? {
          ok: true,
          value: renderConfig(vm.value.conf, { memoryAsString: this.st.memoryAsString }),
        }
        : vm;
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
    p: { content: string; filename: string; size: number },
    user: string,
  ): Outcome<string> {
    return this.#onNode(node, () => uploadIso(this.st, node, storage, p, user));
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
