/**
 * The fake PVE's format checks for the VM options whose values are property strings: `cpu`,
 * `machine`, `agent`, `startup`, the NIC options of `netN` and the cache/discard/iothread/ssd
 * and EFI options of disk slots. Each returns the text PVE puts in the 400 `errors` map for the
 * key, or undefined when PVE accepts the value. Written from PVE's documented formats; the
 * proxscale side checks the same rules on its own.
 *
 * May import: ./property_string.ts.
 */
import { parseProps, type Props } from "./property_string.ts";

/** Built-in CPU models of PVE 8 (custom models are `custom-NAME`). */
export const CPU_MODELS = new Set([
  "486",
  "pentium",
  "pentium2",
  "pentium3",
  "coreduo",
  "core2duo",
  "Conroe",
  "Penryn",
  "Nehalem",
  "Nehalem-IBRS",
  "Westmere",
  "Westmere-IBRS",
  "SandyBridge",
  "SandyBridge-IBRS",
  "IvyBridge",
  "IvyBridge-IBRS",
  "Haswell",
  "Haswell-IBRS",
  "Haswell-noTSX",
  "Haswell-noTSX-IBRS",
  "Broadwell",
  "Broadwell-IBRS",
  "Broadwell-noTSX",
  "Broadwell-noTSX-IBRS",
  "Skylake-Client",
  "Skylake-Client-IBRS",
  "Skylake-Client-noTSX-IBRS",
  "Skylake-Client-v4",
  "Skylake-Server",
  "Skylake-Server-IBRS",
  "Skylake-Server-noTSX-IBRS",
  "Skylake-Server-v4",
  "Skylake-Server-v5",
  "Cascadelake-Server",
  "Cascadelake-Server-noTSX",
  "Cascadelake-Server-v2",
  "Cascadelake-Server-v4",
  "Cascadelake-Server-v5",
  "Cooperlake",
  "Cooperlake-v2",
  "KnightsMill",
  "Icelake-Client",
  "Icelake-Client-noTSX",
  "Icelake-Server",
  "Icelake-Server-noTSX",
  "Icelake-Server-v3",
  "Icelake-Server-v4",
  "Icelake-Server-v5",
  "Icelake-Server-v6",
  "SapphireRapids",
  "SapphireRapids-v2",
  "GraniteRapids",
  "athlon",
  "phenom",
  "Opteron_G1",
  "Opteron_G2",
  "Opteron_G3",
  "Opteron_G4",
  "Opteron_G5",
  "EPYC",
  "EPYC-IBPB",
  "EPYC-v3",
  "EPYC-v4",
  "EPYC-Rome",
  "EPYC-Rome-v2",
  "EPYC-Rome-v3",
  "EPYC-Rome-v4",
  "EPYC-Milan",
  "EPYC-Milan-v2",
  "EPYC-Genoa",
  "host",
  "kvm32",
  "kvm64",
  "qemu32",
  "qemu64",
  "max",
  "x86-64-v2",
  "x86-64-v2-AES",
  "x86-64-v3",
  "x86-64-v4",
]);

/** The only CPU flags a VM's own `cpu` may set, for security reasons. */
export const VM_CPU_FLAGS = [
  "pcid",
  "spec-ctrl",
  "ibpb",
  "ssbd",
  "virt-ssbd",
  "amd-ssbd",
  "amd-no-ssb",
  "pdpe1gb",
  "md-clear",
  "hv-tlbflush",
  "hv-evmcs",
  "aes",
];

const ANY_FLAG = "[+-][a-zA-Z0-9_.-]+";
const ANY_FLAGS_RE = new RegExp(`^${ANY_FLAG}(;${ANY_FLAG})*$`);
const VM_FLAG = `[+-](${VM_CPU_FLAGS.join("|")})`;
const VM_FLAGS_RE = new RegExp(`^${VM_FLAG}(;${VM_FLAG})*$`);
const MACHINE_TYPE_RE =
  /^(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(-\d+(\.\d+)+)?(\+pve\d+)?)$/;
