/**
 * The Node a kubelet inside a fake PVE VM registers: its labels, taints, capacity,
 * allocatable, addresses and nodeInfo, computed from the VM's real config and the kubelet's
 * flags, never from what an autoscaler asked for.
 *
 * Capacity: cpu = `vcpus` if set, else `cores` × `sockets` (both default 1); memory = `memory`
 * MiB (default 512, PVE's default); pods 110; ephemeral-storage = the boot disk's size (the
 * `boot: order=` disk, else the first non-cdrom disk slot); nvidia.com/gpu = the number of
 * `hostpciN` entries, unless the kubelet knows what the devices are (`extended`, set from the
 * fake PVE's PCI devices and the seed's device plugin config by gpu_advert.ts).
 *
 * Allocatable = capacity minus the kubelet reservation (kube-reserved + system-reserved; by
 * default 100m cpu and 256Mi memory) minus the hard eviction thresholds (memory.available
 * 100Mi, nodefs.available 10%), as the kubelet's node allocatable computation does.
 *
 * May import: fakes/.
 */
import type { SeedTaint } from "./seed.ts";

/** What the kubelet keeps back from pods. */
export type Reservation = { cpuMillis: number; memoryBytes: number };

/** The default kubelet reservation: 100m cpu, 256Mi memory. */
export const DEFAULT_RESERVATION: Reservation = { cpuMillis: 100, memoryBytes: 256 * 2 ** 20 };

/** The kubelet's hard eviction threshold for memory.available (100Mi). */
export const EVICTION_MEMORY_BYTES = 100 * 2 ** 20;

/** The kubelet's hard eviction threshold for nodefs.available (10% of the disk). */
export const EVICTION_NODEFS_FRACTION = 0.1;

/** Pods per node, kubelet's default `maxPods`. */
export const MAX_PODS = 110;

/** The GPU resource a passed-through PCI device is advertised as. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** Resources as integers: cpu in millicores, memory and storage in bytes. */
export type NodeResources = {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
  ephemeralBytes: number;
  gpus: number;
  /** Extended resources a device plugin registered (replaces `gpus` when set; gpu_advert.ts). */
  extended?: Record<string, number>;
};

const SIZE_UNIT: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const DISK_SLOT = /^(scsi|virtio|sata|ide)\d+$/;

const int = (v: string | undefined, dflt: number): number => {
  const n = v === undefined ? NaN : parseInt(v, 10);
  return Number.isFinite(n) && n > 0 ? n : dflt;
};

/** A PVE disk `size=` value in bytes (`32G`, `512M`, `1T`); 0 when absent. */
export function diskSizeBytes(value: string): number {
  const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)/.exec(value);
  return m ? Math.round(Number(m[1]) * SIZE_UNIT[m[2]!]!) : 0;
}

/** The boot disk's config value: the first disk of `boot: order=`, else the first disk slot. */
function bootDisk(values: ReadonlyMap<string, string>): string | undefined {
  const isDisk = (k: string) =>
    DISK_SLOT.test(k) && values.has(k) && !/(^|,)media=cdrom(,|$)/.test(values.get(k)!);
  const order = /(?:^|,)order=([^,]+)/.exec(values.get("boot") ?? "")?.[1]?.split(";") ?? [];
  const first = order.find(isDisk) ?? [...values.keys()].filter(isDisk).sort()[0];
  return first ? values.get(first) : undefined;
}

/** What the VM's hardware gives the kubelet to advertise as capacity. */
export function vmCapacity(values: ReadonlyMap<string, string>): NodeResources {
  const vcpus = int(values.get("vcpus"), 0);
  const cpus = vcpus > 0 ? vcpus : int(values.get("cores"), 1) * int(values.get("sockets"), 1);
  const disk = bootDisk(values);
  return {
    cpuMillis: cpus * 1000,
    memoryBytes: int(values.get("memory"), 512) * 2 ** 20,
    pods: MAX_PODS,
    ephemeralBytes: disk ? diskSizeBytes(disk) : 0,
    gpus: [...values.keys()].filter((k) => /^hostpci\d+$/.test(k)).length,
  };
}

