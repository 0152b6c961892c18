/**
 * PVE property strings (`local-lvm:vm-101-disk-0,discard=on,size=32G`) and sizes. PVE re-prints
 * them canonically when it stores them, and clients must parse rather than compare text, so the
 * fake stores them exactly as PVE would (default key first, then keys alphabetically, sizes in
 * whole K/M/G/T when exact).
 */

/** One `key=value` list, in the order written. */
export type Props = Array<[string, string]>;

/** Splits `a,b=c,d=e` into pairs; a first item without `=` gets `defaultKey`. */
export function parseProps(text: string, defaultKey: string): Props {
  const out: Props = [];
  text.split(",").forEach((item, i) => {
    if (item === "") return;
    const eq = item.indexOf("=");
    if (eq < 0) out.push(i === 0 ? [defaultKey, item] : [item, ""]);
    else out.push([item.slice(0, eq), item.slice(eq + 1)]);
  });
  return out;
}

/** Reads one key of a property list. */
export function propGet(props: Props, key: string): string | undefined {
  return props.find(([k]) => k === key)?.[1];
}

/** Sets (or replaces) one key, keeping the others. */
export function propSet(props: Props, key: string, value: string): Props {
  const rest = props.filter(([k]) => k !== key);
  return [...rest, [key, value]];
}

const DRIVE_BOOLEANS = new Set([
  "backup",
  "iothread",
  "replicate",
  "ro",
  "shared",
  "snapshot",
  "ssd",
]);

const TRUE_WORDS = new Set(["1", "on", "yes", "true"]);

/** Canonical drive text: the volume first, then every option alphabetically, booleans as 1/0. */
export function printDrive(volume: string, props: Props): string {
  const opts = props
    .filter(([k]) => k !== "file")
    .map(([k, v]): [string, string] => [
      k,
      DRIVE_BOOLEANS.has(k) ? (TRUE_WORDS.has(v.toLowerCase()) ? "1" : "0") : v,
    ])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [volume, ...opts.map(([k, v]) => `${k}=${v}`)].join(",");
}

/** Parses a drive value into its volume and options. */
export function parseDrive(text: string): { volume: string; props: Props } {
  const props = parseProps(text, "file");
  return { volume: propGet(props, "file") ?? "", props: props.filter(([k]) => k !== "file") };
}

export const NIC_MODELS = ["e1000", "e1000e", "rtl8139", "virtio", "vmxnet3", "i82551", "ne2k_pci"];
const NIC_BOOLEANS = new Set(["firewall", "link_down"]);

/** Parses `virtio=MAC,bridge=vmbr0` (or `model=virtio,macaddr=…`) into model, MAC and options. */
export function parseNic(text: string): { model: string; mac?: string; props: Props } | undefined {
  const items = parseProps(text, "model");
  let model: string | undefined;
  let mac: string | undefined;
  const props: Props = [];
  for (const [k, v] of items) {
    if (k === "model") {
      if (NIC_MODELS.includes(v)) model = v;
      else return undefined;
    } else if (NIC_MODELS.includes(k)) {
      model = k;
      if (v) mac = v;
    } else if (k === "macaddr") mac = v;
    else props.push([k, v]);
  }
  if (!model) return undefined;
  return mac === undefined ? { model, props } : { model, mac, props };
}

/** Canonical NIC text: `model=MAC` first, then options alphabetically, booleans as 1/0. */
export function printNic(model: string, mac: string, props: Props): string {
  const opts = props
    .map(([k, v]): [string, string] => [
      k,
      NIC_BOOLEANS.has(k) ? (TRUE_WORDS.has(v.toLowerCase()) ? "1" : "0") : v,
    ])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [`${model}=${mac.toUpperCase()}`, ...opts.map(([k, v]) => `${k}=${v}`)].join(",");
}

const UNITS: Array<[string, number]> = [
  ["T", 1024 ** 4],
  ["G", 1024 ** 3],
  ["M", 1024 ** 2],
  ["K", 1024],
];

/** Bytes as PVE prints a size: whole T/G/M/K when exact, else plain bytes. */
export function formatSize(bytes: number): string {
  for (const [u, f] of UNITS) if (bytes > 0 && bytes % f === 0) return `${bytes / f}${u}`;
  return String(bytes);
}

/** Parses a size with an optional K/M/G/T suffix (powers of 1024); no suffix means bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!m) return undefined;
  const f = m[2] ? UNITS.find(([u]) => u === m[2])![1] : 1;
  return Math.round(parseFloat(m[1]!) * f);
}

/** `<storage>:<GiB>` requests a new volume (Drive.pm NEW_DISK_RE). */
export const NEW_DISK_RE = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;