const TRUE_OR_FALSE = /^(1|0|on|off|yes|no|true|false)$/i;
const NOT_IN_SCHEMA =
  "property is not defined in schema and the schema does not allow additional properties";

/** What a property-string key may hold. */
type Rule =
  | { t: "bool" }
  | { t: "int"; min: number; max?: number }
  | { t: "number"; min: number }
  | { t: "enum"; values: string[] }
  | { t: "pattern"; re: RegExp }
  | { t: "string" };

/** PVE's text for one property that fails its rule. */
function propError(rule: Rule, v: string): string | undefined {
  switch (rule.t) {
    case "bool":
      return TRUE_OR_FALSE.test(v) ? undefined : `type check ('boolean') failed - got '${v}'`;
    case "int":
      if (!/^[+-]?\d+$/.test(v)) return `type check ('integer') failed - got '${v}'`;
      if (Number(v) < rule.min) return `value must have a minimum value of ${rule.min}`;
      if (rule.max !== undefined && Number(v) > rule.max) {
        return `value must have a maximum value of ${rule.max}`;
      }
      return undefined;
    case "number":
      if (!/^\d+(\.\d+)?$/.test(v)) return `type check ('number') failed - got '${v}'`;
      return Number(v) < rule.min ? `value must have a minimum value of ${rule.min}` : undefined;
    case "enum":
      return rule.values.includes(v)
        ? undefined
        : `value '${v}' does not have a value in the enumeration '${rule.values.join(", ")}'`;
    case "pattern":
      return rule.re.test(v) ? undefined : "value does not match the regex pattern";
    case "string":
      return undefined;
  }
}

/**
 * Checks `props` against `rules` (`strict`: a key without a rule is an error). The text is
 * PVE's: `invalid format - format error` then one `<format>.<key>: <why>` line per problem.
 */
function checkProps(
  format: string,
  props: Props,
  rules: Record<string, Rule>,
  strict: boolean,
): string | undefined {
  const lines: string[] = [];
  for (const [k, v] of props) {
    const rule = rules[k];
    const why = rule ? propError(rule, v) : strict ? NOT_IN_SCHEMA : undefined;
    if (why) lines.push(`${format}.${k}: ${why}`);
  }
  return lines.length ? `invalid format - format error\n${lines.join("\n")}\n` : undefined;
}

const CPU_RULES: Record<string, Rule> = {
  cputype: { t: "string" },
  flags: { t: "pattern", re: ANY_FLAGS_RE },
  hidden: { t: "bool" },
  "hv-vendor-id": { t: "pattern", re: /^[a-zA-Z0-9]{1,12}$/ },
  "phys-bits": { t: "pattern", re: /^(host|[89]|[1-5]\d|6[0-4])$/ },
  "reported-model": { t: "enum", values: [...CPU_MODELS].sort() },
};

/** `cpu`: `[cputype=]<model>[,flags=…]…`; the model must exist, flags from the VM subset. */
export function checkCpu(
  v: string,
  customModels: ReadonlySet<string> = new Set(),
): string | undefined {
  const props = parseProps(v, "cputype");
  const bad = checkProps("cpu", props, CPU_RULES, true);
  if (bad) return bad;
  const get = (k: string) => props.find(([p]) => p === k)?.[1];
  const type = get("cputype");
  if (!type) return "invalid format - CPU is missing cputype\n";
  if (type.startsWith("custom-")) {
    const name = type.slice("custom-".length);
    if (!customModels.has(name)) return `invalid format - Custom cputype '${name}' not found\n`;
  } else if (!CPU_MODELS.has(type)) {
    return `invalid format - Built-in cputype '${type}' is not defined (missing 'custom-' prefix?)\n`;
  }
  const flags = get("flags");
  if (flags && !VM_FLAGS_RE.test(flags)) {
    return `invalid format - VM-specific CPU flags must be a subset of: ${
      VM_CPU_FLAGS.join(", ")
    }\n`;
  }
  if (get("reported-model") !== undefined) {
    return "invalid format - Property 'reported-model' not allowed in VM-specific CPU config.\n";
  }
  return undefined;
}

