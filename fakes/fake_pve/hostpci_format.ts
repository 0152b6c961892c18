/**
 * The `hostpciN` value format of a VM config, as qemu-server's schema takes it
 * (`[[host=]HOSTPCIID[;HOSTPCIID2...]|mapping=NAME][,mdev=TYPE][,pcie=1][,rombar=1][,x-vga=1]...`),
 * and who may write one: a mapping needs Mapping.Use on `/mapping/pci/<name>`, raw host ids are
 * root@pam's alone.
 *
 * May import: fakes/fake_pve/.
 */

const PCI_ADDR = "(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?";
const HOST_RE = new RegExp(`^${PCI_ADDR}(?:;${PCI_ADDR})*$`);
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;
const HEX_ID_RE = /^0x[0-9a-fA-F]{4}$/;
const HOSTPCI_BOOLEANS = new Set(["rombar", "pcie", "x-vga", "legacy-igd"]);
const HOSTPCI_KEYS = new Set([
  "host",
  "mapping",
  "romfile",
  "mdev",
  "vendor-id",
  "device-id",
  "sub-vendor-id",
  "sub-device-id",
  ...HOSTPCI_BOOLEANS,
]);

/** A property-string boolean as PVE parses it (1/on/yes/true, 0/off/no/false), else undefined. */
export function parseBool(v: string): boolean | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return true;
  if (/^(0|off|no|false)$/i.test(v)) return false;
  return undefined;
}

/** A `pve-configid` (mapping names, VM ids of config sections). */
export function isConfigId(v: string): boolean {
  return CONFIGID_RE.test(v);
}

/** Parses a `hostpciN` value into its keys, or the reason it is not one. */
export function parseHostpci(v: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of v.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const m = /^([^=]+)=(.+)$/.exec(part);
    if (m) {
      if (m[1]! in out) return `duplicate key in comma-separated list property: ${m[1]}`;
      out[m[1]!] = m[2]!;
    } else if (!part.includes("=")) {
      if ("host" in out) return "duplicate key in comma-separated list property: host";
      out.host = part;
    } else return "missing key in comma-separated list property";
  }
  return out;
}

/** The 400 `errors` text for a bad `hostpciN` value, or undefined when PVE's schema takes it. */
export function checkHostpci(key: string, v: string): string | undefined {
  const p = parseHostpci(v);
  if (typeof p === "string") return `invalid format - ${p}\n`;
  const errs: string[] = [];
  for (const [k, val] of Object.entries(p)) {
    const path = `${key}.${k}`;
    if (!HOSTPCI_KEYS.has(k)) {
      errs.push(
        `${path}: property is not defined in schema and the schema does not allow additional properties`,
      );
    } else if (HOSTPCI_BOOLEANS.has(k) && parseBool(val) === undefined) {
      errs.push(`${path}: type check ('boolean') failed - got '${val}'`);
    } else if (k === "host" && !HOST_RE.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (k === "mapping" && !CONFIGID_RE.test(val)) {
      errs.push(`${path}: invalid format - invalid configuration ID '${val}'`);
    } else if (k === "mdev" && !/^[^/.:]+$/.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (k === "romfile" && !/^[^,;]+$/.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    } else if (/-id$/.test(k) && !HEX_ID_RE.test(val)) {
      errs.push(`${path}: value does not match the regex pattern`);
    }
  }
  return errs.length ? `invalid format - format error\n${errs.join("\n")}\n` : undefined;
}

/** `Mapping.Use` on `/mapping/pci/<name>` for every `hostpciN` that names a mapping. */
export function mappingUseNeeds(
  params: Record<string, string>,
): Array<{ paths: string[]; privs: string[] }> {
  const out: Array<{ paths: string[]; privs: string[] }> = [];
  for (const [k, v] of Object.entries(params)) {
    if (!/^hostpci\d+$/.test(k)) continue;
    const p = parseHostpci(v);
    if (typeof p !== "string" && p.host === undefined && p.mapping !== undefined) {
      out.push({ paths: [`/mapping/pci/${p.mapping}`], privs: ["Mapping.Use"] });
    }
  }
  return out;
}

/**
 * Only root@pam itself (not even its API tokens) may pass raw host devices: everyone else
 * must name a mapping. The error PVE's API raises, or undefined.
 */
export function hostpciRootOnly(
  user: string,
  params: Record<string, string>,
): { status: number; message: string } | undefined {
  if (user === "root@pam") return undefined;
  for (const k of Object.keys(params).filter((x) => /^hostpci\d+$/.test(x)).sort()) {
    const p = parseHostpci(params[k]!);
    if (typeof p === "string") continue;
    if (p.host !== undefined) {
      return { status: 500, message: `only root can set '${k}' config for non-mapped devices` };
    }
    if (p.mapping === undefined) {
      return { status: 500, message: "either 'host' or 'mapping' must be set." };
    }
  }
  return undefined;
}
