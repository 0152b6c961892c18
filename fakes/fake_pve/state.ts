/**
 * The fake PVE cluster's state and the helpers every operation shares: hosts, storages and
 * their volumes, VMs (config text as the source of truth), pools, tasks with UPIDs, the task
 * scheduler and the seeded RNG. Operations live in vm_*.ts and storage_ops.ts; PveModel
 * (model.ts) is the public face. Only fakes/fake_pve imports this file.
 */
import type { Result } from "../result.ts";
import { type ConfigFile } from "./config_file.ts";
import { SeededRng } from "./rng.ts";
import { Scheduler, TaskFailure, TaskKilled, type Worker } from "./scheduler.ts";
import { encodeUpid } from "./upid.ts";

/** A failed call as PVE reports it: HTTP status, reason text, optional `errors` map. */
export type PveError = {
  status: number;
  message: string;
  errors?: Record<string, string>;
  /** Set when a synchronous caller found a VM file lock taken; the server waits and retries. */
  lockBusy?: string;
};

/** What every model operation returns. */
export type Outcome<T> = Result<T, PveError>;

/** A Proxmox host (a PVE "node"). Memory in bytes. */
export type HostState = {
  name: string;
  nodeid: number;
  ip: string;
  cpus: number;
  memory: number;
  online: boolean;
  rootfs: number;
};

/** Storage plugin types the fake knows (volume naming differs per type). */
export type StorageType = "dir" | "nfs" | "lvmthin" | "lvm" | "zfspool" | "rbd";

/** A storage definition; `nodes` undefined means every host. Sizes in bytes. */
export type StorageState = {
  id: string;
  type: StorageType;
  content: string[];
  shared: boolean;
  nodes?: string[];
  total: number;
  enabled: boolean;
};

/** One volume on a storage. `vmid` is the owner for images; ISOs have none. */
export type Volume = {
  storage: string;
  name: string;
  size: number;
  content: string;
  vmid?: number;
  /** for linked clones: the base volume name this one depends on */
  base?: string;
  /** the file's bytes, for uploaded ISOs (what a guest reading the cdrom would see) */
  data?: Uint8Array;
};

/** A VM: where its config lives, its config file, and runtime state. */
export type VmState = {
  vmid: number;
  node: string;
  conf: ConfigFile;
  status: "running" | "stopped";
  createdAt: number;
  startedAt?: number;
  pool?: string;
};

/** A task as PVE's task list shows it, plus its log lines. */
export type TaskState = {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
  runId: number;
  /** An injected failure the worker applies at its commit point. */
  injected?: { message: string; killed?: boolean };
};

/** A resource pool and its members. */
export type PoolState = {
  poolid: string;
  comment?: string;
  vms: Set<number>;
  storage: Set<string>;
};

/** Task durations and lock waits in ms (PVE's real lock waits by default). */
export type Timing = {
  durations: Record<string, number>;
  /** full-clone copy rate; duration adds disk bytes / rate */
  cloneBytesPerSecond: number;
  lockWaitMs: number;
  cloneLockWaitMs: number;
  createLockWaitMs: number;
  storageLockWaitMs: number;
};

/** Default durations: fast enough for a demo, slow enough to observe `running`. */
export const DEFAULT_TIMING: Timing = {
  durations: {
    qmcreate: 1500,
    qmclone: 1000,
    qmconfig: 200,
    resize: 300,
    qmstart: 800,
    qmstop: 400,
    qmshutdown: 1500,
    qmreboot: 1500,
    qmdestroy: 700,
    qmtemplate: 500,
    imgcopy: 200,
    imgdel: 100,
  },
  cloneBytesPerSecond: 4 * 1024 ** 3,
  lockWaitMs: 10_000,
  cloneLockWaitMs: 1_000,
  createLockWaitMs: 1_000,
  storageLockWaitMs: 10_000,
};

/** Injection points a fault controller plugs into (faults.ts); all optional. */
export type ModelHooks = {
  /** An injected failure for this task, or undefined to let it run normally. */
  taskFailure?: (
    t: { type: string; vmid: number | undefined; node: string },
  ) => { message: string; killed?: boolean } | undefined;
  /** Override the duration (ms) of a task. */
  taskDurationMs?: (t: { type: string; vmid: number | undefined; node: string }) =>
    | number
    | undefined;
  /** Override the full-clone copy rate of a target storage (bytes/s). */
  cloneBytesPerSecond?: (storage: string) => number | undefined;
};

/** Everything mutable about the fake cluster, shared by the operation modules. */
export class ModelState {
  readonly sched: Scheduler;
  readonly rng: SeededRng;
  readonly hosts = new Map<string, HostState>();
  readonly storages = new Map<string, StorageState>();
  /** volumes by "<node or *>/<storage>" then by volume name */
  readonly volumes = new Map<string, Map<string, Volume>>();
  readonly vms = new Map<number, VmState>();
  readonly pools = new Map<string, PoolState>();
  readonly tasks = new Map<string, TaskState>();
  /** how many times download-url fetched each URL */
  readonly downloads = new Map<string, number>();
  timing: Timing;
  hooks: ModelHooks = {};
  quorate = true;
  /**
   * Nodes in HA maintenance (`ha-manager crm-command node-maintenance enable NODE`); the HA
   * manager reports them as `maintenance` in its node status.
   */
  readonly haMaintenance = new Set<string>();
  clusterName: string;
  nextIdRange = { lower: 100, upper: 1_000_000 };
  macPrefix = "BC:24:11";
  statsLagMs: number;
  memoryAsString = true;
  #pid: number;
  readonly #pstart = new Map<string, number>();

