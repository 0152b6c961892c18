/**
 * What a proxscale VM's PVE config should contain, built from the NodeClaim, MachineTemplate
 * and Provider, and the difference to what PVE holds now. Pure: the provider sends the result.
 * No disk or NIC string is written by hand anywhere else; every value comes from the template.
 *
 * Memory decision: PVE `memory` is the guest's memory, exactly the shape's memory (in MiB,
 * rounded up). `vmMemOverhead` is host-side (QEMU, page tables): it is never added to `memory`,
 * only to the VM's footprint when a host's committed memory is counted for placement.
 */
import type {
  Bootstrap,
  DiskSpec,
  MachineTemplate,
  NetworkSpec,
  NodeClaim,
  Provider,
  Resources,
} from "../../core/model.ts";
import { GiB, MiB } from "../../core/quantity.ts";
import type { Params } from "./transport.ts";
import type { BootstrapAttach } from "../../daemon/ports/provider.ts";
import { cpuTopology, descriptionText, efiDiskValue, vmOptionScalars } from "./vm_options.ts";

/** Description line that carries the claim identity (with the managed tag, proof of ownership). */
export const CLAIM_KEY = "proxscale.io/nodeclaim";
const POOL_KEY = "proxscale.io/nodepool";
/** Description line with the template hash the VM was made from (disaster recovery reads it). */
const HASH_KEY = "proxscale.io/template-hash";
/**
 * Description line with the claim's creation time (RFC 3339): a claim rebuilt after a disaster
 * keeps its age, so its pool's expireAfter still counts from the first launch.
 */
const CREATED_KEY = "proxscale.io/claim-created";
const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/;

/**
 * The VM's description: identity lines PVE keeps verbatim (as `#` comment lines), then the
 * template's own text (`extra`), if any, cut to PVE's limit.
 */
export function claimDescription(claim: NodeClaim, extra?: string): string {
  const lines = [
    `${CLAIM_KEY}=${claim.name}`,
    `${POOL_KEY}=${claim.nodePool}`,
    ...(claim.templateHash ? [`${HASH_KEY}=${claim.templateHash}`] : []),
    ...(claim.createdAt > 0 ? [`${CREATED_KEY}=${new Date(claim.createdAt).toISOString()}`] : []),
    "Created by proxscale; the lines above identify the owner, do not edit them.",
  ];
  const head = lines.join("\n");
  if (extra === undefined || extra.trim() === "") return head;
  // PVE refuses a description over 8 KiB; long names in the filled-in template are cut, the
  // identity lines never are.
  return `${head}\n${extra.trimEnd()}`.slice(0, DESCRIPTION_LIMIT).trimEnd();
}

/** Longest description PVE stores (characters). */
export const DESCRIPTION_LIMIT = 8192;

