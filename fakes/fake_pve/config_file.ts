/**
 * A VM's config file as PVE keeps it: `#` description lines then `key: value` lines sorted by
 * key. The text is the source of truth: `digest` is its SHA-1, and GET config coerces its
 * strings to JSON the way qemu-server does (integers and 0/1
 * booleans as numbers, everything else as strings, unset keys absent).
 */
import { createHash } from "node:crypto";

/**
 * The stored config: raw values exactly as PVE writes them, plus the `[PENDING]` section that
 * holds changes made while the VM runs which cannot be hot-plugged (applied at next start).
 */
export type ConfigFile = {
  description?: string;
  values: Map<string, string>;
  pending?: Map<string, string>;
  pendingDelete?: string[];
};

/** Options that change how GET config renders values (since PVE 8.1 `memory` is a string). */
export type RenderOptions = { memoryAsString: boolean };

const INTEGER_KEYS = new Set([
  "cores",
  "sockets",
  "vcpus",
  "balloon",
  "cpuunits",
  "shares",
  "migrate_speed",
]);
const BOOLEAN_KEYS = new Set([
  "onboot",
  "template",
  "numa",
  "protection",
  "acpi",
  "kvm",
  "tablet",
  "localtime",
  "freeze",
  "reboot",
  "ciupgrade",
]);

/** The config file's text, as written to /etc/pve/nodes/<node>/qemu-server/<vmid>.conf. */
export function configText(c: ConfigFile): string {
  const lines: string[] = [];
  if (c.description !== undefined && c.description !== "") {
    for (const l of c.description.split("\n")) lines.push(`#${l}`);
  }
  const keys = [...c.values.keys()].sort();
  for (const k of keys) lines.push(`${k}: ${c.values.get(k)}`);
  if (c.pending?.size || c.pendingDelete?.length) {
    lines.push("", "[PENDING]");
    if (c.pendingDelete?.length) lines.push(`delete: ${c.pendingDelete.join(",")}`);
    for (const k of [...(c.pending?.keys() ?? [])].sort()) lines.push(`${k}: ${c.pending!.get(k)}`);
  }
  return lines.join("\n") + "\n";
}

/** SHA-1 hex of the config text: PVE's optimistic-concurrency token. */
export function configDigest(c: ConfigFile): string {
  return createHash("sha1").update(configText(c)).digest("hex");
}

/** The values GET config shows by default: current ones with pending changes applied. */
export function effectiveValues(c: ConfigFile): Map<string, string> {
  const m = new Map(c.values);
  for (const k of c.pendingDelete ?? []) m.delete(k);
  for (const [k, v] of c.pending ?? []) m.set(k, v);
  return m;
}

/**
 * GET config's JSON: typed values, description, digest; absent keys stay absent; no vmid.
 * Pending changes are shown unless `current` is set (`?current=1`).
 */
export function renderConfig(
  c: ConfigFile,
  opts: RenderOptions,
  current = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of current ? c.values : effectiveValues(c)) {
    if (INTEGER_KEYS.has(k) && /^[+-]?\d+$/.test(v)) out[k] = parseInt(v, 10);
    else if (BOOLEAN_KEYS.has(k)) out[k] = v === "1" ? 1 : 0;
    else if (k === "memory" && !opts.memoryAsString && /^\d+$/.test(v)) out[k] = parseInt(v, 10);
    else if (k === "cipassword") out[k] = "**********";
    else out[k] = v;
  }
  if (c.description !== undefined && c.description !== "") {
    out.description = c.description.replace(/\s+$/, "");
  }
  out.digest = configDigest(c);
  return out;
}

/** A deep copy, so a task can keep the old config for rollback. */
export function cloneConfig(c: ConfigFile): ConfigFile {
  const copy: ConfigFile = { values: new Map(c.values) };
  if (c.description !== undefined) copy.description = c.description;
  if (c.pending) copy.pending = new Map(c.pending);
  if (c.pendingDelete) copy.pendingDelete = [...c.pendingDelete];
  return copy;
}

/** Keys naming a disk slot (`scsi0`, `virtio3`, `ide2`, `efidisk0`, …). */
export const DISK_KEY_RE =
  /^(scsi([0-9]|[1-2][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3]|efidisk0|tpmstate0)$/;

/** True for keys that name a disk slot. */
export function isDiskKey(k: string): boolean {
  return DISK_KEY_RE.test(k);
}

/** Disk slots in PVE's sorted order (the order clone copies them in). */
export function diskKeys(c: ConfigFile): string[] {
  return [...c.values.keys()].filter(isDiskKey).sort();
}
