/**
 * What a kubelet booted from a NoCloud seed is configured with, read the way the guest reads
 * it: the node name, providerID, `--node-labels`, `--register-with-taints` and the bootstrap
 * tokens it would present. The flags can arrive in any of the forms a bootstrap uses:
 *
 * - plain kubelet flags anywhere in user-data or a written file (`--node-labels=a=b,c=d`,
 *   `--provider-id X`, `--hostname-override`, `--cloud-provider=external`);
 * - a kubeadm JoinConfiguration/InitConfiguration (`nodeRegistration.name`, `taints`,
 *   `kubeletExtraArgs` as v1beta4's list of {name, value} or v1beta3's map);
 * - a k3s config file (`node-name`, `node-label`, `node-taint`, `kubelet-arg`);
 * - a Talos machine config (`machine.kubelet.extraArgs`, `machine.nodeLabels`,
 *   `machine.network.hostname`);
 * - a KubeletConfiguration (`providerID`, `registerWithTaints`).
 *
 * Nothing here knows what proxscale meant to write; it reads what is there.
 *
 * May import: npm yaml, fakes/.
 */
import { parseAllDocuments } from "yaml";
import { readTimeSlicing, type TimeSlicing } from "./gpu_advert.ts";
import { networkConfigAddresses } from "./seed_network.ts";

/** A taint as kubelet registers it. */
export type SeedTaint = { key: string; value?: string; effect: string };

/** A kubelet's configuration as the seed gives it; absent fields were not set. */
export type SeedConfig = {
  /** `--hostname-override`, kubeadm `nodeRegistration.name` or k3s `node-name`. */
  nodeName?: string;
  /** The guest's hostname: user-data `hostname`/`fqdn`, Talos hostname, meta-data local-hostname. */
  hostname?: string;
  providerID?: string;
  /** Exactly the labels passed with `--node-labels` (or the k3s/Talos equivalents). */
  nodeLabels: Record<string, string>;
  /** `--register-with-taints` (or kubeadm/k3s/KubeletConfiguration equivalents). */
  taints: SeedTaint[];
  /** Every bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) the seed carries, in order. */
  tokens: string[];
  /** `--cloud-provider=external`: kubelet adds the cloud provider's uninitialized taint. */
  externalCloudProvider: boolean;
  /** An NVIDIA device plugin config file's time-slicing settings (gpu_advert.ts). */
  timeSlicing?: TimeSlicing;
  /** Static IPv4 addresses from network-config, the default-route interface's first. */
  addresses?: string[];
};

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
    ? String(v)
    : undefined;

/** Parses `k=v,k2=v2` (the `--node-labels` form); entries without `=` are ignored. */
export function parseLabelList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** Parses one `key[=value]:Effect` taint; undefined when malformed. */
export function parseTaint(text: string): SeedTaint | undefined {
  const m = /^([^=:\s]+)(?:=([^:\s]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text.trim());
  if (!m) return undefined;
  return m[2] ? { key: m[1]!, value: m[2], effect: m[3]! } : { key: m[1]!, effect: m[3]! };
}

/** Parses the `--register-with-taints` list form. */
export function parseTaintList(text: string): SeedTaint[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean).flatMap((t) => {
    const p = parseTaint(t);
    return p ? [p] : [];
  });
}

/** Kubelet flags collected from every source, by flag name without dashes. */
class Flags {
  readonly labels: Record<string, string> = {};
  readonly taints: SeedTaint[] = [];
  nodeName?: string;
  providerID?: string;
  externalCloudProvider = false;
  timeSlicing?: TimeSlicing;

  set(name: string, value: string): void {
    const v = unquote(value);
    if (name === "node-labels") Object.assign(this.labels, parseLabelList(v));
    else if (name === "register-with-taints") this.addTaints(parseTaintList(v));
    else if (name === "provider-id") this.providerID = v;
    else if (name === "hostname-override") this.nodeName = v;
    else if (name === "cloud-provider") this.externalCloudProvider = v === "external";
  }

  addTaints(ts: SeedTaint[]): void {
    for (const t of ts) {
      if (!this.taints.some((o) => o.key === t.key && o.effect === t.effect)) this.taints.push(t);
    }
  }
}

function unquote(v: string): string {
  const t = v.trim();
  return /^(["']).*\1$/.test(t) ? t.slice(1, -1) : t;
}

const FLAG_RE =
  /--(node-labels|register-with-taints|provider-id|hostname-override|cloud-provider)(?:=|\s+)("[^"]*"|'[^']*'|[^\s"'\]]+)/g;

/** Flags written on a command line or in an environment file. */
function scanFlags(text: string, f: Flags): void {
  for (const m of text.matchAll(FLAG_RE)) f.set(m[1]!, m[2]!);
}

/** YAML documents of a text; none when it is not YAML (a shell script, say). */
function yamlDocs(text: string): unknown[] {
  try {
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs)) return [];
    return docs.filter((d) => d.errors.length === 0).map((d) => d.toJS());
  } catch {
    return [];
  }
}

function taintObjects(v: unknown): SeedTaint[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((t) => {
    if (typeof t === "string") {
      const p = parseTaint(t);
      return p ? [p] : [];
    }
    if (!isObj(t) || !str(t.key) || !str(t.effect)) return [];
    const value = str(t.value);
    return [
      value ? { key: str(t.key)!, value, effect: str(t.effect)! } : {
        key: str(t.key)!,
        effect: str(t.effect)!,
      },
    ];
  });
}

function listOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => (str(x) !== undefined ? [str(x)!] : []));
  const s = str(v);
  return s !== undefined ? [s] : [];
}

