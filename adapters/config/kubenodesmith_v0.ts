/**
 * Reads KubeNodeSmith v0's configuration file and translates it into proxscale's written
 * configuration: one Provider per
 * proxmox provider, one MachineTemplate and NodePool per pool, pool label, ownership tag and
 * VMID range kept so existing VMs and nodes are adopted, the scratch disk lifted out of
 * vmOptions with its serial, 0 limits meaning "unlimited". Everything that cannot be carried
 * over, or that proxscale treats differently, becomes a warning for the operator.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { formatDuration } from "../../core/duration.ts";
import type { WrittenConfig } from "./crd_manifests.ts";

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

/** True when the parsed YAML looks like a KubeNodeSmith v0 file (or its ScalerConfig draft). */
export function isKubeNodeSmithV0(doc: unknown): boolean {
  if (!isMap(doc)) return false;
  if (doc.kind === "ScalerConfig" && isMap(doc.spec)) return true;
  return typeof doc.schemaVersion === "string" && isMap(doc.providers);
}

/** Go duration ("1m30s", "1.5h", "500ms") to proxscale duration text; null when unparsable. */
export function goDuration(v: unknown): string | null {
  if (typeof v === "number") return formatDuration(Math.round(v / 1e6)); // nanoseconds
  if (typeof v !== "string" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return null;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * unit[m[2]!]!;
  }
  return formatDuration(Math.round(total));
}

const dnsLabel = (s: string) =>
  s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "imported";

/** Parses a PVE disk option such as `local-zfs:16,serial=CONTAINERD01,discard=on,ssd=1`. */
function liftDisk(slot: string, value: string): Any | null {
  const [first, ...opts] = value.split(",");
  const m = /^([^:]+):(\d+)$/.exec(first ?? "");
  if (!m) return null;
  const disk: Any = { slot, storage: m[1], size: `${m[2]}Gi` };
  for (const o of opts) {
    const [k, v] = o.split("=");
    if (k === "serial") disk.serial = v;
    else if (k === "discard") disk.discard = v === "on";
    else if (k === "ssd") disk.ssd = v === "1";
    else if (k === "iothread") disk.iothread = v === "1";
    else if (k === "cache") disk.cache = v;
    else if (k === "format") disk.format = v;
  }
  return disk;
}

/** The translation and the operator-facing notes it produced. */
export type Imported = { config: WrittenConfig; warnings: string[] };

