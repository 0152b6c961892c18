/**
 * Changing and removing VMs: config update (POST async / PUT sync, digest, lock property and
 * file lock), resize, power actions, destroy with purge, template conversion. Errors surface
 * synchronously or in the task exactly where PVE raises them.
 */
import {
  configDigest,
  type ConfigFile,
  diskKeys,
  effectiveValues,
  isDiskKey,
} from "./config_file.ts";
import { formatSize, parseDrive, printDrive, propGet, propSet } from "./property_string.ts";
import { lock, sleep, type Step, TaskFailure } from "./scheduler.ts";
import {
  type ModelState,
  type Outcome,
  type PveError,
  type TaskState,
  throwInjected,
  type VmState,
} from "./state.ts";
import {
  baseInUse,
  findVolume,
  freeVolume,
  outOfSpaceMessage,
  ownedVolumes,
  splitVolid,
  toBaseVolume,
} from "./storage_ops.ts";
import { quorumError } from "./vm_create.ts";
import { claimPci } from "./pci.ts";
import { applyPending, applyPlan, checkBootOrder, type Params, planConfig } from "./vm_config.ts";

function err(e: PveError): { ok: false; error: PveError } {
  return { ok: false, error: e };
}

const POWER_PARAMS: Record<string, { allowed: string[]; booleans: string[] }> = {
  start: {
    allowed: [
      "timeout",
      "skiplock",
      "machine",
      "force-cpu",
      "migratedfrom",
      "migration_network",
      "migration_type",
      "stateuri",
      "targetstorage",
    ],
    booleans: ["skiplock"],
  },
  stop: {
    allowed: ["timeout", "overrule-shutdown", "keepActive", "skiplock", "migratedfrom"],
    booleans: ["overrule-shutdown", "keepActive", "skiplock"],
  },
  shutdown: {
    allowed: ["timeout", "forceStop", "keepActive", "skiplock"],
    booleans: ["forceStop", "keepActive", "skiplock"],
  },
  reboot: { allowed: ["timeout"], booleans: [] },
  destroy: {
    allowed: ["purge", "destroy-unreferenced-disks", "skiplock"],
    booleans: ["purge", "destroy-unreferenced-disks", "skiplock"],
  },
};

/** 400 for parameters the endpoint's schema does not define, bad booleans and timeouts. */
function schemaCheck(st: ModelState, params: Params, which: string): PveError | undefined {
  const spec = POWER_PARAMS[which]!;
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === "node" || k === "vmid") continue;
    if (!spec.allowed.includes(k)) {
      errors[k] =
        "property is not defined in schema and the schema does not allow additional properties";
    } else if (spec.booleans.includes(k) && v !== "0" && v !== "1") {
      errors[k] = `type check ('boolean') failed - got '${v}'`;
    } else if (k === "timeout" && !/^[+-]?\d+$/.test(v)) {
      errors[k] = `type check ('integer') failed - got '${v}'`;
    }
  }
  return Object.keys(errors).length
    ? st.fail(400, "Parameter verification failed.", errors)
    : undefined;
}

function rootOnly(
  st: ModelState,
  user: string,
  params: Params,
  keys: string[],
): PveError | undefined {
  const errors: Record<string, string> = {};
  for (const k of keys) {
    if (params[k] !== undefined && user !== "root@pam") {
      errors[k] = "Only root may use this option.";
    }
  }
  return Object.keys(errors).length
    ? st.fail(400, "Parameter verification failed.", errors)
    : undefined;
}

const UPDATE_EXTRA = new Set([
  "node",
  "vmid",
  "delete",
  "revert",
  "force",
  "digest",
  "skiplock",
  "background_delay",
]);

/**
 * `POST` (mode "async": returns a qmconfig UPID) or `PUT` (mode "sync": returns null) config.
 * A busy VM file lock comes back as an error with `lockBusy` set so the caller can wait
 * (`lockWaitMs`) and retry before answering `got timeout`.
 */
