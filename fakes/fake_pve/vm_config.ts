/**
 * VM config parameters: validation with PVE's 400 texts, and
 * applying a change the way qemu-server stores it: canonical disk and NIC strings, generated
 * MACs, new volumes allocated, replaced or deleted disks turned into `unusedN`, tags normalised
 * on update only. Shared by create, clone and config update.
 */
import { type ConfigFile, isDiskKey } from "./config_file.ts";
import {
  formatSize,
  NEW_DISK_RE,
  parseDrive,
  parseNic,
  printDrive,
  printNic,
  propGet,
  type Props,
  propSet,
} from "./property_string.ts";
import { allocCloudinit, allocDisk, findVolume, freeVolume } from "./storage_ops.ts";
import {
  checkAgent,
  checkCpu,
  checkDriveOptions,
  checkMachine,
  checkNicOptions,
  checkStartup,
} from "./option_formats.ts";
import type { ModelState, Outcome, PveError } from "./state.ts";
import { createHash } from "node:crypto";
import { checkHostpci } from "./hostpci_format.ts";

/** Request parameters after transport decoding: every value a string (booleans `1`/`0`). */
export type Params = Record<string, string>;

/** A disk that the change allocates when it is applied (in the task for POST, inline for PUT). */
export type NewDisk =
  | { key: string; kind: "new"; storage: string; bytes: number; props: Props; from?: string }
  | { key: string; kind: "cloudinit"; storage: string; props: Props };

/** A validated change, ready to apply. */
export type ConfigPlan = {
  set: Map<string, string>;
  newDisks: NewDisk[];
  description?: string;
  deletes: string[];
  force: boolean;
};

const INT_MIN: Record<string, number> = {
  cores: 1,
  sockets: 1,
  vcpus: 1,
  balloon: 0,
  cpuunits: 1,
  shares: 0,
  migrate_speed: 0,
};
const BOOL_KEYS = new Set([
  "onboot",
  "numa",
  "protection",
  "acpi",
  "kvm",
  "tablet",
  "localtime",
  "freeze",
  "reboot",
  "ciupgrade",
  "template",
]);
const ENUMS: Record<string, string[]> = {
  ostype: [
    "other",
    "wxp",
    "w2k",
    "w2k3",
    "w2k8",
    "wvista",
    "win7",
    "win8",
    "win10",
    "win11",
    "l24",
    "l26",
    "solaris",
  ],
  scsihw: [
    "lsi",
    "lsi53c810",
    "virtio-scsi-pci",
    "virtio-scsi-single",
    "megasas",
    "pvscsi",
  ],
  bios: ["seabios", "ovmf"],
  citype: ["configdrive2", "nocloud", "opennebula"],
};
const STRING_KEYS = new Set([
  "memory",
  "cpu",
  "name",
  "tags",
  "agent",
  "boot",
  "smbios1",
  "hotplug",
  "ciuser",
  "cipassword",
  "cicustom",
  "sshkeys",
  "nameserver",
  "searchdomain",
  "vmgenid",
  "meta",
  "machine",
  "vga",
  "startup",
  "affinity",
  "cpulimit",
  "hookscript",
  "description",
]);
const PATTERN_KEYS = [
  /^net\d+$/,
  /^ipconfig\d+$/,
  /^unused\d+$/,
  /^serial[0-3]$/,
  /^usb\d+$/,
  /^hostpci(1[0-5]|\d)$/,
];

/** True for every key a VM config may hold (the rest is "not defined in schema"). */
export function isConfigKey(k: string): boolean {
  return (
    k in INT_MIN || BOOL_KEYS.has(k) || k in ENUMS || STRING_KEYS.has(k) || isDiskKey(k) ||
    PATTERN_KEYS.some((r) => r.test(k))
  );
}