/** The claim named in a description, if any (exact line match, not a substring). */
export function claimFromDescription(description: string | undefined): string | undefined {
  if (!description) return undefined;
  for (const line of description.split(/\r?\n/)) {
    const m = /^\s*proxscale\.io\/nodeclaim=(\S+)\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** The template hash recorded in a description at launch, if any. */
export function templateHashFromDescription(description: string | undefined): string | undefined {
  for (const line of (description ?? "").split(/\r?\n/)) {
    const m = /^\s*proxscale\.io\/template-hash=(\S+)\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** The claim creation time (epoch ms) recorded in a description at launch, if any and valid. */
export function claimCreatedFromDescription(description: string | undefined): number | undefined {
  for (const line of (description ?? "").split(/\r?\n/)) {
    const m = /^\s*proxscale\.io\/claim-created=(\S+)\s*$/.exec(line);
    if (!m) continue;
    const t = Date.parse(m[1] ?? "");
    return Number.isFinite(t) && t > 0 ? t : undefined;
  }
  return undefined;
}

/**
 * When PVE made the VM (epoch ms), from the `meta` option's `ctime` (seconds) that PVE writes at
 * creation; undefined when the config has none (made by an older PVE, or the meta was removed).
 */
export function vmCreationFromMeta(meta: unknown): number | undefined {
  if (typeof meta !== "string") return undefined;
  const m = /(?:^|,)ctime=(\d+)(?:,|$)/.exec(meta);
  const s = m ? Number(m[1]) : NaN;
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}

/** PVE tag list text to tags: split on ; , or space, lower-cased (PVE's normalisation). */
export function parseTags(text: string | undefined): string[] {
  if (!text) return [];
  return text.split(/[;,\s]+/).map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
}

/** Exact, case-insensitive tag membership; never a substring test. */
export function hasTag(text: string | undefined, tag: string): boolean {
  return parseTags(text).includes(tag.toLowerCase());
}

/** The tags a VM gets: the managed tag plus the template's, normalised as PVE stores them. */
export function vmTags(managedTag: string, templateTags: readonly string[]): string {
  const all = [managedTag, ...templateTags].map((t) => t.toLowerCase()).filter((t) =>
    TAG_RE.test(t)
  );
  return [...new Set(all)].sort().join(";");
}

/** A VM name PVE accepts (dns-name: no underscores) derived from the claim name. */
export function vmName(claimName: string): string {
  const cleaned = claimName.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(
    /^[-.]+|[-.]+$/g,
    "",
  );
  return (cleaned || "proxscale-vm").slice(0, 63).replace(/[-.]+$/, "");
}

/** Guest memory in MiB for PVE (overhead excluded, see the file comment). */
export function guestMemoryMiB(memoryBytes: number): number {
  return Math.max(16, Math.ceil(memoryBytes / MiB));
}

/** Cores for PVE: whole vCPUs, rounded up. */
export function vmCores(cpuMillis: number): number {
  return Math.max(1, Math.ceil(cpuMillis / 1000));
}

/** What the VM costs its host: whole cores, guest memory plus the template's overhead. */
export function vmFootprint(template: MachineTemplate, shape: Resources): Resources {
  return {
    cpu: vmCores(shape.cpu) * 1000,
    memory: guestMemoryMiB(shape.memory) * MiB + template.vmMemOverhead,
  };
}

/** A size in GiB as PVE's new-disk syntax wants it: a plain number, decimals allowed. */
export function diskSizeGiB(bytes: number): string {
  if (bytes % GiB === 0) return String(bytes / GiB);
  const mib = Math.ceil(bytes / MiB);
  return String(Math.round((mib / 1024) * 10_000) / 10_000);
}

/** The option part of a disk value, from the template (order as PVE documents them). */
function diskOptions(d: DiskSpec): string[] {
  const opts: string[] = [];
  if (d.discard !== undefined) opts.push(`discard=${d.discard ? "on" : "ignore"}`);
  if (d.ssd !== undefined) opts.push(`ssd=${d.ssd ? 1 : 0}`);
  if (d.iothread !== undefined) opts.push(`iothread=${d.iothread ? 1 : 0}`);
  if (d.serial !== undefined) opts.push(`serial=${d.serial}`);
  if (d.cache !== undefined) opts.push(`cache=${d.cache}`);
  if (d.format !== undefined) opts.push(`format=${d.format}`);
  return opts;
}

/** A new-disk value `<storage>:<GiB>,<options>` for create or config. */
export function newDiskValue(d: DiskSpec): string {
  return [`${d.storage}:${diskSizeGiB(d.size)}`, ...diskOptions(d)].join(",");
}

/** An existing volume with the template's options applied (keeps the volume, changes options). */
export function existingDiskValue(volume: string, d: DiskSpec): string {
  return [volume, ...diskOptions(d).filter((o) => !o.startsWith("format="))].join(",");
}

/** A NIC value; `mac` keeps an existing address so a re-apply does not change it. */
export function netValue(n: NetworkSpec, mac?: string): string {
  const m = mac ?? n.macaddr;
  const parts = [m ? `${n.model}=${m}` : n.model, `bridge=${n.bridge}`];
  if (n.firewall !== undefined) parts.push(`firewall=${n.firewall ? 1 : 0}`);
  if (n.mtu !== undefined) parts.push(`mtu=${n.mtu}`);
  if (n.vlan !== undefined) parts.push(`tag=${n.vlan}`);
  if (n.queues !== undefined) parts.push(`queues=${n.queues}`);
  return parts.join(",");
}

/**
 * `sshkeys` must itself be percent-encoded (spaces as %20, never +) before form encoding,
 * so on the wire it is encoded twice; PVE stores and returns it still encoded.
 */
export function encodeSshKeys(keys: readonly string[]): string {
  return encodeURIComponent(keys.map((k) => k.trim()).filter((k) => k !== "").join("\n") + "\n");
}

/** Property string to pairs; a first item without `=` is `defaultKey`. */
export function parseProps(text: string, defaultKey: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(",").forEach((item, i) => {
    if (item === "") return;
    const eq = item.indexOf("=");
    if (eq < 0) out.set(i === 0 ? defaultKey : item, i === 0 ? item : "");
    else out.set(item.slice(0, eq), item.slice(eq + 1));
  });
  return out;
}

/** PVE size text (`32G`, `1536M`, `1073741825`) to bytes. */
export function parseSize(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text);
  if (!m) return undefined;
  const unit =
    { "": 1, K: 1024, M: MiB, G: GiB, T: GiB * 1024 }[m[2] as "" | "K" | "M" | "G" | "T"];
  return Math.round(Number(m[1]) * unit);
}

/** Everything proxscale sets on a VM besides how it was made. */
export type DesiredConfig = {
  scalars: Record<string, string | number>;
  disks: DiskSpec[];
  nets: NetworkSpec[];
  cdrom?: { slot: string; value: string; match: (current: string) => boolean };
  /** `efidisk0` value allocating an EFI vars disk, set only when the VM has none. */
  efiDisk?: string;
};

/** Cloud-init keys from the template's bootstrap and NICs. */
function cloudInit(b: Bootstrap, nets: readonly NetworkSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (b.mode === "none") return out;
  if (b.ciuser) out.ciuser = b.ciuser;
  if (b.sshKeys?.length) out.sshkeys = encodeSshKeys(b.sshKeys);
  if (b.nameserver) out.nameserver = b.nameserver;
  if (b.searchdomain) out.searchdomain = b.searchdomain;
  if (b.mode === "pveCloudInit" && b.cicustom) out.cicustom = b.cicustom;
  for (const n of nets) {
    if (n.ipconfig) out[`ipconfig${n.slot.replace(/^net/, "")}`] = n.ipconfig;
  }
  return out;
}

/** The config proxscale wants for this claim's VM. */
export function desiredConfig(
  claim: NodeClaim,
  template: MachineTemplate,
  provider: Provider,
  attach: BootstrapAttach = {},
): DesiredConfig {
  const scalars: Record<string, string | number> = {
    name: vmName(claim.name),
    description: claimDescription(claim, descriptionText(claim, template)),
    tags: vmTags(provider.managedTag, template.tags),
    ...cpuTopology(vmCores(claim.shape.cpu), template.vm),
    memory: guestMemoryMiB(claim.shape.memory),
    ...vmOptionScalars(template.vm),
    ...cloudInit(template.bootstrap, template.network),
  };
  const slot = attach.cdromSlot ?? "ide2";
  let cdrom: DesiredConfig["cdrom"];
  if (attach.isoVolume) {
    const iso = attach.isoVolume;
    cdrom = { slot, value: `${iso},media=cdrom`, match: (c) => c.split(",")[0] === iso };
  } else if (template.bootstrap.mode === "pveCloudInit") {
    const storage = attach.cloudInitStorage ?? template.disks[0]?.storage;
    if (storage) {
      cdrom = { slot, value: `${storage}:cloudinit`, match: (c) => /cloudinit/.test(c) };
    }
  }
  const efi = template.vm?.efiDisk;
  return {
    scalars,
    disks: template.disks,
    nets: template.network,
    ...(cdrom ? { cdrom } : {}),
    ...(efi ? { efiDisk: efiDiskValue(efi) } : {}),
  };
}

/** Parameters for `POST /nodes/{n}/qemu` (create from scratch): raw options, then ours. */
export function createParams(
  vmid: number,
  desired: DesiredConfig,
  rawOptions: Record<string, string | number | boolean>,
  pool: string | undefined,
): Params {
  const params: Params = { ...rawOptions, vmid, ...desired.scalars };
  for (const d of desired.disks) params[d.slot] = newDiskValue(d);
  for (const n of desired.nets) params[n.slot] = netValue(n);
  if (desired.cdrom) params[desired.cdrom.slot] = desired.cdrom.value;
  if (desired.efiDisk) params.efidisk0 = desired.efiDisk;
  if (pool) params.pool = pool;
  return params;
}

export type ConfigChanges = { set: Params; resize: { disk: string; size: string }[] };

/**
 * What must change so `current` (a GET config) matches `desired`. Idempotent by construction:
 * an already converged VM yields no change, so re-running after a crash is safe. Disks are
 * compared by presence and size (PVE renames volumes), NICs by parsed fields (PVE adds MACs).
 */
export function configChanges(
  desired: DesiredConfig,
  current: Record<string, unknown>,
): ConfigChanges {
  const set: Params = {};
  const resize: ConfigChanges["resize"] = [];
  for (const [k, v] of Object.entries(desired.scalars)) {
    const cur = current[k];
    if (k === "tags") {
      const a = parseTags(typeof cur === "string" ? cur : "").sort().join(";");
      if (a !== parseTags(String(v)).sort().join(";")) set[k] = v;
    } else if (k === "description") {
      if (String(cur ?? "").trim() !== String(v).trim()) set[k] = v;
    } else if (cur === undefined || String(cur) !== String(v)) set[k] = v;
  }
  for (const d of desired.disks) {
    const cur = current[d.slot];
    if (typeof cur !== "string") {
      set[d.slot] = newDiskValue(d);
      continue;
    }
    const props = parseProps(cur, "file");
    const size = parseSize(props.get("size"));
    if (size !== undefined && size < d.size) {
      resize.push({ disk: d.slot, size: `${diskSizeGiB(d.size)}G` });
    }
    const want = parseProps(existingDiskValue(props.get("file") ?? "", d), "file");
    const differs = [...want].some(([k, v]) =>
      k !== "file" && normBool(props.get(k)) !== normBool(v)
    );
    if (differs) set[d.slot] = existingDiskValue(props.get("file") ?? "", d);
  }
  for (const n of desired.nets) {
    const cur = current[n.slot];
    if (typeof cur !== "string") {
      set[n.slot] = netValue(n);
      continue;
    }
    const props = parseProps(cur, "model");
    const model = [...props.keys()][0] ?? "";
    const mac = props.get(model);
    const want = parseProps(netValue(n, mac), "model");
    const differs = model !== n.model ||
      [...want].some(([k, v]) => k !== n.model && normBool(props.get(k)) !== normBool(v));
    if (differs) set[n.slot] = netValue(n, mac && /:/.test(mac) ? mac : undefined);
  }
  // An EFI vars disk already there (from the template VM) keeps its variables.
  if (desired.efiDisk && typeof current.efidisk0 !== "string") set.efidisk0 = desired.efiDisk;
  if (desired.cdrom) {
    const cur = current[desired.cdrom.slot];
    if (typeof cur !== "string" || !desired.cdrom.match(cur)) {
      set[desired.cdrom.slot] = desired.cdrom.value;
    }
  }
  return { set, resize };
}

function normBool(v: string | undefined): string | undefined {
  if (v === "on" || v === "true" || v === "yes") return "1";
  if (v === "off" || v === "false" || v === "no") return "0";
  return v;
}

/**
 * Volumes the VM's host must be able to read at start (cicustom snippets, the bootstrap ISO).
 * PVE checks them only when the VM starts, so the provider checks them before creating it.
 */
export function bootstrapVolumes(desired: DesiredConfig): string[] {
  const out: string[] = [];
  const cicustom = desired.scalars.cicustom;
  if (typeof cicustom === "string") {
    for (const item of cicustom.split(",")) {
      const volid = item.slice(item.indexOf("=") + 1);
      if (volid.includes(":")) out.push(volid);
    }
  }
  const cdrom = desired.cdrom?.value.split(",")[0];
  if (cdrom && /:iso\//.test(cdrom)) out.push(cdrom);
  return [...new Set(out)];
}
