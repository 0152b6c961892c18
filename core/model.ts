/**
 * The plain-data model every decision works on. Adapters translate Kubernetes objects,
 * Proxmox responses and configuration into these types at the edge; nothing here knows
 * where the data came from. Units: CPU in millicores, memory and disk in bytes, time in
 * epoch milliseconds, durations in milliseconds.
 *
 * May import: nothing outside core/.
 */
import type { Reason } from "./reason.ts";
import type { IpPool } from "./ipam_pool.ts";
import type { DemandHistory } from "./forecast_history.ts";

/** CPU (millicores) and memory (bytes). */
export type Resources = { cpu: number; memory: number };

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";
export type Taint = { key: string; value?: string; effect: TaintEffect };
export type Toleration = {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: TaintEffect;
  tolerationSeconds?: number;
};

export type Operator = "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" | "Gte" | "Lte";
/** A node selector requirement (Karpenter's NodeSelectorRequirementWithMinValues). */
export type Requirement = {
  key: string;
  operator: Operator;
  values?: string[];
  minValues?: number;
};
export type NodeSelectorTerm = { matchExpressions?: Requirement[]; matchFields?: Requirement[] };

export type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
};
export type PodAffinityTerm = {
  labelSelector?: LabelSelector;
  topologyKey: string;
  namespaces?: string[];
};
export type TopologySpreadConstraint = {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  labelSelector?: LabelSelector;
  minDomains?: number;
};

/**
 * Requests of one container. `extended` holds every other resource by its Kubernetes name
 * (nvidia.com/gpu, hugepages-2Mi, ephemeral-storage...): counts for devices, bytes for sizes.
 */
export type ContainerRequests = {
  cpu?: number;
  memory?: number;
  extended?: Record<string, number>;
};

/** A port the pod binds on its node; two pods with the same port and protocol never share a node. */
export type HostPort = { port: number; protocol: "TCP" | "UDP" | "SCTP"; hostIP?: string };
export type InitContainer = ContainerRequests & { sidecar?: boolean };