/** Reads one YAML document as whatever kubelet configuration it is. */
function readDoc(doc: unknown, f: Flags): void {
  if (!isObj(doc)) return;
  const sharing = readTimeSlicing(doc);
  if (sharing) f.timeSlicing = sharing;
  const kind = str(doc.kind);
  if (kind === "JoinConfiguration" || kind === "InitConfiguration") {
    const reg = isObj(doc.nodeRegistration) ? doc.nodeRegistration : {};
    if (str(reg.name)) f.nodeName = str(reg.name)!;
    f.addTaints(taintObjects(reg.taints));
    const extra = reg.kubeletExtraArgs;
    if (Array.isArray(extra)) {
      for (const a of extra) {
        if (isObj(a) && str(a.name) && str(a.value) !== undefined) {
          f.set(str(a.name)!, str(a.value)!);
        }
      }
    } else if (isObj(extra)) {
      for (const [k, v] of Object.entries(extra)) if (str(v) !== undefined) f.set(k, str(v)!);
    }
    return;
  }
  if (kind === "KubeletConfiguration") {
    if (str(doc.providerID)) f.providerID = str(doc.providerID)!;
    f.addTaints(taintObjects(doc.registerWithTaints));
    return;
  }
  if (isObj(doc.machine)) {
    // Talos machine config.
    const m = doc.machine;
    const kubelet = isObj(m.kubelet) ? m.kubelet : {};
    if (isObj(kubelet.extraArgs)) {
      for (const [k, v] of Object.entries(kubelet.extraArgs)) {
        if (str(v) !== undefined) f.set(k, str(v)!);
      }
    }
    if (isObj(m.nodeLabels)) {
      for (const [k, v] of Object.entries(m.nodeLabels)) {
        if (str(v) !== undefined) f.labels[k] = str(v)!;
      }
    }
    if (isObj(m.nodeTaints)) {
      f.addTaints(
        Object.entries(m.nodeTaints).flatMap(([k, v]) => {
          const p = parseTaint(`${k}=${str(v) ?? ""}`.replace(/=$/, ""));
          return p ? [p] : [];
        }),
      );
    }
    return;
  }
  if ("node-label" in doc || "kubelet-arg" in doc || "node-name" in doc || "node-taint" in doc) {
    // k3s config file.
    if (str(doc["node-name"])) f.nodeName = str(doc["node-name"])!;
    for (const l of listOf(doc["node-label"])) Object.assign(f.labels, parseLabelList(l));
    f.addTaints(
      listOf(doc["node-taint"]).flatMap((t) => {
        const p = parseTaint(t);
        return p ? [p] : [];
      }),
    );
    for (const a of listOf(doc["kubelet-arg"])) {
      const eq = a.indexOf("=");
      if (eq > 0) f.set(a.slice(0, eq).replace(/^--/, ""), a.slice(eq + 1));
    }
  }
}

const TOKEN_RE = /\b([a-z0-9]{6})\.([a-z0-9]{16})\b/g;

/** The guest's hostname from cloud-config or a Talos config. */
function hostnameOf(docs: unknown[]): string | undefined {
  for (const d of docs) {
    if (!isObj(d)) continue;
    if (str(d.hostname)) return str(d.hostname);
    if (str(d.fqdn)) return str(d.fqdn)!.split(".")[0];
    const net = isObj(d.machine) && isObj(d.machine.network) ? d.machine.network : undefined;
    if (net && str(net.hostname)) return str(net.hostname);
  }
  return undefined;
}

/** Reads a seed's user-data and meta-data as the guest's cloud-init and kubelet would. */
export function parseSeed(
  files: { userData: string; metaData?: string; networkConfig?: string },
): SeedConfig {
  const f = new Flags();
  const texts = [files.userData];
  const userDocs = yamlDocs(files.userData);
  for (const d of userDocs) {
    if (!isObj(d)) continue;
    readDoc(d, f);
    for (const w of Array.isArray(d.write_files) ? d.write_files : []) {
      if (!isObj(w) || str(w.content) === undefined) continue;
      let content = str(w.content)!;
      if (/^b(ase)?64$/.test(str(w.encoding) ?? "")) {
        try {
          content = new TextDecoder().decode(
            Uint8Array.from(atob(content), (c) => c.charCodeAt(0)),
          );
        } catch {
          continue;
        }
      }
      texts.push(content);
      for (const inner of yamlDocs(content)) readDoc(inner, f);
    }
  }
  for (const t of texts) scanFlags(t, f);
  const meta = files.metaData ? yamlDocs(files.metaData)[0] : undefined;
  const hostname = hostnameOf(userDocs) ??
    (isObj(meta) ? str(meta["local-hostname"]) ?? str(meta.hostname) : undefined);
  const tokens: string[] = [];
  for (const t of texts) {
    for (const m of t.matchAll(TOKEN_RE)) {
      const tok = `${m[1]}.${m[2]}`;
      if (!tokens.includes(tok)) tokens.push(tok);
    }
  }
  const out: SeedConfig = {
    nodeLabels: f.labels,
    taints: f.taints,
    tokens,
    externalCloudProvider: f.externalCloudProvider,
  };
  if (f.nodeName) out.nodeName = f.nodeName;
  if (hostname) out.hostname = hostname;
  if (f.providerID) out.providerID = f.providerID;
  if (f.timeSlicing) out.timeSlicing = f.timeSlicing;
  const addresses = files.networkConfig ? networkConfigAddresses(files.networkConfig) : [];
  if (addresses.length > 0) out.addresses = addresses;
  return out;
}