const DNS_LABEL = "[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?";
const DNS_NAME_RE = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const URLENCODED_RE = /^[-%a-zA-Z0-9_.!~*'()]*$/;
const SSH_KEY_RE =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$/;

/** Splits a `pve-tag-list` on `;`, `,` or whitespace. */
export function splitTags(v: string): string[] {
  return v.split(/[;,\s]+/).filter((t) => t !== "");
}

/** Lower-cased, sorted, de-duplicated, `;`-joined: PVE's default tag-style on config updates. */
export function normaliseTags(v: string): string {
  return [...new Set(splitTags(v).map((t) => t.toLowerCase()))].sort().join(";");
}

/** The per-key check of one value; returns the `errors` text or undefined. */
export function checkValue(k: string, v: string): string | undefined {
  if (k in INT_MIN) {
    if (!/^[+-]?\d+$/.test(v)) return `type check ('integer') failed - got '${v}'`;
    if (Number(v) < INT_MIN[k]!) return `value must have a minimum value of ${INT_MIN[k]}`;
  } else if (BOOL_KEYS.has(k)) {
    if (v !== "0" && v !== "1") return `type check ('boolean') failed - got '${v}'`;
  } else if (k in ENUMS) {
    if (!ENUMS[k]!.includes(v)) {
      return `value '${v}' does not have a value in the enumeration '${ENUMS[k]!.join(", ")}'`;
    }
  } else if (k === "memory") {
    const m = /^(?:current=)?(\d+)$/.exec(v);
    if (!m) return `invalid format - value without key, but schema does not define a default key\n`;
    if (Number(m[1]) < 16) {
      return `invalid format - current: value must have a minimum value of 16\n`;
    }
  } else if (k === "name") {
    if (!DNS_NAME_RE.test(v)) return "invalid format - value does not look like a valid DNS name\n";
  } else if (k === "tags") {
    if (!splitTags(v).every((t) => TAG_RE.test(t))) {
      return "invalid format - invalid characters in tag\n";
    }
  } else if (k === "sshkeys") {
    if (!URLENCODED_RE.test(v)) return `invalid format - invalid urlencoded string: ${v}\n`;
  } else if (k === "cpulimit") {
    if (!/^\d+(\.\d+)?$/.test(v)) return `type check ('number') failed - got '${v}'`;
  } else if (k === "description") {
    if (v.length > 8192) return "value may only be 8192 characters long";
  } else if (/^net\d+$/.test(k)) {
    const nic = parseNic(v);
    if (!nic) {
      return "invalid format - format error\nnet.model: property is missing and it is not optional\n";
    }
    return checkNicOptions(nic.props);
  } else if (isDiskKey(k)) {
    return checkDriveOptions(k, parseDrive(v).props);
  } else if (k === "cpu") {
    return checkCpu(v);
  } else if (k === "machine") {
    return checkMachine(v);
  } else if (k === "agent") {
    return checkAgent(v);
  } else if (k === "startup") {
    return checkStartup(v);
  } else if (/^hostpci\d+$/.test(k)) {
    return checkHostpci(k, v);
  } else if (/^ipconfig\d+$/.test(k)) {
    if (!/^((ip|gw|ip6|gw6)=[^,]+)(,(ip|gw|ip6|gw6)=[^,]+)*$/.test(v)) {
      return `invalid format - value without key, but schema does not define a default key\n`;
    }
  }
  return undefined;
}

/** `SSH public key validation error` unless every non-empty line looks like a public key. */
function checkSshKeys(v: string): boolean {
  let text: string;
  try {
    text = decodeURIComponent(v);
  } catch {
    return false;
  }
  return text.split("\n").filter((l) => l.trim() !== "").every((l) => SSH_KEY_RE.test(l.trim()));
}

/** Validates config keys in `params` and turns them into a plan (no state is changed). */
export function planConfig(
  st: ModelState,
  node: string,
  vmid: number,
  params: Params,
  opts: { mode: "create" | "update"; defaultStorage?: string; extraKeys: Set<string> },
): Outcome<ConfigPlan> {
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (opts.extraKeys.has(k)) continue;
    if (!isConfigKey(k)) {
      errors[k] =
        "property is not defined in schema and the schema does not allow additional properties";
      continue;
    }
    const e = checkValue(k, v);
    if (e) errors[k] = e;
  }
  const deletes = params.delete ? params.delete.split(/[,;\s]+/).filter((x) => x) : [];
  for (const d of deletes) {
    const key = d === "cdrom" ? "ide2" : d;
    if (!isConfigKey(key)) errors.delete = `unknown option '${d}'`;
    else if (key in params) {
      errors.delete = `you can't use '-${key}' and -delete ${key}' at the same time`;
    }
  }
  if (Object.keys(errors).length > 0) return fail400(st, errors);
  if (params.sshkeys !== undefined && !checkSshKeys(params.sshkeys)) {
    return { ok: false, error: st.fail(500, "SSH public key validation error") };
  }

  const plan: ConfigPlan = {
    set: new Map(),
    newDisks: [],
    deletes: deletes.map((d) => (d === "cdrom" ? "ide2" : d)),
    force: params.force === "1",
  };
  for (const [rawKey, v] of Object.entries(params)) {
    if (opts.extraKeys.has(rawKey)) continue;
    const k = rawKey;
    if (k === "description") {
      plan.description = v;
    } else if (isDiskKey(k)) {
      const r = planDisk(st, node, k, v, opts.defaultStorage);
      if (!r.ok) return r;
      if ("value" in r.value) plan.set.set(k, r.value.value);
      else plan.newDisks.push(r.value);
    } else if (/^net\d+$/.test(k)) {
      const nic = parseNic(v)!;
      plan.set.set(k, printNic(nic.model, nic.mac ?? st.rng.mac(st.macPrefix), nic.props));
    } else if (k === "tags") {
      plan.set.set(k, opts.mode === "update" ? normaliseTags(v) : v);
    } else if (k === "cipassword") {
      const salt = st.rng.bytes(8).map((b) => b.toString(16)).join("");
      plan.set.set(k, `$5$${salt}$${createHash("sha256").update(salt + v).digest("base64")}`);
    } else plan.set.set(k, v);
  }
  void vmid;
  return { ok: true, value: plan };
}

