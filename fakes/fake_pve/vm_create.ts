/**
 * Creating VMs: `POST /nodes/{node}/qemu` (qmcreate) and `POST …/{vmid}/clone` (qmclone), with
 * PVE's synchronous checks, the VMID reservation (`lock: create`, the clone placeholder), disk
 * allocation and copying under storage locks, and rollback on failure.
 */
import { isQuorate } from "./host_power.ts";
import { type ConfigFile, diskKeys } from "./config_file.ts";
import {
  formatSize,
  parseDrive,
  parseNic,
  printDrive,
  printNic,
  propGet,
  propSet,
} from "./property_string.ts";
import { lock, sleep, TaskFailure, TaskKilled, unlock } from "./scheduler.ts";
import {
  type ModelState,
  type Outcome,
  type PveError,
  type StorageState,
  throwInjected,
  type VmState,
} from "./state.ts";
import {
  allocCloudinit,
  allocDisk,
  allocLinked,
  findVolume,
  freeVolume,
  splitVolid,
  supportsLinkedClone,
} from "./storage_ops.ts";
import { applyPlan, checkValue, type Params, planConfig } from "./vm_config.ts";
import { claimPci } from "./pci.ts";

const VMID_RE = /^[1-9][0-9]{2,8}$/;

/** Validates a VMID parameter; 400 texts as PVE's JSONSchema gives them. */
export function checkVmidParam(v: string | undefined): string | undefined {
  if (v === undefined || v === "") return "property is missing and it is not optional";
  if (!/^[+-]?\d+$/.test(v)) return `type check ('integer') failed - got '${v}'`;
  if (!VMID_RE.test(v)) return "invalid format - value does not look like a valid VM ID\n";
  return undefined;
}

function err(e: PveError): { ok: false; error: PveError } {
  return { ok: false, error: e };
}

/** `cluster not ready - no quorum?` for writes while the cluster is not quorate. */
export function quorumError(st: ModelState): PveError | undefined {
  return isQuorate(st) ? undefined : st.fail(500, "cluster not ready - no quorum?");
}

/** Missing pools are a 403 on create and clone. */
function poolError(st: ModelState, pool: string | undefined): PveError | undefined {
  if (pool === undefined || st.pools.has(pool)) return undefined;
  return st.fail(403, `Permission check failed (pool '${pool}' does not exist)`);
}

/** `storage lock` key and the timeout text PVE prints for it. */
export function storageLock(node: string, s: StorageState): { key: string; message: string } {
  return s.shared
    ? {
      key: `storage:*:${s.id}`,
      message: `cfs-lock 'storage-${s.id}' error: got lock request timeout`,
    }
    : {
      key: `storage:${node}:${s.id}`,
      message: `can't lock file '/var/lock/pve-manager/pve-storage-${s.id}' - got timeout`,
    };
}

function defaultBoot(c: ConfigFile): string {
  const devs: string[] = [];
  const disks = diskKeys(c);
  const first = disks.find((k) => propGet(parseDrive(c.values.get(k)!).props, "media") !== "cdrom");
  if (first) devs.push(first);
  const cd = disks.find((k) => propGet(parseDrive(c.values.get(k)!).props, "media") === "cdrom");
  if (cd) devs.push(cd);
  if (c.values.has("net0")) devs.push("net0");
  return `order=${devs.join(";")}`;
}

const CREATE_EXTRA = new Set([
  "vmid",
  "node",
  "pool",
  "storage",
  "start",
  "archive",
  "force",
  "unique",
  "live-restore",
]);