export function updateConfig(
  st: ModelState,
  node: string,
  vmid: number,
  params: Params,
  user: string,
  mode: "async" | "sync",
): Outcome<string | null> {
  const plan = planConfig(st, node, vmid, params, { mode: "update", extraKeys: UPDATE_EXTRA });
  if (!plan.ok) return plan;
  const ro = rootOnly(st, user, params, ["skiplock"]);
  if (ro) return err(ro);
  const p = plan.value;
  if (
    p.set.size === 0 && p.newDisks.length === 0 && p.deletes.length === 0 &&
    p.description === undefined
  ) {
    return err(st.fail(500, "no options specified"));
  }
  const qe = quorumError(st);
  if (qe) return err(qe);
  const key = st.vmLockKey(vmid);
  if (!st.sched.isFree(key, "exclusive")) {
    return err({ ...st.fail(500, st.vmLockTimeout(vmid)), lockBusy: key });
  }
  const found = st.vmOn(node, vmid);
  if (!found.ok) return found;
  const vm = found.value;
  if (params.digest !== undefined && params.digest !== configDigest(vm.conf)) {
    return err(st.fail(500, "checksum mismatch (file change by other user?)"));
  }
  const lockProp = vm.conf.values.get("lock");
  if (lockProp && params.skiplock !== "1") return err(st.fail(500, `VM is locked (${lockProp})`));
  const preview: ConfigFile = { values: effectiveValues(vm.conf) };
  for (const [k, v] of p.set) preview.values.set(k, v);
  for (const d of p.newDisks) preview.values.set(d.key, "pending");
  for (const k of p.deletes) preview.values.delete(k);
  const memory = Number((preview.values.get("memory") ?? "512").replace("current=", ""));
  const balloon = preview.values.get("balloon");
  if (balloon !== undefined && Number(balloon) > memory) {
    return err(st.fail(500, "balloon value too large (must be smaller than assigned memory)"));
  }
  const boot = checkBootOrder(preview);
  if (boot) return err(st.fail(400, "Parameter verification failed.", { boot: boot }));

  if (mode === "sync") {
    const r = applyPlan(st, node, vmid, vm.conf, p, vm.status === "running");
    if (!r.ok) return r;
    return { ok: true, value: null };
  }
  const task = st.startTask(node, "qmconfig", String(vmid), user, function* (t) {
    yield lock(key, "exclusive", st.timing.lockWaitMs, st.vmLockTimeout(vmid));
    yield sleep(st.duration("qmconfig", vmid, node));
    throwInjected(t);
    const cur = st.vms.get(vmid);
    if (cur !== vm) throw new TaskFailure(st.noConfig(node, vmid).message);
    for (const [k, v] of p.set) t.log.push(`update VM ${vmid}: -${k} ${v}`);
    const r = applyPlan(st, node, vmid, vm.conf, p, vm.status === "running");
    if (!r.ok) throw new TaskFailure(r.error.message);
    t.log.push(...r.value);
  });
  return { ok: true, value: task.upid };
}

/** A task that first takes the VM file lock (10 s) and re-loads the config, as PVE workers do. */
function vmTask(
  st: ModelState,
  node: string,
  vmid: number,
  type: string,
  user: string,
  missing: string,
  body: (vm: VmState, t: TaskState) => Generator<Step, string | void, void>,
): string {
  return st.startTask(node, type, String(vmid), user, function* (t) {
    yield lock(st.vmLockKey(vmid), "exclusive", st.timing.lockWaitMs, st.vmLockTimeout(vmid));
    const vm = st.vms.get(vmid);
    if (!vm || vm.node !== node) throw new TaskFailure(missing);
    return yield* body(vm, t);
  }).upid;
}