  constructor(
    now: () => number,
    seed: number,
    opts: { timing?: Timing; clusterName?: string; statsLagMs?: number },
  ) {
    this.sched = new Scheduler(now);
    this.rng = new SeededRng(seed);
    this.timing = opts.timing ?? DEFAULT_TIMING;
    this.clusterName = opts.clusterName ?? "proxscale";
    this.statsLagMs = opts.statsLagMs ?? 0;
    this.#pid = 0x1000 + this.rng.int(0x40000);
  }

  /** Model time in epoch ms (the event being processed, or now). */
  time(): number {
    return this.sched.time();
  }

  /** Builds an error value. */
  fail(status: number, message: string, errors?: Record<string, string>): PveError {
    return errors ? { status, message, errors } : { status, message };
  }

  /** `500 Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist`. */
  noConfig(node: string, vmid: number): PveError {
    return this.fail(
      500,
      `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`,
    );
  }

  /** The VM whose config is on `node`, as PVE resolves `/nodes/{node}/qemu/{vmid}`. */
  vmOn(node: string, vmid: number): Outcome<VmState> {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) return { ok: false, error: this.noConfig(node, vmid) };
    return { ok: true, value: vm };
  }

  /** The file-lock name used in PVE's timeout message. */
  vmLockKey(vmid: number): string {
    return `vm:${vmid}`;
  }

  /** `can't lock file '/var/lock/qemu-server/lock-<vmid>.conf' - got timeout` */
  vmLockTimeout(vmid: number): string {
    return `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`;
  }

  /** Storages visible on a host, in id order. */
  storagesOn(node: string): StorageState[] {
    return [...this.storages.values()]
      .filter((s) => !s.nodes || s.nodes.includes(node))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The storage `id` if it is configured for `node`. */
  storageOn(node: string, id: string): StorageState | undefined {
    const s = this.storages.get(id);
    return s && (!s.nodes || s.nodes.includes(node)) ? s : undefined;
  }

  /** The volume map of a storage as seen from a node (shared storages have one map). */
  volumesOf(node: string, s: StorageState): Map<string, Volume> {
    const key = `${s.shared ? "*" : node}/${s.id}`;
    let m = this.volumes.get(key);
    if (!m) {
      m = new Map();
      this.volumes.set(key, m);
    }
    return m;
  }

  /** Bytes in use on a storage as seen from a node. */
  usedBytes(node: string, s: StorageState): number {
    let used = 0;
    for (const v of this.volumesOf(node, s).values()) used += v.size;
    return used;
  }

  /** The task duration after hooks (ms). */
  duration(type: string, vmid: number | undefined, node: string): number {
    return this.hooks.taskDurationMs?.({ type, vmid, node }) ?? this.timing.durations[type] ?? 0;
  }

  /**
   * Starts a task: allocates its UPID (pid from a seeded counter, starttime from the clock),
   * records it, and spawns the worker. `user` is `user@realm` or `user@realm!tokenid`.
   */
  startTask(
    node: string,
    type: string,
    id: string,
    user: string,
    worker: (t: TaskState) => Worker,
  ): TaskState {
    this.#pid += 1 + this.rng.int(64);
    let pstart = this.#pstart.get(node);
    if (pstart === undefined) {
      pstart = 0x100000 + this.rng.int(0x1000000);
      this.#pstart.set(node, pstart);
    }
    const starttime = Math.floor(this.time() / 1000);
    const upid = encodeUpid({ node, pid: this.#pid, pstart, starttime, type, id, user });
    const task: TaskState = {
      upid,
      node,
      pid: this.#pid,
      pstart,
      starttime,
      type,
      id,
      user,
      status: "running",
      log: [],
      runId: 0,
    };
    this.tasks.set(upid, task);
    const vmid = /^\d+$/.test(id) ? Number(id) : undefined;
    const injected = this.hooks.taskFailure?.({ type, vmid, node });
    if (injected) task.injected = injected;
    task.runId = this.sched.spawn(worker(task), (exit) => {
      task.status = "stopped";
      task.exitstatus = exit;
      task.endtime = Math.floor(this.time() / 1000);
      if (exit === "OK") task.log.push("TASK OK");
      else if (exit.startsWith("WARNINGS: ")) task.log.push(`TASK ${exit}`);
      else if (exit !== "unexpected status") task.log.push(`TASK ERROR: ${exit}`);
    });
    return task;
  }
}

/** Throws the task's injected failure, if any, at a worker's commit point. */
export function throwInjected(t: TaskState): void {
  if (t.injected?.killed) throw new TaskKilled();
  if (t.injected) throw new TaskFailure(t.injected.message);
}