/** `POST /nodes/{node}/qemu`: reserves the VMID synchronously, builds the VM in a qmcreate task. */
export function createVm(
  st: ModelState,
  node: string,
  params: Params,
  user: string,
): Outcome<string> {
  const errors: Record<string, string> = {};
  const vmidErr = checkVmidParam(params.vmid);
  if (vmidErr) errors.vmid = vmidErr;
  const startErr = params.start !== undefined ? checkValue("onboot", params.start) : undefined;
  if (startErr) errors.start = startErr;
  const vmid = Number(params.vmid);
  const plan = planConfig(st, node, vmid, params, {
    mode: "create",
    extraKeys: CREATE_EXTRA,
    ...(params.storage ? { defaultStorage: params.storage } : {}),
  });
  if (!plan.ok && plan.error.errors) Object.assign(errors, plan.error.errors);
  if (Object.keys(errors).length > 0) {
    return err(st.fail(400, "Parameter verification failed.", errors));
  }
  if (!plan.ok) return plan;
  const q = quorumError(st) ?? poolError(st, params.pool);
  if (q) return err(q);
  const taken = st.vms.get(vmid);
  if (taken) {
    return err(
      st.fail(
        500,
        `unable to create VM ${vmid} - VM ${vmid} already exists on node '${taken.node}'`,
      ),
    );
  }
  const createdAt = st.time();
  const vm: VmState = {
    vmid,
    node,
    conf: { values: new Map([["lock", "create"]]) },
    status: "stopped",
    createdAt,
  };
  st.vms.set(vmid, vm);
  const task = st.startTask(node, "qmcreate", String(vmid), user, function* (t) {
    yield lock(st.vmLockKey(vmid), "exclusive", st.timing.createLockWaitMs, st.vmLockTimeout(vmid));
    try {
      yield sleep(st.duration("qmcreate", vmid, node));
      throwInjected(t);
      const conf: ConfigFile = { values: new Map() };
      const r = applyPlan(st, node, vmid, conf, plan.value);
      if (!r.ok) throw new TaskFailure(r.error.message);
      t.log.push(...r.value);
      if (!conf.values.has("boot")) conf.values.set("boot", defaultBoot(conf));
      if (!conf.values.has("smbios1")) conf.values.set("smbios1", `uuid=${st.rng.uuid()}`);
      if (!conf.values.has("vmgenid")) conf.values.set("vmgenid", st.rng.uuid());
      conf.values.set("meta", `creation-qemu=9.0.2,ctime=${Math.floor(st.time() / 1000)}`);
      vm.conf = conf;
      if (params.pool) {
        st.pools.get(params.pool)?.vms.add(vmid);
        vm.pool = params.pool;
      }
      // autostart after create: a failed start is a warning, the VM stays stopped
      const pciError = params.start === "1" ? claimPci(st, vm) : undefined;
      if (pciError) t.log.push(`Execute autostart`, pciError);
      else if (params.start === "1") {
        vm.status = "running";
        vm.startedAt = st.time();
      }
    } catch (e) {
      if (e instanceof TaskKilled) throw e;
      if (st.vms.get(vmid) === vm) st.vms.delete(vmid);
      const msg = e instanceof Error ? e.message : String(e);
      throw new TaskFailure(
        t.injected?.message === msg ? msg : `unable to create VM ${vmid} - ${msg}`,
      );
    }
  });
  return { ok: true, value: task.upid };
}

const CLONE_PARAMS = new Set([
  "node",
  "vmid",
  "newid",
  "name",
  "description",
  "pool",
  "full",
  "storage",
  "format",
  "target",
  "snapname",
  "bwlimit",
]);
const NOT_COPIED = /^(lock|template|unused\d+|parent|runningcpu|runningmachine|vmstate|digest)$/;