/** A pod as the scheduler sees it. `requests` is derived by core/pod_requests.ts, not stored. */
export type Pod = {
  uid: string;
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Bound node name, if scheduled. */
  nodeName?: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** PodScheduled=False with reason Unschedulable. */
  unschedulable?: boolean;
  /** When the pod was bound to its node (PodScheduled=True), epoch ms. */
  boundAt?: number;
  /** When the pod became unschedulable (or was created), epoch ms. */
  pendingSince?: number;
  createdAt: number;
  containers: ContainerRequests[];
  initContainers?: InitContainer[];
  overhead?: ContainerRequests;
  nodeSelector?: Record<string, string>;
  requiredNodeAffinity?: NodeSelectorTerm[];
  preferredNodeAffinity?: { weight: number; preference: NodeSelectorTerm }[];
  requiredPodAntiAffinity?: PodAffinityTerm[];
  /** Required pod affinity: the pod runs in a domain where a matching pod runs. */
  requiredPodAffinity?: PodAffinityTerm[];
  /** Preferred pod affinity (soft; kept for scoring). */
  preferredPodAffinity?: { weight: number; term: PodAffinityTerm }[];
  hostPorts?: HostPort[];
  /** Names of the PersistentVolumeClaims the pod mounts (same namespace). */
  volumeClaims?: string[];
  /**
   * Set when a bound volume with node affinity (a local PersistentVolume) ties the pod to the
   * nodes that volume can reach; `requiredNodeAffinity` then carries that constraint too.
   */
  volumePinned?: boolean;
  /** A claim the pod mounts that is not bound yet and binds on its own (Immediate): it waits. */
  waitsForVolume?: string;
  tolerations?: Toleration[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  ownerKind?: string;
  ownerName?: string;
  priority?: number;
  /** spec.priorityClassName; system-* classes are drained last (core/drain.ts). */
  priorityClassName?: string;
  /** Uses emptyDir or hostPath storage that dies with the node. */
  localStorage?: boolean;
  deleting?: boolean;
};

export type Node = {
  name: string;
  providerID?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Taint[];
  allocatable: Resources & { pods?: number; extended?: Record<string, number> };
  ready: boolean;
  /** spec.unschedulable (cordoned). */
  unschedulable?: boolean;
  createdAt: number;
  deleting?: boolean;
};

/** A PersistentVolumeClaim as scheduling sees it. */
export type VolumeClaim = {
  namespace: string;
  name: string;
  /** spec.volumeName once bound. */
  volumeName?: string;
  storageClassName?: string;
};
/**
 * A StorageClass as scheduling sees it: WaitForFirstConsumer binds a new volume where the pod
 * lands (within `allowedTopologies`); Immediate binds it before the pod can be scheduled.
 */
export type StorageClass = {
  name: string;
  volumeBindingMode: "Immediate" | "WaitForFirstConsumer";
  allowedTopologies?: NodeSelectorTerm[];
};
/** A PersistentVolume's node affinity (local volumes and zonal disks have one). */
export type PersistentVolume = { name: string; nodeAffinity?: NodeSelectorTerm[] };
/** A Proxmox VE cluster member ("host", to avoid clashing with Kubernetes nodes). */
export type Host = {
  name: string;
  provider: string;
  zone: string;
  online: boolean;
  /** Physical capacity. */
  capacity: Resources;
  /** Overcommit ratios the operator allows (1 = none). */
  cpuOvercommit: number;
  memoryOvercommit: number;
  /** Kept free for the host itself. */
  reserved: Resources;
  /** Committed to VMs already on the host, including in-flight ones: cores*1000 and memory incl. overhead. */
  committed: Resources;
  /**
   * PCI devices the host can pass through to VMs, by PVE resource mapping (absent: none). The
   * provider reads them from the cluster's PCI mappings and subtracts the devices every VM on
   * the host already holds, proxscale's in-flight ones and foreign ones alike.
   */
  devices?: HostDevices[];
  /**
   * Operator maintenance (absent: none). `cordon`: no new VM is placed on the host. `drain`:
   * also, the nodes of proxscale's VMs on it are replaced through disruption (HostMaintenance).
   */
  maintenance?: HostMaintenance;
  /**
   * The host's capacity type (class): `reserved`, `standard`, `preemptible` or one the operator
   * names; absent when the provider configures no classes (then it counts as `standard`).
   */
  capacityType?: string;
};

/** A host's maintenance state: cordoned (no new VMs) or draining (its nodes are replaced too). */
export type HostMaintenance = "cordon" | "drain";

/** The passthrough devices of one PCI resource mapping on one host. */
export type HostDevices = {
  /** The PVE resource mapping's id (`/cluster/mapping/pci/{id}`). */
  mapping: string;
  /** Device model as the host reports it (e.g. "GA100 [A100 PCIe 40GB]"), when known. */
  model?: string;
  /** Whole devices not held by any VM. */
  free: number;
  /** Mediated device types (vGPU profiles) and how many more VMs each can still take. */
  mdev?: Record<string, number>;
};

/**
 * The GPUs a VM of a shape gets: `count` devices of the mapping named, or of any mapping whose
 * devices are of `model`, each whole or as one mediated device of type `mdev`.
 */
export type ShapeGpus = { count: number; mapping?: string; model?: string; mdev?: string };

export type VmStatus = "running" | "stopped" | "paused" | "unknown";
export type VM = {
  vmid: number;
  host: string;
  provider: string;
  name: string;
  tags: string[];
  status: VmStatus;
  /** Configured size: cores*1000 millicores, memory bytes. */
  size: Resources;
  /** NodeClaim name recorded in the VM description, when proxscale created it. */
  claim?: string;
  /** Template hash recorded in the VM description at launch (disaster recovery reads it). */
  templateHash?: string;
  /** When its NodeClaim was created, as recorded on the VM at launch (disaster recovery reads it). */
  claimCreatedAt?: number;
  /** When the provider made the VM itself (PVE's creation time), if it says. */
  vmCreatedAt?: number;
  /** When the VM was last started (now minus its uptime), if running and the provider says. */
  startedAt?: number;
  template?: boolean;
  /** The providerID its Node carries when the provider names it (absent: proxmox://<provider>/<vmid>). */
  providerID?: string;
};

/** A VM size a MachineTemplate allows: what the VM gets, before kubelet reservations. */
export type Shape = { name: string; cpu: number; memory: number; gpus?: ShapeGpus };

export type ConditionStatus = "True" | "False" | "Unknown";

/**
 * The condition types proxscale writes and reads: on a NodeClaim the lifecycle's four
 * (Launched, Registered, Initialized, Ready, in that order), Drifted, InstanceTerminating and
 * HostMaintenance; on
 * a NodePool LaunchFailing. A closed set: a condition of another type read from the API server
 * (written by someone else, or by a newer proxscale) is left out of the model when it is read,
 * and stays on the object untouched, since status writes merge into the stored list by type.
 */
export const CONDITION_TYPES = [
  "Launched",
  "Registered",
  "Initialized",
  "Ready",
  "Drifted",
  "InstanceTerminating",
  "LaunchFailing",
  "HostMaintenance",
] as const;

/** A condition type of the closed set CONDITION_TYPES. */
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** A status condition the metav1 way, of one of proxscale's own types. */
export type Condition = {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: number;
};

/** One VM proxscale decided to own, and the Node it becomes. */
export type NodeClaim = {
  name: string;
  nodePool: string;
  machineTemplate: string;
  provider: string;
  shape: Shape;
  host?: string;
  vmid?: number;
  providerID?: string;
  nodeName?: string;
  createdAt: number;
  labels: Record<string, string>;
  taints: Taint[];
  startupTaints: Taint[];
  /** Hash of the NodePool/MachineTemplate spec it was made from (drift). */
  templateHash?: string;
  conditions: Condition[];
  deleting?: boolean;
  /**
   * Static addresses from IP pools, one per pooled NIC, recorded before the VM is made and
   * held until the claim is gone (core/ipam.ts).
   */
  addresses?: ClaimAddress[];
  /**
   * When the claim was rebuilt from its VM after being lost (core/adoption.ts); `createdAt` then
   * is its first creation, which the Kubernetes object keeps apart from its own creation time.
   */
  adoptedAt?: number;
};

/** A static address a NodeClaim holds for one NIC: the slot, its pool and the dotted quad. */
export type ClaimAddress = { slot: string; pool: string; address: string };

export type PodDisruptionBudget = {
  name: string;
  namespace: string;
  selector: LabelSelector;
  /** status.disruptionsAllowed as observed. */
  disruptionsAllowed: number;
};

/** Normalised NodePool (quantities and durations already converted). */
export type NodePool = {
  name: string;
  machineTemplate: string;
  weight: number;
  requirements: Requirement[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  startupTaints: Taint[];
  limits: { cpu?: number; memory?: number; nodes?: number; gpus?: number };
  minNodes: number;
  /** Paused: no new node for the pool (minNodes included) and no disruption of its nodes. */
  paused?: boolean;
  /**
   * The pool's nodes use replicated storage, so a pod pinned by a local volume may still be
   * moved by consolidation (its data follows it). Default false: such pods keep their node.
   */
  storageReplicated?: boolean;
  scaleUp: {
    batchSize: number;
    stabilizationWindow: number;
    maxConcurrent: number;
    /** Predictive scale-up (core/forecast.ts); absent = off, the reactive behaviour only. */
    forecast?: ForecastSettings;
  };
  scaleDown: { maxConcurrent: number; drainTimeout: number; stabilizationWindow: number };
  disruption: Disruption;
  /** The owning tenant, and whether it shares the pool (absent: open to every pod). */
  tenancy?: PoolTenancy;
};

/** Owner of a NodePool; a shared pool also takes pods of the owner's sharing.tenants. */
export type PoolTenancy = { tenant: string; shared: boolean };

/** A tenant's quotas across all its pools (absent: no bound). cpu millicores, memory bytes. */
export type TenantQuota = {
  cpu?: number;
  memory?: number;
  gpus?: number;
  nodes?: number;
  costPerHour?: number;
};

/** A tenant: its namespaces, its quota and the tenants allowed into its shared pools. */
export type Tenant = {
  name: string;
  namespaces: string[];
  /** Namespaces carrying all these labels belong to the tenant too (after every list). */
  namespaceSelector?: Record<string, string>;
  quota: TenantQuota;
  /** Tenants whose pods may use this tenant's shared pools. */
  sharing: string[];
};

/** A pool's predictive scale-up, normalised (durations in ms). */
export type ForecastSettings = {
  /** Most forecast-only claims of the pool in their window at once (the pre-launch cap). */
  maxNodes: number;
  /** Highest recent model error (mean absolute error over mean demand) it still acts on. */
  maxError: number;
  /** How far ahead it predicts, ms; null = the measured boot delay plus settings.batchMax. */
  horizon: number | null;
};

export type Budget = {
  /** "10%" or "3". */
  nodes: string;
  reasons?: ("Empty" | "Underutilized" | "Drifted" | "Expired")[];
  schedule?: string;
  /** ms */
  duration?: number;
};

export type Disruption = {
  /**
   * WhenEmpty: only empty nodes. WhenEmptyOrUnderutilized: any move that saves. Balanced (as in
   * Karpenter): a move must also save enough for the pods it disrupts (consolidationThreshold).
   */
  consolidationPolicy: "WhenEmpty" | "WhenEmptyOrUnderutilized" | "Balanced";
  /**
   * Balanced only: k, a move passes when (savings ÷ pool cost) ÷ (its disruption ÷ the pool's
   * disruption) is at least 1/k (absent: 2). Higher values let more moves through.
   */
  consolidationThreshold?: number;
  /** ms, null = Never */
  consolidateAfter: number | null;
  /** ms, null = Never */
  expireAfter: number | null;
  /** ms, null = wait forever */
  terminationGracePeriod: number | null;
  budgets: Budget[];
  /**
   * Least fraction of the current cost a replacement must save before consolidation replaces a
   * node (0..1; 0 = any saving). Deletions without replacement are not affected.
   */
  minSavingsFraction?: number;
  /**
   * Consolidation looks at the pool's nodes on preemptible hosts first, so that their pods move
   * to hosts that are not reclaimed (absent: false).
   */
  preferOffPreemptible?: boolean;
  /** What happens when a drain reaches drainTimeout. */
  drainTimeoutAction: "uncordon" | "force";
};

export type DiskSpec = {
  /** scsi0, virtio1, sata2 ... */
  slot: string;
  storage: string;
  /** bytes */
  size: number;
  discard?: boolean;
  ssd?: boolean;
  iothread?: boolean;
  serial?: string;
  cache?: string;
  format?: string;
};
export type NetworkSpec = {
  /** net0, net1 ... */
  slot: string;
  model: "virtio" | "e1000" | "vmxnet3" | "rtl8139";
  bridge: string;
  vlan?: number;
  firewall?: boolean;
  mtu?: number;
  /** Packet queues of the NIC (multiqueue virtio), 0..64. */
  queues?: number;
  macaddr?: string;
  /** ipconfigN value for cloud-init, e.g. "ip=dhcp". */
  ipconfig?: string;
  /** IP pool of the template's Provider this NIC takes a static address from (overrides ipconfig). */
  ipPool?: string;
};

export type BootstrapMode = "nocloudIso" | "pveCloudInit" | "none";
export type Bootstrap = {
  mode: BootstrapMode;
  /** Template name (shipped: kubeadm, k3s, talos) or inline text for user-data. */
  userData?: string;
  template?: "kubeadm" | "k3s" | "talos";
  /** Storage for uploaded ISOs (content type iso). */
  isoStorage?: string;
  /** pveCloudInit: snippet reference, e.g. "user=local:snippets/join.yaml". */
  cicustom?: string;
  sshKeys?: string[];
  nameserver?: string;
  searchdomain?: string;
  ciuser?: string;
  /** Values the templates may use: cluster server, CA, operator Secret. */
  clusterServer?: string;
  caCertHashFrom?: string;
  secretRef?: { namespace: string; name: string };
};

export type VmSource =
  | {
    kind: "clone";
    /** Template VMID, or per-host template VMIDs. */
    templateVmid?: number;
    perHost?: Record<string, number>;
    full: boolean;
    storage?: string;
  }
  | {
    kind: "image";
    /** Cloud image URL PVE downloads (content `import`) and the checksum it verifies. */
    url: string;
    checksum: { algorithm: "sha256" | "sha512"; value: string };
    /** Storage of the template VM's disk. */
    storage: string;
    /** File-based storage the image is downloaded to. */
    importStorage: string;
    /** Hosts to build a template on (default: every Provider host). */
    perHost?: string[];
    full: boolean;
  }
  | {
    kind: "scratch";
    /** Raw PVE create options (ostype, scsihw, boot, bios, net boot...). */
    options: Record<string, string | number | boolean>;
  };

/**
 * VM settings written into every VM's PVE config, whether it is created from scratch or cloned
 * (on a clone they replace what the template VM had). Unset fields leave PVE's or the template
 * VM's value alone.
 */
export type VmOptions = {
  /** PVE CPU model (`host`, `x86-64-v2-AES`, `custom-NAME`) and VM-specific flags (`+aes`). */
  cpu?: { type: string; flags?: string[] };
  /** Sockets the VM's vCPUs are spread over (cores = vCPUs / sockets). */
  sockets?: number;
  numa?: boolean;
  /** Balloon target in MiB; 0 turns the balloon device off. */
  balloonMiB?: number;
  /** QEMU machine type: `q35`, `pc`, `pc-q35-8.1` ... */
  machine?: string;
  bios?: "seabios" | "ovmf";
  /** EFI vars disk added when the VM has none (bios ovmf). */
  efiDisk?: { storage: string; efiType: "2m" | "4m"; preEnrolledKeys: boolean };
  agent?: { enabled: boolean; fstrimClonedDisks?: boolean; type?: "virtio" | "isa" };
  /** Start/shutdown order and delays (s) when the host boots or shuts down. */
  startup?: { order?: number; up?: number; down?: number };
  /**
   * Text appended to the VM description below the identity lines; `{{ nodeClaim }}`,
   * `{{ nodePool }}`, `{{ machineTemplate }}` and `{{ shape }}` are replaced.
   */
  description?: string;
};

/** Normalised MachineTemplate: the VM shapes and everything a VM gets. */
export type MachineTemplate = {
  name: string;
  provider: string;
  /** Allowed sizes, sorted by cost ascending. Empty when only `flexible` is given. */
  shapes: Shape[];
  flexible?: {
    cpu: { min: number; max: number; step: number };
    memory: { min: number; max: number; step: number };
  };
  /** Memory QEMU and the host need beyond the guest's, per VM (bytes). */
  vmMemOverhead: number;
  /** kube-reserved + system-reserved: what the kubelet keeps back from the shape. */
  reserved: Resources;
  /**
   * The kubelet's hard eviction threshold for memory.available (bytes): memory the kubelet also
   * keeps free, so not allocatable to pods either (kubelet's default 100Mi; the YAML loader fills
   * it in). Absent: none. core/shapes.ts `kubeletKeeps` adds it to `reserved`.
   */
  evictionHardMemory?: number;
  maxPods: number;
  /**
   * Extended resources every VM of the template offers to pods (nvidia.com/gpu: 1 with a
   * passed-through device, hugepages-2Mi, ephemeral-storage...). None unless listed.
   */
  extendedResources?: Record<string, number>;
  /**
   * How the GPUs of this template's GPU shapes reach pods: the extended resource the device
   * plugin advertises (default nvidia.com/gpu) and how many pods share one device by
   * time-slicing (replicas, default 1); `pcie: false` passes devices without `pcie=1` (and
   * without the q35 machine it needs). Absent pcie means true.
   */
  gpu?: { resourceName: string; replicas: number; pcie?: boolean };
  source: VmSource;
  /** VM settings applied to scratch-built and cloned VMs alike. */
  vm?: VmOptions;
  disks: DiskSpec[];
  network: NetworkSpec[];
  bootstrap: Bootstrap;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  startupTaints: Taint[];
  tags: string[];
  resourcePool?: string;
};

export type PlacementStrategy = "leastAllocated" | "mostAllocated" | "spread";
export type SecretSource =
  | { file: string }
  | { env: string }
  | { secret: { namespace: string; name: string; key: string } };

export type HostConfig = {
  name: string;
  zone: string;
  cpuOvercommit: number;
  memoryOvercommit: number;
  reserved: Resources;
  /** Maintenance the operator set on the host (config field or Provider annotation). */
  maintenance?: HostMaintenance;
  /** The host's capacity type; set on every host when the provider has classes. */
  capacityType?: string;
  /** Power management through the host's BMC (absent: proxscale never powers it on or off). */
  power?: HostPowerConfig;
};

/** How proxscale reaches a host's BMC over Redfish and how long the host takes to boot. */
export type HostPowerConfig = {
  bmc: {
    endpoint: string;
    /** Username and password (a Secret with keys `username` and `password`, or files/env). */
    username: SecretSource;
    password: SecretSource;
    /** The Redfish ComputerSystem id (the last segment of /redfish/v1/Systems/{id}). */
    systemId: string;
    tls: { caFile?: string; fingerprint?: string; insecureSkipVerify: boolean };
  };
  /** From power-on until the host is online in PVE, in ms (counted in power-on decisions). */
  bootDelay: number;
};

/** A provider's host power policy (absent: no host is powered off or on). */
export type HostPowerPolicy = {
  /** A host that ran no VM at all for this long (ms) is powered off. */
  powerOffAfter: number;
  /** Never fewer PVE hosts online than this. */
  minOnlineHosts: number;
};

/** One bare-metal server behind a Redfish BMC, as configured. */
export type RedfishMachineConfig = {
  name: string;
  zone: string;
  endpoint: string;
  systemId: string;
  username: string;
  password: SecretSource;
  tls: { caFile?: string; fingerprint?: string; insecureSkipVerify: boolean };
};

/** A Redfish Provider's machines and the HTTPS server that hands out seed ISOs. */
export type RedfishSettings = {
  machines: RedfishMachineConfig[];
  seedServer: {
    listen: string;
    url: string;
    certFile: string;
    keyFile: string;
    ttlSeconds: number;
  };
};

/**
 * Normalised Provider: one Proxmox VE cluster, or (kind `redfish`) a set of bare-metal machines.
 * A Redfish Provider's machines are its `hosts` (one node each, vmid = 100 + position) and its PVE
 * fields are empty.
 */
export type Provider = {
  name: string;
  /** Absent: Proxmox VE. */
  kind?: "redfish";
  /** Present exactly when kind is redfish. */
  redfish?: RedfishSettings;
  endpoint: string;
  tokenId: string;
  tokenSecret: SecretSource;
  tls: { caFile?: string; fingerprint?: string; insecureSkipVerify: boolean };
  hosts: HostConfig[];
  vmidRange: { lower: number; upper: number };
  /** VMIDs reserved for template VMs built from cloud images (outside vmidRange). */
  templateVmidRange?: { lower: number; upper: number };
  managedTag: string;
  placement: PlacementStrategy;
  resourcePool?: string;
  /** Static address pools MachineTemplate NICs may name (core/ipam_pool.ts). */
  ipPools?: IpPool[];
  /**
   * Price per vCPU-hour and GiB-hour of each capacity type its hosts use (absent: no classes;
   * a class missing here costs settings.cost).
   */
  capacityTypes?: Record<string, CostModel>;
  /** Host power management (core/host_power.ts); absent: off. */
  hostPower?: HostPowerPolicy;
};

export type CostModel = {
  perVcpuHour: number;
  perGiBHour: number;
  /** What one passed-through GPU (or mediated device) is worth per hour; 0 when absent. */
  perGpuHour?: number;
};

/** Settings that are not per pool. */
export type Settings = {
  cost: CostModel;
  batchIdle: number;
  batchMax: number;
  launchTimeout: number;
  registrationTimeout: number;
  nodeRepairAfter: number;
  /**
   * Above this fraction (0-1) of a pool's nodes NotReady at once, none of them is repaired;
   * absent = 0.2, as Karpenter.
   */
  nodeRepairMaxUnhealthy?: number;
  orphanGracePeriod: number;
  /**
   * An owned VM with a Node but no NodeClaim that cannot be adopted (core/adoption.ts) is kept
   * and reported unless this is true; then the orphan sweep collects it. Absent = false.
   */
  deleteUnadoptableVms?: boolean;
  /**
   * Backoff of launches that retrying cannot heal, and the bound on NodeClaims per pool per
   * hour (core/launch_backoff.ts); absent = DEFAULT_LAUNCH_BACKOFF.
   */
  launchBackoff?: { base: number; max: number; maxClaimsPerHour: number };
  /** Which pods keep a node from voluntary disruption; absent = DEFAULT_SCALE_DOWN_RULES. */
  scaleDownRules?: ScaleDownRules;
};

/**
 * Cluster Autoscaler's rules for pods that would not come back after eviction. Each `true`
 * keeps a node that runs such a pod (unless the pod says
 * `cluster-autoscaler.kubernetes.io/safe-to-evict: "true"`).
 */
export type ScaleDownRules = {
  /** kube-system pods not covered by a PodDisruptionBudget (CA --skip-nodes-with-system-pods). */
  skipNodesWithSystemPods: boolean;
  /** Pods with emptyDir or hostPath data (CA --skip-nodes-with-local-storage). */
  skipNodesWithLocalStorage: boolean;
  /** Pods without a controller, which nothing would recreate (CA: always). */
  skipNodesWithUnmanagedPods: boolean;
};

/** Cluster Autoscaler's defaults: all three kinds of pod keep their node. */
export const DEFAULT_SCALE_DOWN_RULES: ScaleDownRules = {
  skipNodesWithSystemPods: true,
  skipNodesWithLocalStorage: true,
  skipNodesWithUnmanagedPods: true,
};

/** The Redis connection of the job queue (absent: the in-memory queue of one process). */
export type RedisSettings = { url: string; password?: SecretSource | undefined };

/** The whole configuration after validation and normalisation. */
export type Config = {
  providers: Provider[];
  machineTemplates: MachineTemplate[];
  nodePools: NodePool[];
  /** Tenants (absent or empty: no tenancy, every pool open). */
  tenants?: Tenant[];
  settings: Settings;
  /** The job queue's Redis, when the configuration names one (read once, at start). */
  queue?: { redis?: RedisSettings };
};

/** Everything a decision may look at, as plain data. */
export type Snapshot = {
  now: number;
  pods: Pod[];
  nodes: Node[];
  nodeClaims: NodeClaim[];
  hosts: Host[];
  vms: VM[];
  pdbs: PodDisruptionBudget[];
  /** DaemonSet pod templates, for per-node overhead. */
  daemonSets?: Pod[];
  /**
   * Providers whose VMs could not be listed this pass (PVE down): their VMs are unknown, not
   * absent, so nothing is decided from a VM's absence there.
   */
  unavailableProviders?: string[];
  /**
   * MachineTemplate name -> the hosts its Provider says can clone it (template locality: a
   * template on local storage serves only its own host). A template absent here is limited
   * only by its configuration (core/template_locality.ts).
   */
  templateHosts?: Record<string, string[]>;
  /** Namespace -> its labels, for Tenants that select namespaces by label. */
  namespaceLabels?: Record<string, Record<string, string>>;
  /**
   * NodePool name -> its recorded demand (core/forecast_history.ts), the input of predictive
   * scale-up for pools with scaleUp.forecast; absent: no forecast.
   */
  demandHistory?: Record<string, DemandHistory>;
};

/** A decision about one pod that no new VM is planned for, and why. */
export type PodVerdict = { pod: string; reason: Reason };

/** Convenience: namespace/name. */
export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}
