/**
 * The managed inventory the memory probe loads into its fakes: per node a NodeClaim as the
 * daemon leaves it once its node is Ready (status vmid, host, providerID, nodeName and the four
 * True conditions; the template-hash and join-token annotations), the Node its VM registered
 * (kubelet's labels plus the ones registration syncs, providerID, capacity, conditions), the VM
 * itself in the fake PVE (tagged and described as the claim's, as a clone is configured), and
 * pods bound across the nodes. Also the probe's Config: the demo's, sized for the inventory.
 *
 * Runs in the probe's parent process only (its child is the daemon and never loads this).
 *
 * May import: core/, adapters/, daemon/, sim/, harness/ (the fakes are passed in, never imported).
 */
import type { ConditionType, Config, NodeClaim } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { templateHash } from "../core/drift.ts";
import {
  INITIALIZED_LABEL_KEY,
  providerIdFor,
  REGISTERED_LABEL_KEY,
} from "../core/lifecycle_nodes.ts";
import { HOST_LABEL_KEY, NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "../core/labels.ts";
import { conditionsToKube, kubeTime, nodeClaimToKube } from "../adapters/kubernetes/translate.ts";
import { claimDescription, vmName, vmTags } from "../adapters/proxmox/vm_config.ts";
import { TOKEN_ID_ANNOTATION } from "../daemon/bootstrap.ts";
import { shapeOf } from "../sim/policies/default_config.ts";
import { demoConfig } from "./demo_config.ts";

/** VMs per fake PVE host (each host is sized to hold them). */
export const VMS_PER_HOST = 50;
/** First VMID of the managed range. */
export const VMID_BASE = 10_000;
/** Namespaces the pods are spread over. */
const NAMESPACES = 20;
/** The shape every probe node has: 4 vCPU, 8 GiB (30 small pods fit). */
const SHAPE = shapeOf(4, 8);

/** Fake PVE hosts needed for `nodes` VMs. */
export function hostCount(nodes: number): number {
  return Math.max(3, Math.ceil(nodes / VMS_PER_HOST));
}

/** The hosts' names, as the fake PVE names them (pve1..pveN). */
export function hostNames(nodes: number): string[] {
  return Array.from({ length: hostCount(nodes) }, (_, i) => `pve${i + 1}`);
}

/** Where the child's provider connects. */
export type ProbePve = { url: string; tokenId: string; fingerprint: string; nodes: number };

/**
 * The probe's Config: the demo's Provider, MachineTemplate and NodePool, with a VMID range
 * and node limit that hold the inventory (so the core sees a healthy pool, not one over its
 * limit) and one host per 50 VMs.
 */
export function probeConfig(pve: ProbePve): Config {
  const c = demoConfig({ ...pve, hosts: hostNames(pve.nodes) });
  return {
    ...c,
    providers: c.providers.map((p) => ({
      ...p,
      vmidRange: { lower: VMID_BASE, upper: VMID_BASE + 2 * pve.nodes + 999 },
    })),
    nodePools: c.nodePools.map((p) => ({ ...p, limits: { nodes: 2 * pve.nodes } })),
  };
}

/** The parts of the fake API server the filler writes through. */
export type KubeStore = {
  create(ref: string, obj: object, opts?: { namespace?: string }): {
    ok: boolean;
    error?: unknown;
  };
  peek(ref: string, ns: string | undefined, name: string): Record<string, unknown> | undefined;
  updateFrom(
    def: unknown,
    cur: Record<string, unknown>,
    next: Record<string, unknown>,
    opts: { subresource: "status" },
  ): { ok: boolean; error?: unknown };
  resolve(ref: string): unknown;
};

/** The part of the fake PVE model the filler adds VMs with. */
export type PveFixtures = {
  addVm(f: {
    vmid: number;
    node: string;
    name: string;
    config: Record<string, string>;
    disks: { key: string; storage: string; size: number; options?: string }[];
    running: boolean;
    description: string;
  }): number;
};

const must = (r: { ok: boolean; error?: unknown }, what: string) => {
  if (!r.ok) throw new Error(`${what}: ${JSON.stringify(r.error)}`);
};

/** Loads `nodes` claims with their VMs and Nodes, and `pods` pods bound across the nodes. */
export function fillInventory(
  store: KubeStore,
  pve: PveFixtures,
  config: Config,
  nodes: number,
  pods: number,
): void {
  const pool = config.nodePools[0]!;
  const template = config.machineTemplates[0]!;
  const provider = config.providers[0]!;
  const hash = templateHash(pool, template);
  const hosts = hostNames(nodes);
  const launchedAt = Date.now() - 3_600_000;
  const claimRef = "nodeclaims.proxscale.io";
  for (let i = 0; i < nodes; i++) {
    const host = hosts[i % hosts.length]!;
    const vmid = VMID_BASE + i;
    const name = nodeName(i);
    const claim: NodeClaim = {
      name,
      nodePool: pool.name,
      machineTemplate: template.name,
      provider: provider.name,
      shape: SHAPE,
      host,
      createdAt: launchedAt,
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        ...template.labels,
        ...pool.labels,
        [NODEPOOL_LABEL_KEY]: pool.name,
        "topology.kubernetes.io/zone": host,
        [HOST_LABEL_KEY]: host,
        "node.kubernetes.io/instance-type": SHAPE.name,
      },
      taints: [],
      startupTaints: [],
      templateHash: hash,
      conditions: [],
    };
    const providerID = providerIdFor(provider.name, vmid);
    const body = nodeClaimToKube(claim) as { metadata: Record<string, unknown> };
    body.metadata.annotations = {
      ...(body.metadata.annotations as Record<string, string>),
      [TOKEN_ID_ANNOTATION]: `t${(i * 104729).toString(36).padStart(5, "0").slice(-6)}`,
    };
    body.metadata.finalizers = ["proxscale.io/termination"];
    must(store.create(claimRef, body), `NodeClaim ${name}`);
    const at = (s: number) => launchedAt + s * 1000;
    const cur = store.peek(claimRef, undefined, name)!;
    must(
      store.updateFrom(store.resolve(claimRef), cur, {
        ...cur,
        status: {
          vmid,
          host,
          providerID,
          nodeName: name,
          conditions: conditionsToKube([
            cond("Launched", `VM ${vmid} started on ${host}`, at(40)),
            cond("Registered", `node ${name} joined and was synced`, at(75)),
            cond("Initialized", `node ${name} is Ready`, at(80)),
            cond("Ready", `node ${name} is Ready`, at(80)),
          ]),
        },
      }, { subresource: "status" }),
      `NodeClaim ${name} status`,
    );
    must(store.create("nodes", nodeBody(name, providerID, claim, at(70))), `Node ${name}`);
    pve.addVm({
      vmid,
      node: host,
      name: vmName(name),
      running: true,
      description: claimDescription(claim),
      config: {
        tags: vmTags(provider.managedTag, template.tags),
        agent: "1",
        boot: "order=scsi0",
        cores: "4",
        memory: "8192",
        net0: `virtio=BC:24:11:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)},bridge=vmbr0`,
        ostype: "l26",
        scsihw: "virtio-scsi-single",
        ipconfig0: "ip=dhcp",
      },
      disks: [{ key: "scsi0", storage: "local-lvm", size: 16 * GiB, options: "discard=on,ssd=1" }],
    });
  }
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: `team-${n}` } };
    must(store.create("namespaces", ns), `Namespace team-${n}`);
  }
  for (let i = 0; i < pods; i++) {
    must(
      store.create("pods", podBody(i, nodeName(i % nodes)), {
        namespace: `team-${i % NAMESPACES}`,
      }),
      `Pod ${i}`,
    );
  }
}