/** `POST /nodes/{node}/qemu/{vmid}/clone`: sync checks, then a qmclone task (id = source VMID). */
export function cloneVm(
  st: ModelState,
  node: string,
  vmid: number,
  params: Params,
  user: string,
): Outcome<string> {
  const errors: Record<string, string> = {};
  for (const k of Object.keys(params)) {
    if (!CLONE_PARAMS.has(k)) {
      errors[k] =
        "property is not defined in schema and the schema does not allow additional properties";
    }
  }
  const newidErr = checkVmidParam(params.newid);
  if (newidErr) errors.newid = newidErr;
  if (params.name !== undefined) {
    const e = checkValue("name", params.name);
    if (e) errors.name = e;
  }
  if (params.full !== undefined) {
    const e = checkValue("onboot", params.full);
    if (e) errors.full = e;
  }
  if (params.format !== undefined && !["raw", "qcow2", "vmdk"].includes(params.format)) {
    errors.format =
      `value '${params.format}' does not have a value in the enumeration 'raw, qcow2, vmdk'`;
  }
  if (Object.keys(errors).length > 0) {
    return err(st.fail(400, "Parameter verification failed.", errors));
  }
  const newid = Number(params.newid);
  const pe = poolError(st, params.pool);
  if (pe) return err(pe);
  const target = params.target;
  if (target !== undefined && !st.hosts.has(target)) {
    return err(st.fail(500, `no such cluster node '${target}'`));
  }
  let targetStorage: StorageState | undefined;
  if (params.storage !== undefined) {
    targetStorage = st.storageOn(node, params.storage);
    if (!targetStorage) return err(st.fail(500, `storage '${params.storage}' does not exist`));
    if (!targetStorage.enabled) return err(st.fail(500, `storage '${params.storage}' is disabled`));
    if (!targetStorage.content.includes("images")) {
      return err(st.fail(400, "Parameter verification failed.", {
        storage: `storage '${params.storage}' does not support vm images`,
      }));
    }
  }
  const qe = quorumError(st);
  if (qe) return err(qe);
  const src = st.vmOn(node, vmid);
  if (!src.ok) return src;
  const source = src.value;
  const isTemplate = source.conf.values.get("template") === "1";
  const full = params.full !== undefined ? params.full === "1" : !isTemplate;
  const srcLock = source.conf.values.get("lock");
  if (srcLock) return err(st.fail(500, `VM is locked (${srcLock})`));
  if (!full && params.storage !== undefined) {
    return err(st.fail(500, "parameter 'storage' not allowed for linked clones"));
  }
  if (!full && params.format !== undefined) {
    return err(st.fail(500, "parameter 'format' not allowed for linked clones"));
  }
  const images: Array<{ key: string; volid: string }> = [];
  for (const k of diskKeys(source.conf)) {
    const volid = parseDrive(source.conf.values.get(k)!).volume;
    const vol = findVolume(st, node, volid);
    if (vol && vol.content === "images" && !/-cloudinit(\.qcow2)?$/.test(vol.name)) {
      images.push({ key: k, volid });
    }
  }
  for (const { key, volid } of images) {
    const s = st.storageOn(node, splitVolid(volid)!.storage)!;
    if (!full && (!isTemplate || !supportsLinkedClone(s))) {
      return err(st.fail(500, `Linked clone feature is not supported for '${volid}' (${key})`));
    }
  }
  if (target !== undefined && target !== node) {
    for (const { volid } of images) {
      const s = full && targetStorage
        ? targetStorage
        : st.storageOn(node, splitVolid(volid)!.storage)!;
      if (!s.shared) {
        return err(st.fail(
          500,
          full
            ? `can't clone to non-shared storage '${s.id}'`
            : `can't clone VM to node '${target}' (VM uses local storage)`,
        ));
      }
    }
  }
  const existing = st.vms.get(newid);
  if (existing && existing.node === node) {
    return err(st.fail(500, `unable to create VM ${newid}: config file already exists`));
  }

  const task = st.startTask(node, "qmclone", String(vmid), user, function* (t) {
    yield lock(st.vmLockKey(vmid), "shared", st.timing.cloneLockWaitMs, st.vmLockTimeout(vmid));
    yield lock(
      st.vmLockKey(newid),
      "exclusive",
      st.timing.cloneLockWaitMs,
      st.vmLockTimeout(newid),
    );
    const again = st.vms.get(newid);
    if (again) {
      throw new TaskFailure(
        again.node === node
          ? `unable to create VM ${newid}: config file already exists`
          : `close (rename) atomic file '/etc/pve/nodes/${node}/qemu-server/${newid}.conf' failed: File exists`,
      );
    }
    if (!st.vms.has(vmid)) throw new TaskFailure(st.noConfig(node, vmid).message);
    const conf: ConfigFile = {
      description: "qmclone temporary file",
      values: new Map([["lock", "clone"]]),
    };
    const vm: VmState = { vmid: newid, node, conf, status: "stopped", createdAt: st.time() };
    st.vms.set(newid, vm);
    const allocated: string[] = [];
    try {
      yield sleep(st.duration("qmclone", vmid, node));
      for (const k of diskKeys(source.conf)) {
        const value = source.conf.values.get(k)!;
        const { volume, props } = parseDrive(value);
        const vol = findVolume(st, node, volume);
        if (!vol || vol.content !== "images") {
          conf.values.set(k, value);
          continue;
        }
        const srcStorage = st.storageOn(node, vol.storage)!;
        let r: Outcome<string>;
        if (/-cloudinit(\.qcow2)?$/.test(vol.name)) {
          r = allocCloudinit(st, node, targetStorage ?? srcStorage, newid);
        } else if (full) {
          const dst = targetStorage ?? srcStorage;
          const sl = storageLock(node, dst);
          t.log.push(`create full clone of drive ${k} (${volume})`);
          yield lock(sl.key, "exclusive", st.timing.storageLockWaitMs, sl.message);
          const rate = st.hooks.cloneBytesPerSecond?.(dst.id) ?? st.timing.cloneBytesPerSecond;
          yield sleep(rate > 0 ? (vol.size / rate) * 1000 : 0);
          r = allocDisk(st, node, dst, newid, vol.size);
          yield unlock(sl.key);
        } else {
          t.log.push(`create linked clone of drive ${k} (${volume})`);
          r = allocLinked(st, node, srcStorage, vol, newid);
        }
        if (!r.ok) throw new TaskFailure(r.error.message);
        allocated.push(r.value);
        const media = propGet(props, "media") === "cdrom";
        conf.values.set(
          k,
          printDrive(r.value, media ? props : propSet(props, "size", formatSize(vol.size))),
        );
      }
      throwInjected(t);
      for (const [k, v] of source.conf.values) {
        if (NOT_COPIED.test(k) || conf.values.has(k)) continue;
        if (/^net\d+$/.test(k)) {
          const nic = parseNic(v);
          conf.values.set(k, nic ? printNic(nic.model, st.rng.mac(st.macPrefix), nic.props) : v);
        } else if (k === "smbios1") {
          conf.values.set(k, v.replace(/uuid=[^,]*/, `uuid=${st.rng.uuid()}`));
        } else if (k === "vmgenid") conf.values.set(k, st.rng.uuid());
        else conf.values.set(k, v);
      }
      if (!conf.values.has("smbios1")) conf.values.set("smbios1", `uuid=${st.rng.uuid()}`);
      conf.values.set(
        "name",
        params.name ?? `Copy-of-VM-${source.conf.values.get("name") ?? vmid}`,
      );
      const desc = params.description ?? source.conf.description;
      if (desc === undefined) delete conf.description;
      else conf.description = desc;
      conf.values.delete("lock");
      if (target !== undefined) vm.node = target;
      if (params.pool) {
        st.pools.get(params.pool)?.vms.add(newid);
        vm.pool = params.pool;
      }
    } catch (e) {
      if (e instanceof TaskKilled) throw e;
      for (const v of allocated) freeVolume(st, node, v);
      if (st.vms.get(newid) === vm) st.vms.delete(newid);
      const msg = e instanceof Error ? e.message : String(e);
      throw new TaskFailure(
        t.injected && msg === t.injected.message ? msg : `clone failed: ${msg}`,
      );
    }
  });
  return { ok: true, value: task.upid };
}