function fail400(st: ModelState, errors: Record<string, string>): { ok: false; error: PveError } {
  return { ok: false, error: st.fail(400, "Parameter verification failed.", errors) };
}

function planDisk(
  st: ModelState,
  node: string,
  key: string,
  value: string,
  defaultStorage: string | undefined,
): Outcome<NewDisk | { value: string }> {
  const { volume, props } = parseDrive(value);
  if (volume === "none" || volume === "cdrom" || volume.startsWith("/dev/")) {
    return { ok: true, value: { value: printDrive(volume, props) } };
  }
  const m = NEW_DISK_RE.exec(volume);
  const ci = /^([^/:\s]+):cloudinit$/.exec(volume);
  if (m || ci) {
    const storage = m ? m[2] ?? defaultStorage : ci![1]!;
    if (!storage) {
      return { ok: false, error: st.fail(500, `no storage ID specified (and no default storage)`) };
    }
    const s = st.storageOn(node, storage);
    if (!s) return { ok: false, error: st.fail(500, `storage '${storage}' does not exist`) };
    if (!s.content.includes("images")) {
      return fail400(st, { storage: `storage '${storage}' does not support vm images` });
    }
    if (ci) return { ok: true, value: { key, kind: "cloudinit", storage, props } };
    const from = propGet(props, "import-from");
    if (from !== undefined) return planImport(st, node, key, storage, m![3]!, from, props);
    // An EFI vars disk is the size of the OVMF vars template, whatever size was asked for.
    const bytes = key === "efidisk0"
      ? (propGet(props, "efitype") === "4m" ? 540_672 : 131_072)
      : Math.round(parseFloat(m![3]!) * 1024 ** 3);
    return { ok: true, value: { key, kind: "new", storage, bytes, props } };
  }
  const vol = findVolume(st, node, volume);
  if (!vol) return { ok: false, error: st.fail(500, `volume '${volume}' does not exist`) };
  const withSize = propGet(props, "media") === "cdrom"
    ? props
    : propSet(props, "size", formatSize(vol.size));
  return { ok: true, value: { value: printDrive(volume, withSize) } };
}