/** Translates a parsed v0 document; errors are the problems v0 itself would have refused. */
export function importKubeNodeSmithV0(input: unknown): Result<Imported, string[]> {
  const warnings: string[] = [];
  const errors: string[] = [];
  let doc = input as Any;
  if (isMap(doc) && doc.kind === "ScalerConfig" && isMap(doc.spec)) {
    warnings.push("read the early ScalerConfig draft format; only its v0-compatible keys are used");
    doc = { schemaVersion: "v1alpha1", ...doc.spec };
  }
  if (doc.schemaVersion !== "v1alpha1") {
    return err([`schemaVersion must be v1alpha1, got ${JSON.stringify(doc.schemaVersion)}`]);
  }
  if (doc.pollingInterval !== undefined) {
    warnings.push(
      `pollingInterval ${doc.pollingInterval} is not carried over: proxscale reacts to watch events`,
    );
  }
  const providers: { name: string; spec: Any }[] = [];
  const providerInfo = new Map<string, { name: string; overheadMiB: number; template: Any }>();
  for (const [key, p] of Object.entries(isMap(doc.providers) ? doc.providers : {})) {
    if (!isMap(p)) continue;
    if (p.type !== "proxmox") {
      warnings.push(`provider "${key}" has type ${JSON.stringify(p.type)}; skipped`);
      continue;
    }
    const name = dnsLabel(key);
    const o = isMap(p.options) ? p.options : {};
    const cred = isMap(p.credentialsRef) ? p.credentialsRef : {};
    const endpoint = String(o.endpoint ?? "").replace(/\/api2\/json\/?$/, "").replace(/\/+$/, "");
    if (!endpoint) errors.push(`provider "${key}": options.endpoint is required`);
    const hosts = Array.isArray(o.nodeWhitelist) ? o.nodeWhitelist.map(String) : [];
    if (hosts.length === 0) {
      warnings.push(
        `provider "${key}": nodeWhitelist is empty (v0 used every online node); list the Proxmox hosts in Provider "${name}" spec.hosts (a placeholder "pve" was written)`,
      );
      hosts.push("pve");
    }
    let tag = String(o.managedNodeTag ?? "");
    if (!tag) {
      tag = "kubenodesmith-managed";
      warnings.push(
        `provider "${key}": managedNodeTag is empty (v0 then treated every VM as its own); using "${tag}"; tag the existing VMs before enabling scale-down`,
      );
    } else if (!/^[a-z0-9_][a-z0-9_.+-]*$/.test(tag)) {
      tag = tag.toLowerCase().replace(/[^a-z0-9_.+-]/g, "-");
      warnings.push(`provider "${key}": managedNodeTag rewritten to the PVE tag "${tag}"`);
    }
    const range = isMap(o.vmIDRange) ? o.vmIDRange : {};
    const lower = Number(range.lower);
    const upper = Number(range.upper);
    if (!Number.isInteger(lower) || !Number.isInteger(upper) || lower > upper) {
      errors.push(`provider "${key}": vmIDRange needs integers lower <= upper (inclusive)`);
    }
    warnings.push(
      `provider "${key}": the API token id is kept in Secret ${cred.namespace}/${cred.name} key PROXMOX_TOKEN_ID; copy it into Provider "${name}" spec.tokenId (a placeholder was written)`,
    );
    providers.push({
      name,
      spec: {
        endpoint,
        tokenId: "REPLACE-ME@pve!kubenodesmith",
        tokenSecret: {
          secret: {
            namespace: String(cred.namespace ?? "kubenodesmith"),
            name: String(cred.name ?? "proxmox-api-secret"),
            key: "PROXMOX_SECRET",
          },
        },
        hosts: hosts.map((h) => ({ name: h })),
        vmidRange: { lower, upper },
        managedTag: tag,
      },
    });
    providerInfo.set(key, {
      name,
      overheadMiB: Number(o.vmMemOverheadMiB ?? 0),
      template: templateFromOptions(key, o, warnings),
    });
  }
  const machineTemplates: { name: string; spec: Any }[] = [];
  const nodePools: { name: string; spec: Any }[] = [];
  for (const [i, pool] of (Array.isArray(doc.nodePools) ? doc.nodePools : []).entries()) {
    if (!isMap(pool) || typeof pool.name !== "string" || !pool.name) {
      errors.push(`nodePools[${i}]: name is required`);
      continue;
    }
    const prov = providerInfo.get(String(pool.providerRef));
    if (!prov) {
      errors.push(`pool "${pool.name}": providerRef "${pool.providerRef}" names no provider`);
      continue;
    }
    const name = dnsLabel(pool.name);
    const limits = isMap(pool.limits) ? pool.limits : {};
    const mt = isMap(pool.machineTemplate) ? pool.machineTemplate : {};
    const cpuCores = Number(limits.cpuCores ?? 0);
    const memoryMiB = Number(limits.memoryMiB ?? 0);
    const template: Any = { ...structuredClone(prov.template), provider: prov.name };
    template.vmMemOverheadMiB = prov.overheadMiB;
    if (mt.cpuCores !== undefined && mt.memoryMiB !== undefined) {
      template.shapes = [{ cpu: Number(mt.cpuCores), memory: `${Number(mt.memoryMiB)}Mi` }];
    } else {
      // v0 sized each VM to the first pending pod; a flexible range is the closest match.
      template.flexible = {
        cpu: { min: 1, max: cpuCores > 0 ? cpuCores : 16, step: 1 },
        memory: {
          min: "1Gi",
          max: memoryMiB > 0 ? `${memoryMiB}Mi` : "64Gi",
          step: "512Mi",
        },
      };
    }
    if (isMap(mt.labels)) template.labels = mt.labels;
    if (mt.kubeNodeNamePrefix) {
      warnings.push(
        `pool "${pool.name}": node names "${mt.kubeNodeNamePrefix}-<vmid>" are adopted by the pool label; new VMs are named after their NodeClaim`,
      );
    }
    machineTemplates.push({ name, spec: template });
    const labelKey = String(pool.poolLabelKey ?? "topology.kubenodesmith.io/pool");
    const spec: Any = {
      machineTemplate: name,
      labels: { [labelKey]: pool.name },
      limits: {
        ...(cpuCores > 0 ? { cpu: String(cpuCores) } : {}),
        ...(memoryMiB > 0 ? { memory: `${memoryMiB}Mi` } : {}),
        ...(Number(limits.maxNodes ?? 0) > 0 ? { nodes: Number(limits.maxNodes) } : {}),
      },
      minNodes: Number(limits.minNodes ?? 0),
    };
    if (typeof mt.architecture === "string" && mt.architecture) {
      spec.requirements = [{
        key: "kubernetes.io/arch",
        operator: "In",
        values: [mt.architecture],
      }];
    }
    const up = isMap(pool.scaleUp) ? pool.scaleUp : {};
    const down = isMap(pool.scaleDown) ? pool.scaleDown : {};
    const scaleUp: Any = {};
    if (up.batchSize !== undefined) scaleUp.batchSize = Number(up.batchSize);
    if (up.stabilizationWindow !== undefined) {
      scaleUp.stabilizationWindow = goDuration(up.stabilizationWindow) ?? "0s";
    }
    const scaleDown: Any = {};
    if (down.maxConcurrent !== undefined) scaleDown.maxConcurrent = Number(down.maxConcurrent);
    if (down.drainTimeout !== undefined) {
      scaleDown.drainTimeout = goDuration(down.drainTimeout) ?? "10m";
    }
    if (Object.keys(scaleUp).length) spec.scaleUp = scaleUp;
    if (Object.keys(scaleDown).length) spec.scaleDown = scaleDown;
    if (Object.keys(scaleUp).length || Object.keys(scaleDown).length) {
      warnings.push(
        `pool "${pool.name}": scaleUp/scaleDown settings were not enforced by KubeNodeSmith v0; proxscale enforces them`,
      );
    }
    if (prov.overheadMiB > 0) {
      warnings.push(
        `pool "${pool.name}": proxscale counts vmMemOverheadMiB (${prov.overheadMiB} MiB per VM) in pool limits, unlike v0; a pool near its memory limit may scale less`,
      );
    }
    nodePools.push({ name, spec });
  }
  if (errors.length) return err(errors);
  return ok({ config: { providers, machineTemplates, nodePools }, warnings });
}