/** `machine`: `[type=]<machine type>[,viommu=intel|virtio]`. */
export function checkMachine(v: string): string | undefined {
  return checkProps("machine", parseProps(v, "type"), {
    type: { t: "pattern", re: MACHINE_TYPE_RE },
    viommu: { t: "enum", values: ["intel", "virtio"] },
  }, true);
}

/** `agent`: `[enabled=]<1|0>[,fstrim_cloned_disks=<1|0>][,freeze-fs-on-backup=<1|0>][,type=…]`. */
export function checkAgent(v: string): string | undefined {
  return checkProps("agent", parseProps(v, "enabled"), {
    enabled: { t: "bool" },
    fstrim_cloned_disks: { t: "bool" },
    "freeze-fs-on-backup": { t: "bool" },
    type: { t: "enum", values: ["virtio", "isa"] },
  }, true);
}

/** `startup`: `[order=]<n>[,up=<s>][,down=<s>]`, each a non-negative integer. */
export function checkStartup(v: string): string | undefined {
  const props = parseProps(v, "order");
  const known = new Set(["order", "up", "down"]);
  const ok = props.length > 0 && props.every(([k, n]) => known.has(k) && /^\d+$/.test(n));
  return ok ? undefined : "invalid format - value does not look like a valid startup order\n";
}

const NIC_RULES: Record<string, Rule> = {
  bridge: { t: "pattern", re: /^[-_.\w\d]+$/ },
  tag: { t: "int", min: 1, max: 4094 },
  trunks: { t: "pattern", re: /^\d+(-\d+)?(;\d+(-\d+)?)*$/ },
  firewall: { t: "bool" },
  link_down: { t: "bool" },
  rate: { t: "number", min: 0 },
  queues: { t: "int", min: 0, max: 64 },
  mtu: { t: "int", min: 1, max: 65520 },
};

/** The options of a `netN` value (model and MAC already parsed off): every key known, in range. */
export function checkNicOptions(props: Props): string | undefined {
  return checkProps("net", props, NIC_RULES, true);
}

const DRIVE_RULES: Record<string, Rule> = {
  cache: { t: "enum", values: ["none", "writethrough", "writeback", "unsafe", "directsync"] },
  discard: { t: "enum", values: ["ignore", "on"] },
  iothread: { t: "bool" },
  ssd: { t: "bool" },
};
const EFI_RULES: Record<string, Rule> = {
  efitype: { t: "enum", values: ["2m", "4m"] },
  "pre-enrolled-keys": { t: "bool" },
  format: { t: "enum", values: ["raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop"] },
  size: { t: "string" },
  "import-from": { t: "string" },
};

/**
 * The options of a disk value on slot `key`: cache/discard/iothread/ssd values, `ssd` absent
 * from virtio's format, `iothread` only on scsi and virtio, and `efidisk0`'s own short format.
 */
export function checkDriveOptions(key: string, props: Props): string | undefined {
  const bus = key.replace(/\d+$/, "");
  if (bus === "efidisk") return checkProps(bus, props, EFI_RULES, true);
  const rules: Record<string, Rule> = { ...DRIVE_RULES };
  const lines: string[] = [];
  for (const [k] of props) {
    if ((k === "ssd" && bus === "virtio") || (k === "iothread" && !/^(scsi|virtio)$/.test(bus))) {
      lines.push(`${bus}.${k}: ${NOT_IN_SCHEMA}`);
      delete rules[k];
    }
  }
  if (lines.length) return `invalid format - format error\n${lines.join("\n")}\n`;
  return checkProps(bus, props, rules, false);
}
