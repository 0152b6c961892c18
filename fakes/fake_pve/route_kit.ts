/**
 * Shared pieces of the fake's endpoint table: the handler context, answers, routes, and the
 * privilege helpers (which ACL paths govern a VM, which VM.Config.* a key needs).
 */
import { hasPriv, type Identity } from "./auth.ts";
import type { Part } from "./http_codec.ts";
import type { Outcome, Params, PveError, PveModel } from "./model.ts";
import { isDiskKey } from "./config_file.ts";
import { parseDrive, propGet } from "./property_string.ts";
import { mappingUseNeeds } from "./hostpci_format.ts";

/** What a handler sees. */
export type Ctx = {
  model: PveModel;
  id: Identity;
  params: Params;
  /** the decoded parameters before flattening (repeated keys and JSON arrays as arrays) */
  raw?: Record<string, unknown>;
  path: Record<string, string>;
  files: Part[];
  login?: (username: string, password: string) => Record<string, unknown> | undefined;
};

/** A handler's answer: data (plus `total` for task logs) or a PVE error. */
export type Answer = { ok: true; data: unknown; total?: number } | { ok: false; error: PveError };

/** One endpoint. `lockWait`: the server retries while the VM file lock is busy. */
export type Route = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  noAuth?: boolean;
  lockWait?: boolean;
  needs?: (c: Ctx) => Array<{ paths: string[]; privs: string[] }>;
  run: (c: Ctx) => Answer;
};

/** A model outcome as a handler answer. */
export function from<T>(r: Outcome<T>): Answer {
  return r.ok ? { ok: true, data: r.value } : r;
}

/** The `{vmid}` path parameter. */
export function vmid(c: Ctx): number {
  return Number(c.path.vmid);
}

/** ACL paths that govern a VM: `/vms/<id>` and its pool. */
export function vmPaths(m: PveModel, id: number): string[] {
  const pool = m.st.vms.get(id)?.pool;
  return pool ? [`/vms/${id}`, `/pool/${pool}`] : [`/vms/${id}`];
}

const CPU_KEYS = new Set([
  "cores",
  "sockets",
  "vcpus",
  "cpu",
  "cpulimit",
  "cpuunits",
  "affinity",
  "numa",
]);
const MEM_KEYS = new Set(["memory", "balloon", "shares"]);
const HWTYPE_KEYS = new Set([
  "acpi",
  "audio0",
  "hotplug",
  "kvm",
  "machine",
  "scsihw",
  "smbios1",
  "tablet",
  "vga",
  "watchdog",
]);
const CI_KEYS = new Set([
  "ciuser",
  "cipassword",
  "citype",
  "ciupgrade",
  "cicustom",
  "sshkeys",
  "nameserver",
  "searchdomain",
]);

/** The VM.Config.* privilege a config key needs. */
export function configPriv(key: string, value?: string): string {
  if (CPU_KEYS.has(key)) return "VM.Config.CPU";
  if (MEM_KEYS.has(key)) return "VM.Config.Memory";
  if (HWTYPE_KEYS.has(key)) return "VM.Config.HWType";
  if (CI_KEYS.has(key) || /^ipconfig\d+$/.test(key)) return "VM.Config.Cloudinit";
  if (/^net\d+$/.test(key)) return "VM.Config.Network";
  if (isDiskKey(key)) {
    const media = value !== undefined ? propGet(parseDrive(value).props, "media") : undefined;
    return media === "cdrom" || (value ?? "").startsWith("none")
      ? "VM.Config.CDROM"
      : "VM.Config.Disk";
  }
  if (/^unused\d+$/.test(key)) return "VM.Config.Disk";
  if (/^hostpci\d+$/.test(key)) return "VM.Config.HWType";
  return "VM.Config.Options";
}

const NOT_CONFIG = new Set([
  "node",
  "vmid",
  "digest",
  "skiplock",
  "force",
  "revert",
  "background_delay",
  "delete",
  "pool",
  "storage",
  "start",
]);

/** Privileges a config change needs, one per VM.Config.* group touched. */
export function configNeeds(c: Ctx, paths: string[]) {
  const privs = new Set<string>();
  for (const [k, v] of Object.entries(c.params)) {
    if (!NOT_CONFIG.has(k)) privs.add(configPriv(k, v));
  }
  for (const k of (c.params.delete ?? "").split(/[,;\s]+/).filter((x) => x)) {
    privs.add(configPriv(k));
  }
  return [
    ...[...privs].sort().map((p) => ({ paths, privs: [p] })),
    ...mappingUseNeeds(c.params),
  ];
}

/** Storages a create allocates on (Datastore.AllocateSpace). */
export function newDiskStorages(params: Params): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(params)) {
    if (!isDiskKey(k)) continue;
    const m = /^([^/:\s]+):(\d+(\.\d+)?|cloudinit)(,|$)/.exec(v);
    if (m) out.add(m[1]!);
  }
  if (params.storage) out.add(params.storage);
  return [...out];
}

/** A token sees its own tasks; a user its own and its tokens'. */
export function ownTask(c: Ctx, user: string): boolean {
  return user === c.id.full || (!c.id.tokenid && user.startsWith(`${c.id.userid}!`));
}

/** 403 unless the task is the caller's or it has Sys.Audit on the node. */
export function taskAccess(c: Ctx): Answer | undefined {
  const t = c.model.task(c.path.upid ?? "");
  if (!t || t.node !== c.path.node || ownTask(c, t.user)) return undefined;
  if (hasPriv(c.id, [`/nodes/${c.path.node}`], "Sys.Audit")) return undefined;
  return {
    ok: false,
    error: { status: 403, message: `Permission check failed (/nodes/${c.path.node}, Sys.Audit)` },
  };
}

/** Either privilege lets a caller read a storage. */
export const DS_READ = ["Datastore.Audit", "Datastore.AllocateSpace"];

/** Storages whose images a change imports (`import-from=<storage>:<volume>`): read access. */
export function importSourceNeeds(params: Params): Array<{ paths: string[]; privs: string[] }> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(params)) {
    if (!isDiskKey(k)) continue;
    const from = propGet(parseDrive(v).props, "import-from");
    const i = from?.indexOf(":") ?? -1;
    if (from && i > 0) out.add(from.slice(0, i));
  }
  return [...out].map((s) => ({ paths: [`/storage/${s}`], privs: DS_READ }));
}