/**
 * `<storage>:0,import-from=<volid>`: a new disk holding a copy of an existing image (content
 * `import` or a VM image). The size must be 0; the new disk takes the source's size.
 */
function planImport(
  st: ModelState,
  node: string,
  key: string,
  storage: string,
  size: string,
  from: string,
  props: Props,
): Outcome<NewDisk> {
  if (parseFloat(size) !== 0) {
    return fail400(st, {
      [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>",
    });
  }
  const src = findVolume(st, node, from);
  if (!src) return { ok: false, error: st.fail(500, `volume '${from}' does not exist`) };
  if (src.content !== "import" && src.content !== "images") {
    return fail400(st, { [key]: `${from} has wrong type '${src.content}' - not an image` });
  }
  const rest = props.filter(([k]) => k !== "import-from");
  return { ok: true, value: { key, kind: "new", storage, bytes: src.size, props: rest, from } };
}

/** The next free `unusedN` key. */
function nextUnused(c: ConfigFile): string {
  let n = 0;
  while (c.values.has(`unused${n}`)) n++;
  return `unused${n}`;
}

/** What happens to a disk value leaving the config: cdroms vanish, cloud-init drives are freed, images become unusedN. */
function detachDisk(
  st: ModelState,
  node: string,
  c: ConfigFile,
  value: string,
  force: boolean,
): void {
  const { volume, props } = parseDrive(value);
  if (volume === "none" || volume === "cdrom" || volume.startsWith("/dev/")) return;
  const vol = findVolume(st, node, volume);
  if (!vol || vol.content !== "images") return;
  if (force || propGet(props, "media") === "cdrom") freeVolume(st, node, volume);
  else c.values.set(nextUnused(c), volume);
}

/** Options qemu-server changes on a running VM without a restart ($fast_plug_option). */
const FAST_PLUG = new Set([
  "description",
  "hookscript",
  "migrate_downtime",
  "migrate_speed",
  "name",
  "onboot",
  "protection",
  "shares",
  "startup",
  "tags",
  "template",
  "hotplug",
]);

/** Whether a change to `k` takes effect on a running VM now, or waits in `[PENDING]`. */
function appliesLive(c: ConfigFile, k: string, value: string | undefined): boolean {
  const raw = c.values.get("hotplug") ?? "network,disk,usb";
  const hp = new Set(raw === "1" ? ["network", "disk", "usb"] : raw === "0" ? [] : raw.split(","));
  if (FAST_PLUG.has(k) || /^unused\d+$/.test(k)) return true;
  if (/^net\d+$/.test(k)) return hp.has("network");
  if (isDiskKey(k)) {
    const cdrom = [value, c.values.get(k)].some((v) =>
      v !== undefined && propGet(parseDrive(v).props, "media") === "cdrom"
    );
    if (cdrom) return true;
    return /^(scsi|virtio)\d+$/.test(k) && hp.has("disk");
  }
  if (["cores", "sockets", "vcpus"].includes(k)) return hp.has("cpu");
  if (["memory", "balloon"].includes(k)) return hp.has("memory");
  return false;
}

function setLive(st: ModelState, node: string, c: ConfigFile, k: string, v: string): void {
  const old = c.values.get(k);
  if (old !== undefined && isDiskKey(k) && parseDrive(old).volume !== parseDrive(v).volume) {
    detachDisk(st, node, c, old, false);
  }
  c.values.set(k, v);
}

function deleteLive(
  st: ModelState,
  node: string,
  c: ConfigFile,
  k: string,
  force: boolean,
): boolean {
  const old = c.values.get(k);
  if (old === undefined) return false;
  c.values.delete(k);
  if (isDiskKey(k)) detachDisk(st, node, c, old, force);
  else if (/^unused\d+$/.test(k)) freeVolume(st, node, old);
  return true;
}

/**
 * Applies a plan to a config: allocates new disks (out-of-space fails, freeing what this call
 * allocated), replaces and deletes keys. On a running VM (`running`) what cannot be hot-plugged
 * goes to `[PENDING]`, as qemu-server does. Returns task log lines.
 */
export function applyPlan(
  st: ModelState,
  node: string,
  vmid: number,
  c: ConfigFile,
  plan: ConfigPlan,
  running = false,
): Outcome<string[]> {
  const log: string[] = [];
  const allocated: string[] = [];
  const newValues = new Map<string, string>();
  for (const d of plan.newDisks) {
    const s = st.storageOn(node, d.storage)!;
    const r = d.kind === "new"
      ? allocDisk(st, node, s, vmid, d.bytes)
      : allocCloudinit(st, node, s, vmid);
    if (!r.ok) {
      for (const v of allocated) freeVolume(st, node, v);
      return r;
    }
    allocated.push(r.value);
    if (d.kind === "new" && d.from) {
      log.push(`importing disk '${d.from}' to VM ${vmid} ...`);
      log.push(`transferred ${formatSize(d.bytes)} of ${formatSize(d.bytes)} (100.00%)`);
    }
    const text = d.kind === "new"
      ? printDrive(r.value, propSet(d.props, "size", formatSize(d.bytes)))
      : printDrive(r.value, propSet(d.props, "media", "cdrom"));
    newValues.set(d.key, text);
    log.push(`${d.key}: successfully created disk '${text}'`);
  }
  for (const [k, v] of [...plan.set, ...newValues]) {
    if (running && !appliesLive(c, k, v)) {
      (c.pending ??= new Map()).set(k, v);
      if (c.pendingDelete) c.pendingDelete = c.pendingDelete.filter((x) => x !== k);
    } else {
      setLive(st, node, c, k, v);
      c.pending?.delete(k);
    }
  }
  for (const k of plan.deletes) {
    if (k === "description") {
      delete c.description;
      continue;
    }
    if (!c.values.has(k) && !c.pending?.has(k)) {
      log.push(`cannot delete '${k}' - not set in current configuration!`);
      continue;
    }
    c.pending?.delete(k);
    if (running && c.values.has(k) && !appliesLive(c, k, undefined)) {
      if (!(c.pendingDelete ??= []).includes(k)) c.pendingDelete.push(k);
    } else deleteLive(st, node, c, k, plan.force);
  }
  if (plan.description !== undefined) c.description = plan.description;
  tidyPending(c);
  return { ok: true, value: log };
}

function tidyPending(c: ConfigFile): void {
  if (c.pending && c.pending.size === 0) delete c.pending;
  if (c.pendingDelete && c.pendingDelete.length === 0) delete c.pendingDelete;
}

/** Applies `[PENDING]` (at VM start, as qemu-server does before launching QEMU). */
export function applyPending(st: ModelState, node: string, c: ConfigFile): void {
  for (const k of c.pendingDelete ?? []) deleteLive(st, node, c, k, false);
  for (const [k, v] of c.pending ?? []) setLive(st, node, c, k, v);
  delete c.pending;
  delete c.pendingDelete;
}

/** `GET …/pending`: every key with its current value, pending value and delete flag. */
export function pendingList(c: ConfigFile): Array<Record<string, unknown>> {
  const keys = new Set([...c.values.keys(), ...(c.pending?.keys() ?? [])]);
  return [...keys].sort().map((key) => {
    const e: Record<string, unknown> = { key };
    const v = c.values.get(key);
    if (v !== undefined) e.value = key === "cipassword" ? "**********" : v;
    const p = c.pending?.get(key);
    if (p !== undefined) e.pending = key === "cipassword" ? "**********" : p;
    if (c.pendingDelete?.includes(key)) e.delete = 1;
    return e;
  });
}

/** `invalid bootorder: device '<d>' does not exist'` when `boot` names a missing device. */
export function checkBootOrder(c: ConfigFile): string | undefined {
  const boot = c.values.get("boot");
  const m = boot ? /(?:^|,)order=([^,]*)/.exec(boot) : null;
  if (!m) return undefined;
  for (const dev of m[1]!.split(";").filter((d) => d)) {
    if (!c.values.has(dev)) return `invalid bootorder: device '${dev}' does not exist'`;
  }
  return undefined;
}