/** `PUT …/resize`: every check in the task; absolute sizes unless `+`; no unit means bytes. */
export function resizeVm(
  st: ModelState,
  node: string,
  vmid: number,
  params: Params,
  user: string,
): Outcome<string> {
  const errors: Record<string, string> = {};
  for (const k of Object.keys(params)) {
    if (!["node", "vmid", "disk", "size", "digest", "skiplock"].includes(k)) {
      errors[k] =
        "property is not defined in schema and the schema does not allow additional properties";
    }
  }
  if (params.disk === undefined) errors.disk = "property is missing and it is not optional";
  else if (!isDiskKey(params.disk)) {
    errors.disk =
      `value '${params.disk}' does not have a value in the enumeration 'ide0, ide1, ide2, ide3, scsi0, …'`;
  }
  const m = params.size !== undefined ? /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(params.size) : null;
  if (params.size === undefined) errors.size = "property is missing and it is not optional";
  else if (!m) errors.size = `value does not match the regex pattern`;
  if (Object.keys(errors).length) {
    return err(st.fail(400, "Parameter verification failed.", errors));
  }
  const ro = rootOnly(st, user, params, ["skiplock"]);
  if (ro) return err(ro);
  const disk = params.disk!;
  const unit =
    { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m![3] as "K" | "M" | "G" | "T"] ?? 1;
  const amount = Math.round(parseFloat(m![2]!) * unit);
  const upid = vmTask(
    st,
    node,
    vmid,
    "resize",
    user,
    st.noConfig(node, vmid).message,
    function* (vm, t) {
      yield sleep(st.duration("resize", vmid, node));
      throwInjected(t);
      if (params.digest !== undefined && params.digest !== configDigest(vm.conf)) {
        throw new TaskFailure("checksum mismatch (file change by other user?)");
      }
      const lp = vm.conf.values.get("lock");
      if (lp && params.skiplock !== "1") throw new TaskFailure(`VM is locked (${lp})`);
      const value = vm.conf.values.get(disk);
      if (value === undefined) throw new TaskFailure(`disk '${disk}' does not exist`);
      const { volume, props } = parseDrive(value);
      if (propGet(props, "media") === "cdrom") throw new TaskFailure("you can't resize a cdrom");
      const vol = findVolume(st, node, volume);
      if (!vol) throw new TaskFailure(`Could not determine current size of volume '${volume}'`);
      const size = m![1] ? vol.size + amount : amount;
      if (size < vol.size) throw new TaskFailure("shrinking disks is not supported");
      if (size === vol.size) return;
      const s = st.storageOn(node, vol.storage)!;
      if (st.usedBytes(node, s) + (size - vol.size) > s.total) {
        throw new TaskFailure(outOfSpaceMessage(s, vol.name, size));
      }
      vol.size = size;
      vm.conf.values.set(disk, printDrive(volume, propSet(props, "size", formatSize(size))));
      t.log.push(`Image resized.`);
    },
  );
  return { ok: true, value: upid };
}

/** The four power actions; `start` checks only quorum synchronously, as PVE does. */
export function powerVm(
  st: ModelState,
  node: string,
  vmid: number,
  action: "start" | "stop" | "shutdown" | "reboot",
  params: Params,
  user: string,
): Outcome<string> {
  const rootKeys = action === "start"
    ? ["skiplock", "machine", "force-cpu", "migratedfrom"]
    : ["skiplock", "keepActive"];
  const ro = schemaCheck(st, params, action) ?? rootOnly(st, user, params, rootKeys);
  if (ro) return err(ro);
  const qe = quorumError(st);
  if (qe) return err(qe);
  const type = `qm${action}`;
  const missing = action === "start"
    ? st.noConfig(node, vmid).message
    : `unable to find configuration file for VM ${vmid} on node '${node}'`;
  const upid = vmTask(st, node, vmid, type, user, missing, function* (vm, t) {
    const lp = vm.conf.values.get("lock");
    if (lp && params.skiplock !== "1") throw new TaskFailure(`VM is locked (${lp})`);
    if (action === "start") {
      if (vm.status === "running") throw new TaskFailure(`VM ${vmid} already running`);
      if (vm.conf.values.get("template") === "1") {
        throw new TaskFailure("you can't start a vm if it's a template");
      }
      const cicustom = vm.conf.values.get("cicustom");
      for (const part of cicustom ? cicustom.split(",") : []) {
        const volid = part.slice(part.indexOf("=") + 1);
        const p = splitVolid(volid);
        const s = p && st.storageOn(node, p.storage);
        if (!p || !s || !s.content.includes("snippets") || !p.name.startsWith("snippets/")) {
          throw new TaskFailure(`${volid} is not in the snippets directory`);
        }
        if (!findVolume(st, node, volid)) throw new TaskFailure(`volume '${volid}' does not exist`);
      }
      t.log.push(`generating cloud-init ISO`);
    }
    yield sleep(st.duration(type, vmid, node));
    throwInjected(t);
    if (action === "start" || action === "reboot") {
      applyPending(st, node, vm.conf);
      const pciError = action === "start" ? claimPci(st, vm) : undefined;
      if (pciError) throw new TaskFailure(pciError);
      vm.status = "running";
      vm.startedAt = st.time();
    } else {
      vm.status = "stopped";
      delete vm.startedAt;
    }
  });
  return { ok: true, value: upid };
}