/** The name of the i-th node (the claim's name, as its VM's kubelet registers it). */
function nodeName(i: number): string {
  return `general-${(i * 7919 % 1_000_003).toString(36).padStart(5, "0")}${i}`;
}

const hex = (n: number) => (n & 255).toString(16).padStart(2, "0").toUpperCase();

function cond(type: ConditionType, message: string, t: number) {
  return { type, status: "True" as const, reason: type, message, lastTransitionTime: t };
}

/** The Node a kubelet registered and registration synced. */
function nodeBody(name: string, providerID: string, claim: NodeClaim, created: number) {
  const capacity = {
    cpu: "4",
    "ephemeral-storage": "16401556Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: "8148692Ki",
    pods: "110",
  };
  const t = kubeTime(created);
  const c = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: t,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        ...claim.labels,
        [NODECLAIM_LABEL_KEY]: claim.name,
        [REGISTERED_LABEL_KEY]: "true",
        // Set by the daemon once the node was Ready without startup taints (MarkInitialized).
        [INITIALIZED_LABEL_KEY]: "true",
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
    },
    spec: { providerID },
    status: {
      capacity,
      allocatable: { ...capacity, cpu: "3900m", memory: "7781076Ki" },
      conditions: [
        c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
        c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID"),
        c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      addresses: [{ type: "Hostname", address: name }],
      nodeInfo: {
        architecture: "amd64",
        containerRuntimeVersion: "containerd://1.7.22",
        kernelVersion: "6.8.0-45-generic",
        kubeProxyVersion: "v1.32.0",
        kubeletVersion: "v1.32.0",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04.1 LTS",
      },
    },
  };
}

/** The i-th pod: one of 50 ReplicaSets' replicas, bound to `node`. */
function podBody(i: number, node: string) {
  const app = `app-${i % 50}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${app}-7d9f8b6c5-${i.toString(36).padStart(5, "0")}`,
      labels: { app, "pod-template-hash": "7d9f8b6c5" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: `${app}-7d9f8b6c5`,
        uid: `u${i % 50}`,
        controller: true,
      }],
    },
    spec: {
      nodeName: node,
      containers: [{
        name: "c",
        image: "app:1",
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
      }],
    },
  };
}