/** Capacity minus reservation and eviction thresholds, never below zero. */
export function allocatableOf(cap: NodeResources, r: Reservation): NodeResources {
  return {
    cpuMillis: Math.max(0, cap.cpuMillis - r.cpuMillis),
    memoryBytes: Math.max(0, cap.memoryBytes - r.memoryBytes - EVICTION_MEMORY_BYTES),
    pods: cap.pods,
    ephemeralBytes: Math.floor(cap.ephemeralBytes * (1 - EVICTION_NODEFS_FRACTION)),
    gpus: cap.gpus,
    ...(cap.extended ? { extended: cap.extended } : {}),
  };
}

const kib = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;
const cpuText = (m: number) => (m % 1000 === 0 ? String(m / 1000) : `${m}m`);

/** Capacity in the wire forms the kubelet reports (`4`, `8388608Ki`, `110`). */
export function capacityQuantities(c: NodeResources): Record<string, string> {
  const out: Record<string, string> = {
    cpu: cpuText(c.cpuMillis),
    "ephemeral-storage": kib(c.ephemeralBytes),
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: kib(c.memoryBytes),
    pods: String(c.pods),
  };
  if (c.gpus > 0) out[GPU_RESOURCE] = String(c.gpus);
  for (const [name, n] of Object.entries(c.extended ?? {})) if (n > 0) out[name] = String(n);
  return out;
}

/** Allocatable in the kubelet's wire forms (`3900m`, ephemeral-storage in bytes). */
export function allocatableQuantities(a: NodeResources): Record<string, string> {
  return { ...capacityQuantities(a), "ephemeral-storage": String(a.ephemeralBytes) };
}

/**
 * Keys a kubelet may set on itself with `--node-labels`: any key outside kubernetes.io and
 * k8s.io, the kubelet.kubernetes.io and node.kubernetes.io domains, and a fixed set of
 * well-known keys. Anything else makes the kubelet refuse to start.
 */
export function kubeletMaySetLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return true;
  const domain = key.slice(0, slash);
  const under = (d: string) => domain === d || domain.endsWith(`.${d}`);
  if (under("node-restriction.kubernetes.io")) return false;
  if (!under("kubernetes.io") && !under("k8s.io")) return true;
  if (under("kubelet.kubernetes.io") || under("node.kubernetes.io")) return true;
  return [
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
  ].includes(key);
}

/** The labels kubelet registers with: its own well-known ones plus `--node-labels`. */
export function nodeLabels(name: string, passed: Record<string, string>): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    ...passed,
  };
}

/** The taint `--cloud-provider=external` registers with until a cloud controller clears it. */
export const UNINITIALIZED_TAINT: SeedTaint = {
  key: "node.cloudprovider.kubernetes.io/uninitialized",
  value: "true",
  effect: "NoSchedule",
};

/** The node's InternalIP: ipconfig0's static address, else one made up from the VMID. */
export function internalIp(values: ReadonlyMap<string, string>, vmid: number): string {
  const m = /(?:^|,)ip=(\d+\.\d+\.\d+\.\d+)\//.exec(values.get("ipconfig0") ?? "");
  if (m) return m[1]!;
  return `10.${64 + ((vmid >> 16) & 63)}.${(vmid >> 8) & 255}.${vmid & 255}`;
}

/** What `kubectl get node -o wide` shows about the software; bootID changes with each boot. */
export function nodeInfo(vmid: number, values: ReadonlyMap<string, string>, bootedAt: number) {
  const uuid = /(?:^|,)uuid=([0-9a-fA-F-]+)/.exec(values.get("smbios1") ?? "")?.[1] ??
    `00000000-0000-0000-0000-${vmid.toString(16).padStart(12, "0")}`;
  return {
    architecture: "amd64",
    bootID: `${uuid.slice(0, 24)}${(bootedAt % 2 ** 48).toString(16).padStart(12, "0")}`,
    containerRuntimeVersion: "containerd://1.7",
    kernelVersion: "6.8.0-generic",
    kubeProxyVersion: "v1.32.0",
    kubeletVersion: "v1.32.0",
    machineID: uuid.replace(/-/g, "").toLowerCase(),
    operatingSystem: "linux",
    osImage: "Ubuntu 24.04 LTS",
    systemUUID: uuid.toLowerCase(),
  };
}