/** The VM-shape part of a v0 provider's options, as a MachineTemplate spec (minus sizes). */
function templateFromOptions(key: string, o: Any, warnings: string[]): Any {
  const options: Record<string, string | number | boolean> = {};
  const disks: Any[] = [];
  const network: Any[] = [];
  let ipconfig: string | undefined;
  let cicustom: string | undefined;
  for (const entry of Array.isArray(o.vmOptions) ? o.vmOptions : []) {
    if (!isMap(entry) || typeof entry.name !== "string") continue;
    const { name, value } = entry;
    if (["name", "tags", "memory", "cores"].includes(name)) continue; // proxscale sets these
    if (/^(scsi|virtio|sata|ide)\d+$/.test(name) && typeof value === "string") {
      if (value.endsWith(":cloudinit")) continue; // proxscale's bootstrap adds its own drive
      const disk = liftDisk(name, value);
      if (disk) {
        disks.push(disk);
        continue;
      }
    }
    if (name === "ipconfig0" && typeof value === "string") {
      ipconfig = value;
      continue;
    }
    if (name === "cicustom" && typeof value === "string") {
      cicustom = value;
      continue;
    }
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      options[name] = value;
    }
  }
  const nics = Array.isArray(o.networkInterfaces) ? o.networkInterfaces : [];
  nics.forEach((n, i) => {
    if (!isMap(n)) return;
    const nic: Any = {
      slot: String(n.name || `net${i}`),
      model: String(n.model || "virtio"),
      bridge: String(n.bridge || "vmbr0"),
    };
    if (!n.bridge) {
      warnings.push(`provider "${key}": interface ${nic.slot} had no bridge; using vmbr0`);
    }
    if (Number(n.vlanTag ?? 0) > 0) nic.vlan = Number(n.vlanTag);
    if (i === 0 && ipconfig) nic.ipconfig = ipconfig;
    if (n.macPrefix) {
      warnings.push(
        `provider "${key}": macPrefix ${n.macPrefix} is not supported; PVE assigns MAC addresses`,
      );
    }
    network.push(nic);
  });
  return {
    source: { scratch: { options } },
    disks,
    network,
    bootstrap: cicustom ? { mode: "pveCloudInit", cicustom } : { mode: "pveCloudInit" },
  };
}

const KNS_KINDS = new Set([
  "NodeSmithProvider",
  "NodeSmithPool",
  "NodeSmithController",
  "NodeSmithControlPlane",
  "NodeSmithClaim",
]);

/**
 * True when the documents are KubeNodeSmith's later CRD objects (folded into the v0 shape first).
 */
export function isKubeNodeSmithCrds(docs: unknown[]): boolean {
  return docs.some((d) => isMap(d) && typeof d.kind === "string" && KNS_KINDS.has(d.kind));
}

/**
 * Folds KubeNodeSmith's interim or rewrite CRD objects back into the v0 file shape, so one
 * importer serves all three forms: providers from NodeSmithProvider (`spec.proxmox` holds the
 * v0 options, `spec.credentialsSecretRef` the Secret), pools from NodeSmithPool (`spec` holds
 * the v0 pool fields). Claims and controller objects carry no configuration and are skipped.
 */
export function kubeNodeSmithCrdsToV0(docs: unknown[]): { doc: Any; warnings: string[] } {
  const providers: Any = {};
  const nodePools: Any[] = [];
  const warnings: string[] = [
    "read KubeNodeSmith CRD objects; they were converted to the v0 file shape first",
  ];
  for (const d of docs) {
    if (!isMap(d) || typeof d.kind !== "string") continue;
    const meta = isMap(d.metadata) ? d.metadata : {};
    const spec = isMap(d.spec) ? d.spec : {};
    const name = String(meta.name ?? "");
    if (d.kind === "NodeSmithProvider") {
      providers[name] = {
        type: String(spec.type ?? "proxmox"),
        credentialsRef: spec.credentialsSecretRef ?? spec.credentialsRef ?? {},
        options: spec.proxmox ?? spec.options ?? {},
      };
    } else if (d.kind === "NodeSmithPool") {
      nodePools.push({ ...spec, name: String(spec.name ?? name) });
    } else if (d.kind === "NodeSmithClaim") {
      continue;
    } else {
      warnings.push(`${d.kind} "${name}" carries no per-pool configuration; skipped`);
    }
  }
  return { doc: { schemaVersion: "v1alpha1", providers, nodePools }, warnings };
}