/** `DELETE /nodes/{node}/qemu/{vmid}`: sync exists/protection/running; lock errors in the task. */
export function destroyVm(
  st: ModelState,
  node: string,
  vmid: number,
  params: Params,
  user: string,
): Outcome<string> {
  const ro = schemaCheck(st, params, "destroy") ?? rootOnly(st, user, params, ["skiplock"]);
  if (ro) return err(ro);
  const qe = quorumError(st);
  if (qe) return err(qe);
  const found = st.vmOn(node, vmid);
  if (!found.ok) return found;
  const vm0 = found.value;
  if (vm0.conf.values.get("protection") === "1") {
    return err(st.fail(500, `can't remove VM ${vmid} - protection mode enabled`));
  }
  if (vm0.status === "running") return err(st.fail(500, `VM ${vmid} is running - destroy failed`));
  const upid = vmTask(
    st,
    node,
    vmid,
    "qmdestroy",
    user,
    st.noConfig(node, vmid).message,
    function* (vm, t) {
      const lp = vm.conf.values.get("lock");
      if (lp && params.skiplock !== "1") throw new TaskFailure(`VM is locked (${lp})`);
      if (vm.status === "running") throw new TaskFailure(`VM ${vmid} is running - destroy failed`);
      const referenced: string[] = [];
      for (const [k, v] of vm.conf.values) {
        if (isDiskKey(k)) referenced.push(parseDrive(v).volume);
        else if (/^unused\d+$/.test(k)) referenced.push(v);
      }
      for (const volid of referenced) {
        if (findVolume(st, node, volid) && baseInUse(st, node, volid)) {
          throw new TaskFailure(`base volume '${volid}' is still in use by linked cloned`);
        }
      }
      const half = st.duration("qmdestroy", vmid, node) / 2;
      yield sleep(half);
      throwInjected(t);
      const toFree = new Set(referenced.filter((v) => findVolume(st, node, v)?.vmid === vmid));
      if (params["destroy-unreferenced-disks"] === "1") {
        for (
          const v of ownedVolumes(st, node, vmid)
        ) toFree.add(v);
      }
      for (const volid of toFree) {
        freeVolume(st, node, volid);
        t.log.push(`Removing image: 100% complete...done.`);
      }
      // the config briefly shows `lock: destroyed` once the disks are gone; deleting it is last
      vm.conf.values.set("lock", "destroyed");
      yield sleep(half);
      if (vm.pool) st.pools.get(vm.pool)?.vms.delete(vmid);
      for (const p of st.pools.values()) p.vms.delete(vmid);
      st.vms.delete(vmid);
      if (params.purge === "1") t.log.push(`purging VM ${vmid} from related configurations..`);
    },
  );
  return { ok: true, value: upid };
}

/** `POST …/template`: renames disks to base volumes and sets `template: 1` (fixtures). */
export function templateVm(
  st: ModelState,
  node: string,
  vmid: number,
  user: string,
): Outcome<string> {
  const found = st.vmOn(node, vmid);
  if (!found.ok) return found;
  const vm0 = found.value;
  const lp = vm0.conf.values.get("lock");
  if (lp) return err(st.fail(500, `VM is locked (${lp})`));
  if (vm0.conf.values.get("template") === "1") {
    return err(st.fail(500, "you can't convert a template to a template"));
  }
  if (vm0.status === "running") {
    return err(st.fail(500, "you can't convert a VM to template if VM is running"));
  }
  const upid = vmTask(
    st,
    node,
    vmid,
    "qmtemplate",
    user,
    st.noConfig(node, vmid).message,
    function* (vm, t) {
      yield sleep(st.duration("qmtemplate", vmid, node));
      throwInjected(t);
      for (const k of diskKeys(vm.conf)) {
        const { volume, props } = parseDrive(vm.conf.values.get(k)!);
        const vol = findVolume(st, node, volume);
        if (!vol || vol.content !== "images" || /-cloudinit/.test(vol.name)) continue;
        vm.conf.values.set(k, printDrive(toBaseVolume(st, node, volume), props));
      }
      vm.conf.values.set("template", "1");
    },
  );
  return { ok: true, value: upid };
}
