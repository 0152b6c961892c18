/**
 * The one configuration schema (zod v4). The YAML file, the CRDs' OpenAPI schemas
 * (adapters/kubernetes/crds.ts) and docs/configuration.md are all derived from these objects,
 * so a field exists, is validated and is documented in exactly one place.
 *
 * The schema describes the *written* form (quantities and durations as text); normalize.ts
 * turns a parsed value into core/model.ts types with integers and milliseconds.
 */
import { z } from "zod";
import { MiB, parseQuantity, QUANTITY_PATTERN } from "../../core/quantity.ts";
import { vmOptionsSpec } from "./vm_options_spec.ts";
import { checkIpPool } from "../../core/ipam_pool.ts";

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^(\d+(ms|s|m|h|d))+$/;
const DURATION_OR_NEVER = /^((\d+(ms|s|m|h|d))+|Never)$/;
const quantityRe = new RegExp(QUANTITY_PATTERN);

export const name = z.string().regex(NAME, {
  error:
    "must be a lowercase DNS label (a-z, 0-9 and '-', starting and ending with a letter or digit)",
}).max(63);

/** A Kubernetes quantity, written as text ("4Gi", "500m") or a plain non-negative number. */
export const quantity = z.union([
  z.string().regex(quantityRe, {
    error: "must be a Kubernetes quantity such as 500m, 2, 4Gi or 512Mi",
  })
    .refine((s) => !s.trim().startsWith("-"), { error: "must not be negative" }),
  z.number().nonnegative({ error: "must not be negative" }),
]).describe("Kubernetes quantity, e.g. 500m, 2, 4Gi");

export const duration = z.string().regex(DURATION, {
  error: "must be a duration such as 500ms, 30s, 5m or 1h30m",
}).describe("duration, e.g. 30s, 5m, 1h30m");
export const durationOrNever = z.string().regex(DURATION_OR_NEVER, {
  error: "must be a duration such as 30s, 5m, 720h, or Never",
}).describe("duration, e.g. 30s, 5m, 720h, or Never");

const labels = z.record(z.string(), z.string());
export const taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});
export const requirement = z.strictObject({
  key: z.string().min(1),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]),
  values: z.array(z.string()).optional(),
  minValues: z.int().min(1).max(50).optional(),
}).superRefine((r, ctx) => {
  const n = r.values?.length ?? 0;
  if (r.operator === "In" && n === 0) {
    ctx.addIssue({
      code: "custom",
      message: "operator In needs at least one value",
      path: ["values"],
    });
  }
  if (["Gt", "Lt", "Gte", "Lte"].includes(r.operator)) {
    if (n !== 1 || !/^\d+$/.test(r.values?.[0] ?? "")) {
      ctx.addIssue({
        code: "custom",
        message: `operator ${r.operator} needs exactly one non-negative integer value`,
        path: ["values"],
      });
    }
  }
  if ((r.operator === "Exists" || r.operator === "DoesNotExist") && n > 0) {
    ctx.addIssue({
      code: "custom",
      message: `operator ${r.operator} takes no values`,
      path: ["values"],
    });
  }
  if (r.minValues !== undefined && n < r.minValues) {
    ctx.addIssue({
      code: "custom",
      message: `minValues ${r.minValues} needs at least that many values`,
      path: ["minValues"],
    });
  }
});

export const secretSource = z.union([
  z.strictObject({ file: z.string().min(1).describe("path of a file holding the secret") }),
  z.strictObject({ env: z.string().min(1).describe("environment variable holding the secret") }),
  z.strictObject({
    secret: z.strictObject({
      namespace: z.string().min(1),
      name: z.string().min(1),
      key: z.string().min(1),
    }),
  }),
]).describe(
  "where a secret is read from: a file, an environment variable or a Kubernetes Secret; never inline",
);

const resources = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });

/** TLS trust of an https endpoint: a CA bundle file, a pinned leaf fingerprint, or insecure. */
const tlsTrust = z.strictObject({
  caFile: z.string().optional(),
  fingerprint: z.string().regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, {
    error: "must be a SHA-256 fingerprint as 32 hex pairs joined by ':'",
  }).optional(),
  insecureSkipVerify: z.boolean().default(false),
}).default({ insecureSkipVerify: false });

/** A capacity type's name: a Kubernetes label value. */
const CAPACITY_TYPE_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

export const hostSpec = z.strictObject({
  name: z.string().min(1).describe("Proxmox node name as PVE reports it"),
  zone: z.string().min(1).optional().describe(
    "topology.kubernetes.io/zone of VMs on this host (default: the host name)",
  ),
  cpuOvercommit: z.number().min(1).max(16).default(1).describe("vCPUs allowed per physical core"),
  memoryOvercommit: z.number().min(1).max(4).default(1).describe(
    "guest memory allowed per byte of RAM",
  ),
  reserved: resources.optional().describe("capacity kept free for the host itself"),
  maintenance: z.enum(["cordon", "drain"]).optional().describe(
    "host maintenance: cordon places no new VM on the host; drain also replaces the nodes of " +
      "proxscale's VMs on it (budgets, PDBs and do-not-disrupt respected). On a Provider " +
      "object the annotation host-maintenance.proxscale.io/HOST overrides it",
  ),
  capacityType: z.string().regex(CAPACITY_TYPE_NAME, {
    error: "must be a label value (letters, digits, - _ .)",
  }).optional().describe(
    "the host's capacity type (proxscale.io/capacity-type of its nodes): reserved, standard, " +
      "preemptible or one named in the Provider's capacityTypes (default standard)",
  ),
  bmc: z.strictObject({
    endpoint: z.url({
      protocol: /^https$/,
      error: "must be an https:// URL of the BMC such as https://pve4-bmc.lan",
    }),
    systemId: z.string().min(1).max(128).regex(/^[^/\s]+$/, {
      error: "must be a Redfish ComputerSystem Id (no '/' or spaces)",
    }).describe("the host's ComputerSystem Id (/redfish/v1/Systems/{systemId})"),
    username: secretSource.describe("the BMC user (needs the ComputerSystem.Reset privilege)"),
    password: secretSource,
    tls: tlsTrust,
    bootDelay: duration.default("3m").describe(
      "how long the host takes from power-on until PVE shows it online (weighed in power-on " +
        "decisions)",
    ),
  }).optional().describe(
    "the host's BMC (Redfish): with it and the Provider's hostPower, proxscale powers the host " +
      "on when pending pods need it and off once it ran no VM for hostPower.powerOffAfter",
  ),
});

/** The capacity types every Provider knows without naming them in `capacityTypes`. */
export const BUILTIN_CAPACITY_TYPES = ["reserved", "standard", "preemptible"] as const;

/**
 * A static address pool (IPv4, no DHCP): MachineTemplate NICs name it with `ipPool`, and each
 * NodeClaim gets one address of it per such NIC, held until the claim's VM is destroyed.
 */
export const ipPoolSpec = z.strictObject({
  name: name.describe("what MachineTemplate NICs call the pool (`network[].ipPool`)"),
  cidr: z.string().max(18).describe("the network, e.g. 10.0.20.0/24 (IPv4, prefix /8 to /30)"),
  ranges: z.array(z.string().max(31)).min(1).max(64).optional().describe(
    "addresses handed out, each a single address or FIRST-LAST such as " +
      "10.0.20.100-10.0.20.199; ranges must not overlap (default: every host address of cidr)",
  ),
  reserved: z.array(z.string().max(31)).max(64).optional().describe(
    "addresses never handed out (other machines, VIPs), single or FIRST-LAST",
  ),
  gateway: z.string().max(15).optional().describe(
    "default gateway written into the VM's network configuration; inside cidr, never handed out",
  ),
  dns: z.array(z.string().max(15)).max(8).optional().describe(
    "DNS servers for the NIC (used when bootstrap.nameserver is not set)",
  ),
  searchDomains: z.array(z.string().min(1).max(253)).max(8).optional().describe(
    "DNS search domains (used when bootstrap.searchdomain is not set)",
  ),
}).superRefine((p, ctx) => {
  const checked = checkIpPool(p);
  if (checked.ok) return;
  for (const problem of checked.error) {
    ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
  }
});

/** A Proxmox VE cluster (the default kind). */
export const proxmoxProviderSpec = z.strictObject({
  kind: z.literal("proxmox").optional().describe(
    "provider kind: proxmox (the default) or redfish (bare-metal machines behind BMCs)",
  ),
  endpoint: z.url({
    protocol: /^https$/,
    error: "must be an https:// URL such as https://pve1.lan:8006",
  }),
  tokenId: z.string().regex(/^[^@\s]+@[^!\s]+![^\s]+$/, {
    error: "must be a PVE API token id such as proxscale@pve!autoscaler",
  }),
  tokenSecret: secretSource,
  tls: tlsTrust,
  hosts: z.array(hostSpec).min(1).describe("Proxmox nodes proxscale may place VMs on"),
  vmidRange: z.strictObject({
    lower: z.int().min(100).max(999_999_999),
    upper: z.int().min(100).max(999_999_999),
  }).refine((r) => r.lower <= r.upper, { error: "lower must not exceed upper" }),
  managedTag: z.string().regex(/^[a-z0-9_][a-z0-9_.+-]*$/, {
    error: "must be a PVE tag (lowercase letters, digits, _ . + -)",
  }).default("proxscale"),
  placement: z.enum(["leastAllocated", "mostAllocated", "spread"]).default("leastAllocated"),
  resourcePool: z.string().optional(),
  templateVmidRange: z.strictObject({
    lower: z.int().min(100).max(999_999_999),
    upper: z.int().min(100).max(999_999_999),
  }).refine((r) => r.lower <= r.upper, { error: "lower must not exceed upper" }).optional()
    .describe(
      "VMIDs reserved for the template VMs proxscale builds from cloud images " +
        "(`source.image`); must not overlap vmidRange, so a template is never taken for a node VM",
    ),
  ipPools: z.array(ipPoolSpec).max(64).optional().describe(
    "static address pools MachineTemplate NICs of this Provider take addresses from " +
      "(`network[].ipPool`); addresses foreign VMs use (their ipconfig) are never handed out",
  ),
  hostPower: z.strictObject({
    powerOffAfter: duration.default("30m").describe(
      "a host with a bmc that ran no VM at all (foreign ones included) for this long is " +
        "powered off",
    ),
    minOnlineHosts: z.int().min(1).max(1000).default(2).describe(
      "never fewer PVE hosts online than this (quorum is kept in any case)",
    ),
  }).optional().describe(
    "power hosts with a `bmc` on and off with demand (absent: proxscale never powers a host)",
  ),
  capacityTypes: z.record(
    z.string().regex(CAPACITY_TYPE_NAME, {
      error: "must be a label value (letters, digits, - _ .)",
    }),
    z.strictObject({
      perVcpuHour: z.number().nonnegative(),
      perGiBHour: z.number().nonnegative(),
      perGpuHour: z.number().nonnegative().optional(),
    }),
  ).optional().describe(
    "price per vCPU-hour and GiB-hour of each capacity type of the hosts (a type not listed " +
      "costs settings.cost); when several types are allowed, placement takes the cheapest with room",
  ),
}).superRefine((p, ctx) => {
  p.hosts.forEach((h, i) => {
    const t = h.capacityType;
    if (t === undefined) return;
    if ((BUILTIN_CAPACITY_TYPES as readonly string[]).includes(t)) return;
    if (p.capacityTypes?.[t] !== undefined) return;
    ctx.addIssue({
      code: "custom",
      message: `unknown capacity type '${t}': not reserved, standard or preemptible, and not ` +
        `in capacityTypes`,
      path: ["hosts", i, "capacityType"],
    });
  });
});

/** One bare-metal server behind a Redfish BMC. */
export const redfishMachineSpec = z.strictObject({
  name: name.describe("the machine's name in proxscale (the host its NodeClaim names)"),
  zone: z.string().min(1).optional().describe("topology zone of the machine (default: its name)"),
  endpoint: z.url({
    protocol: /^https$/,
    error: "must be an https:// URL such as https://bmc-r1-07.lan",
  }).describe("the BMC's Redfish service (https://host[:port])"),
  systemId: z.string().min(1).max(128).describe(
    "Id or UUID of the ComputerSystem on that BMC (e.g. System.Embedded.1)",
  ),
  username: z.string().min(1).max(128).describe("BMC account (Operator privileges suffice)"),
  password: secretSource,
  tls: tlsTrust,
});

/** Bare-metal machines over Redfish. */
export const redfishProviderSpec = z.strictObject({
  kind: z.literal("redfish"),
  machines: z.array(redfishMachineSpec).min(1).max(100).describe(
    "the servers proxscale may power on as nodes; each one is one node of exactly its size",
  ),
  seedServer: z.strictObject({
    listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, {
      error: "must be host:port such as 0.0.0.0:8450",
    }).default("0.0.0.0:8450").describe("address the seed HTTPS server listens on"),
    url: z.url({ protocol: /^https$/, error: "must be an https:// URL the BMCs can reach" })
      .describe("origin the BMCs fetch seed ISOs from, e.g. https://proxscale.lan:8450"),
    certFile: z.string().min(1).describe("PEM certificate of the seed server"),
    keyFile: z.string().min(1).describe("PEM private key of the seed server"),
    ttlSeconds: z.int().min(30).max(86_400).default(600).describe(
      "how long a one-time seed URL stays valid",
    ),
  }).describe(
    "the HTTPS server that hands each launch's NoCloud seed ISO to the BMC on a one-time URL",
  ),
}).superRefine((p, ctx) => {
  const seen = new Set<string>();
  p.machines.forEach((m, i) => {
    if (seen.has(m.name)) {
      ctx.addIssue({
        code: "custom",
        message: "a machine is listed twice",
        path: ["machines", i, "name"],
      });
    }
    seen.add(m.name);
  });
});

/**
 * A Provider: `kind` picks the variant (absent: proxmox), and each variant validates its own
 * fields, so a Redfish provider cannot carry a PVE token and a Proxmox one cannot list machines.
 */
export const providerSpec = z.discriminatedUnion("kind", [
  proxmoxProviderSpec,
  redfishProviderSpec,
]);

/** A PVE configuration id (a resource mapping's name, an mdev type). */
const PVE_ID = /^[a-zA-Z][a-zA-Z0-9_-]*$/;

/**
 * The GPUs (PCI passthrough devices) a VM of a shape gets: `count` devices of the PVE PCI
 * resource mapping named, or of any mapping whose devices' model name contains `model`, each
 * whole or as one mediated device (vGPU) of type `mdev`. Each becomes one
 * `hostpciN: mapping=NAME[,pcie=1][,mdev=TYPE]` line of the VM's config.
 */
export const gpuSpec = z.strictObject({
  count: z.int().min(1, { error: "count must be at least 1" }).max(16).describe(
    "devices per VM (each one hostpciN line; PVE allows hostpci0 to hostpci15)",
  ),
  mapping: z.string().regex(PVE_ID, {
    error: "must be a PVE resource mapping id such as gpu or a100",
  }).optional().describe("PVE PCI resource mapping (Datacenter > Resource Mappings) to take from"),
  model: z.string().min(1).optional().describe(
    "device model the host reports (lspci name, matched case-insensitively as a substring, " +
      "e.g. A100 or T4): any mapping with such devices serves",
  ),
  mdev: z.string().regex(PVE_ID, { error: "must be an mdev type such as nvidia-222" })
    .optional().describe("mediated device (vGPU) type; absent: whole devices"),
}).refine((g) => g.mapping !== undefined || g.model !== undefined, {
  error: "gpus needs a mapping or a model",
});

export const shapeSpec = z.strictObject({
  cpu: quantity.describe("vCPUs of the VM (cores), e.g. 2"),
  memory: quantity.describe("guest memory, e.g. 4Gi"),
  gpus: gpuSpec.optional().describe(
    "GPUs passed through to every VM of this shape (written as hostpciN: mapping=NAME lines)",
  ),
});

/** How a template's GPU shapes reach pods (device plugin resource, time-slicing, PCIe). */
export const templateGpuSpec = z.strictObject({
  resourceName: z.string().regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    {
      error: "must be an extended resource name such as nvidia.com/gpu",
    },
  ).default("nvidia.com/gpu").describe("extended resource the device plugin advertises"),
  replicas: z.int().min(1).max(64).default(1).describe(
    "pods sharing one GPU by time-slicing: the node advertises count x replicas (above 1 the " +
      "seed writes the NVIDIA device plugin's time-slicing config)",
  ),
  pcie: z.boolean().default(true).describe(
    "pass devices as PCIe (hostpciN ...,pcie=1), which needs and sets machine: q35",
  ),
});

const rangeSpec = z.strictObject({ min: quantity, max: quantity, step: quantity.optional() });

export const diskSpec = z.strictObject({
  slot: z.string().regex(/^(scsi|virtio|sata|ide)\d+$/, {
    error: "must be a disk slot such as scsi0 or virtio1",
  }),
  storage: z.string().min(1),
  size: quantity,
  discard: z.boolean().optional(),
  ssd: z.boolean().optional(),
  iothread: z.boolean().optional(),
  serial: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/).optional(),
  cache: z.enum(["none", "writeback", "writethrough", "directsync", "unsafe"]).optional(),
  format: z.enum(["raw", "qcow2", "vmdk"]).optional(),
}).superRefine((d, ctx) => {
  // PVE's virtio drive format has no `ssd`; only scsi and virtio drives take `iothread`.
  if (d.ssd !== undefined && d.slot.startsWith("virtio")) {
    ctx.addIssue({
      code: "custom",
      message: "ssd is not available on virtio disks",
      path: ["ssd"],
    });
  }
  if (d.iothread !== undefined && /^(sata|ide)/.test(d.slot)) {
    ctx.addIssue({
      code: "custom",
      message: "iothread is only available on scsi and virtio disks",
      path: ["iothread"],
    });
  }
});

export const networkSpec = z.strictObject({
  slot: z.string().regex(/^net\d+$/, { error: "must be a network slot such as net0" }).default(
    "net0",
  ),
  model: z.enum(["virtio", "e1000", "vmxnet3", "rtl8139"]).default("virtio"),
  bridge: z.string().min(1),
  vlan: z.int().min(1).max(4094).optional(),
  firewall: z.boolean().optional(),
  mtu: z.int().min(576).max(65520).optional(),
  queues: z.int().min(0).max(64).optional().describe("packet queues (multiqueue), 0 to 64"),
  ipconfig: z.string().optional().describe("cloud-init ipconfig, e.g. ip=dhcp"),
  ipPool: name.optional().describe(
    "IP pool of the template's Provider this NIC takes a static address from (replaces ipconfig)",
  ),
});

export const bootstrapSpec = z.strictObject({
  mode: z.enum(["nocloudIso", "pveCloudInit", "none"]).default("nocloudIso"),
  template: z.enum(["kubeadm", "k3s", "talos"]).optional().describe("shipped user-data template"),
  userData: z.string().optional().describe("inline user-data template (overrides `template`)"),
  isoStorage: z.string().optional().describe("storage with content type iso for the NoCloud ISO"),
  cicustom: z.string().optional().describe(
    "pveCloudInit: snippet reference such as user=local:snippets/join.yaml",
  ),
  sshKeys: z.array(z.string()).optional(),
  nameserver: z.string().optional(),
  searchdomain: z.string().optional(),
  ciuser: z.string().optional(),
  clusterServer: z.string().optional().describe("API server host:port the node joins"),
  caCertHashFrom: z.string().optional().describe(
    "path of the cluster CA certificate (for the kubeadm CA hash)",
  ),
  secretRef: z.strictObject({ namespace: z.string(), name: z.string() }).optional(),
}).default({ mode: "nocloudIso" });

/** A template built from a cloud image (see the "Templates from cloud images" section). */
export const imageSourceSpec = z.strictObject({
  url: z.url({
    protocol: /^(https?|ftp)$/,
    error: "must be an http(s):// or ftp:// URL of a cloud image (qcow2, raw, img, vmdk)",
  }).describe("cloud image PVE downloads (download-url, content import)"),
  checksum: z.strictObject({
    algorithm: z.enum(["sha256", "sha512"]).describe(
      "checksum PVE verifies after the download",
    ),
    value: z.string().regex(/^[0-9a-fA-F]+$/, { error: "must be a hex digest" }),
  }).superRefine((c, ctx) => {
    const want = c.algorithm === "sha256" ? 64 : 128;
    if (c.value.length !== want) {
      ctx.addIssue({
        code: "custom",
        message: `a ${c.algorithm} digest has ${want} hex digits, got ${c.value.length}`,
        path: ["value"],
      });
    }
  }),
  storage: z.string().min(1).describe("storage of the template VM's disk (content images)"),
  importStorage: z.string().min(1).default("local").describe(
    "file-based storage with content type import the image is downloaded to",
  ),
  perHost: z.array(z.string().min(1)).min(1).optional().describe(
    "hosts to build a template on (default: every Provider host, or once when `storage` " +
      "is shared); VMs of this template are placed on these hosts only",
  ),
  full: z.boolean().default(true).describe("full clones of the template (else linked)"),
});

export const sourceSpec = z.union([
  z.strictObject({
    clone: z.strictObject({
      templateVmid: z.int().min(100).optional(),
      perHost: z.record(z.string(), z.int().min(100)).optional(),
      full: z.boolean().default(true),
      storage: z.string().optional(),
    }).refine((c) => c.templateVmid !== undefined || c.perHost !== undefined, {
      error: "clone needs templateVmid or perHost",
    }),
  }),
  z.strictObject({ image: imageSourceSpec }),
  z.strictObject({
    scratch: z.strictObject({
      options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({})
        .describe(
          "raw PVE create parameters for VMs made from scratch (ostype, scsihw, boot...), sent " +
            "as written; prefer the checked `vm` block, which also applies to clones and wins " +
            "on a key both set",
        ),
    }),
  }),
]);

export const machineTemplateSpec = z.strictObject({
  provider: name.describe("Provider this template creates VMs on"),
  shapes: z.array(shapeSpec).optional().describe("allowed VM sizes"),
  flexible: z.strictObject({ cpu: rangeSpec, memory: rangeSpec }).optional()
    .describe("size VMs to their pods within these bounds"),
  vmMemOverheadMiB: z.int().min(0).default(256)
    .describe(
      "host memory a VM costs beyond its guest memory (QEMU), counted in limits and host capacity",
    ),
  reserved: resources.optional().describe(
    "kubelet + system reservations subtracted from the shape",
  ),
  evictionHard: z.strictObject({
    memory: quantity.optional().describe(
      "the kubelet's evictionHard memory.available threshold (default 100Mi, the kubelet's own)",
    ),
  }).optional().describe(
    "the kubelet's hard eviction thresholds: memory it keeps free on top of reserved, so not " +
      "allocatable to pods either",
  ),
  maxPods: z.int().min(1).max(1000).default(110),
  extendedResources: z.record(z.string().min(1), quantity).optional().describe(
    "resources besides cpu and memory each VM offers to pods, by Kubernetes name " +
      "(nvidia.com/gpu: 1 with a passed-through device, hugepages-2Mi, ephemeral-storage); " +
      "a pod asking for one no template offers gets no VM",
  ),
  gpu: templateGpuSpec.optional().describe(
    "how the GPUs of GPU shapes reach pods (default: nvidia.com/gpu, one pod per GPU, PCIe)",
  ),
  source: sourceSpec.optional().describe(
    "how VMs are made (clone, image or scratch): required on a Proxmox Provider, refused on a " +
      "Redfish one (bare metal is used as it is)",
  ),
  vm: vmOptionsSpec.optional().describe(
    "VM settings written into every VM, made from scratch or cloned (on a clone they replace " +
      "the template VM's values)",
  ),
  disks: z.array(diskSpec).default([]),
  network: z.array(networkSpec).default([]),
  bootstrap: bootstrapSpec,
  labels: labels.default({}),
  annotations: labels.default({}),
  taints: z.array(taint).default([]),
  startupTaints: z.array(taint).default([]),
  tags: z.array(z.string()).default([]),
  resourcePool: z.string().optional(),
}).superRefine((t, ctx) => {
  // One refinement for the whole object: the CRD generator keys CEL rules by schema identity.
  if ((t.shapes?.length ?? 0) === 0 && t.flexible === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "needs at least one entry in shapes or a flexible range",
    });
  }
  // Rules across fields: PVE sets cores per socket, and refuses a balloon above the memory.
  // Quantities another rule already refused count as absent here.
  const q = (v: string | number | undefined, scale: 1 | 1000) => {
    const r = v === undefined ? undefined : parseQuantity(v, scale);
    return r?.ok ? [r.value] : [];
  };
  const cpus = (t.shapes ?? []).flatMap((s) => q(s.cpu, 1000));
  const mems = (t.shapes ?? []).flatMap((s) => q(s.memory, 1));
  if (t.flexible) {
    cpus.push(...q(t.flexible.cpu.min, 1000), ...q(t.flexible.cpu.step ?? 1, 1000));
    mems.push(...q(t.flexible.memory.min, 1));
  }
  const sockets = t.vm?.sockets ?? 1;
  if (cpus.some((c) => Math.max(1, Math.ceil(c / 1000)) % sockets !== 0)) {
    ctx.addIssue({
      code: "custom",
      message:
        `every shape's vCPUs (and a flexible min and step) must be a multiple of sockets (${sockets})`,
      path: ["vm", "sockets"],
    });
  }
  const balloon = t.vm?.balloonMiB;
  if (balloon !== undefined && mems.some((m) => balloon * MiB > m)) {
    ctx.addIssue({
      code: "custom",
      message: "balloon value too large (must be smaller than assigned memory)",
      path: ["vm", "balloonMiB"],
    });
  }
});

export const budgetSpec = z.strictObject({
  nodes: z.string().regex(/^((100|[0-9]{1,2})%|[0-9]+)$/, {
    error: "must be a count such as 3 or a percentage such as 10%",
  }),
  reasons: z.array(z.enum(["Empty", "Underutilized", "Drifted", "Expired"])).optional(),
  schedule: z.string().regex(
    /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/,
    {
      error: "must be a cron expression with five fields or a macro such as @daily",
    },
  ).optional(),
  duration: duration.optional(),
}).refine((b) => (b.schedule === undefined) === (b.duration === undefined), {
  error: "schedule and duration go together",
});

/** How a pool consolidates: only empty nodes, any saving move, or moves that save enough. */
export const consolidationPolicy = z.enum(["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"]);
/** A pool's disruption budgets (at most 50). */
export const disruptionBudgets = z.array(budgetSpec).max(50);

/** A NodePool's disruption settings (consolidation policy, timers, budgets). */
export const disruptionSpec = z.strictObject({
  consolidationPolicy: consolidationPolicy.default("WhenEmptyOrUnderutilized").describe(
    "WhenEmpty: only empty nodes; WhenEmptyOrUnderutilized: any move that saves; Balanced: " +
      "a move must save enough for the pods it disrupts (see consolidationThreshold)",
  ),
  consolidationThreshold: z.number().positive().optional().describe(
    "Balanced only: a move passes when its share of the pool's cost saved, divided by its " +
      "share of the pool's disruption cost, is at least 1/consolidationThreshold (default 2)",
  ),
  consolidateAfter: durationOrNever.default("0s"),
  expireAfter: durationOrNever.default("720h"),
  terminationGracePeriod: duration.optional(),
  minSavingsFraction: z.number().min(0).max(1).optional().describe(
    "least fraction of a node's cost a replacement must save before consolidation " +
      "replaces it (0 to 1; default 0: any saving); removals without replacement are not affected; " +
      "0.5 is recommended for GPU pools (docs/simulation.md)",
  ),
  preferOffPreemptible: z.boolean().optional().describe(
    "consolidation looks at this pool's nodes on preemptible hosts (capacity type " +
      "preemptible) first, so their pods move to hosts that are not reclaimed (default false)",
  ),
  budgets: disruptionBudgets.default([{ nodes: "10%" }]),
  drainTimeoutAction: z.enum(["uncordon", "force"]).default("uncordon"),
}).refine(
  (d) => d.consolidationThreshold === undefined || d.consolidationPolicy === "Balanced",
  { error: "consolidationThreshold needs consolidationPolicy: Balanced" },
);
/** Which tenant owns a NodePool and whether other tenants may use it (absent: an open pool). */
export const poolTenancySpec = z.strictObject({
  tenant: name.describe(
    "the Tenant that owns the pool; its nodes carry that tenant's label and taint",
  ),
  shared: z.boolean().default(false).describe(
    "the owner shares the pool with the tenants its Tenant lists under sharing.tenants; the " +
      "nodes then carry proxscale.io/tenant-shared instead of proxscale.io/tenant",
  ),
});

/** A NodePool's weight: higher weights are tried first (1 to 100). */
export const poolWeight = z.int().min(1).max(100);

/**
 * What a tenant's pools take when they do not set it themselves (the pool's own value wins;
 * then the global defaults apply). Merged into the pools by tenant_defaults.ts.
 */
export const tenantDefaultsSpec = z.strictObject({
  machineTemplate: name.optional().describe(
    "MachineTemplate of the tenant's pools that name none",
  ),
  weight: poolWeight.optional().describe("weight of the tenant's pools that set none"),
  disruption: z.strictObject({
    budgets: disruptionBudgets.optional().describe(
      "disruption budgets of the tenant's pools that set none",
    ),
    consolidationPolicy: consolidationPolicy.optional().describe(
      "consolidation policy of the tenant's pools that set none",
    ),
    consolidateAfter: durationOrNever.optional().describe(
      "consolidateAfter of the tenant's pools that set none",
    ),
  }).optional(),
});

/** A tenant: namespaces, quotas across all its pools, and whom it shares its shared pools with. */
export const tenantSpec = z.strictObject({
  namespaces: z.array(name).max(1000).refine(
    (ns) => new Set(ns).size === ns.length,
    { error: "a namespace is listed twice" },
  ).default([]).describe(
    "the namespaces whose pods belong to the tenant (a namespace belongs to at most one tenant)",
  ),
  namespaceSelector: z.strictObject({
    matchLabels: labels.describe("labels a namespace must all carry"),
  }).refine((s) => Object.keys(s.matchLabels).length > 0, {
    error: "matchLabels must name at least one label",
  }).optional().describe(
    "namespaces whose labels match also belong to the tenant (after every tenant's list)",
  ),
  quota: z.strictObject({
    cpu: quantity.optional().describe("most vCPUs of all the tenant's pools' VMs"),
    memory: quantity.optional().describe(
      "most host memory of all the tenant's pools' VMs (VM overhead counted)",
    ),
    gpus: z.int().min(0).optional().describe("most passthrough GPUs of the tenant's VMs"),
    nodes: z.int().min(0).optional().describe("most VMs of all the tenant's pools"),
    costPerHour: z.number().nonnegative().optional().describe(
      "most cost per hour of the tenant's VMs, priced as settings.cost and capacity types say",
    ),
  }).default({}),
  sharing: z.strictObject({
    tenants: z.array(name).max(100).default([]).describe(
      "tenants whose pods may use this tenant's shared pools (tenancy.shared: true)",
    ),
  }).default({ tenants: [] }),
  defaults: tenantDefaultsSpec.optional().describe(
    "template, weight and disruption settings of the tenant's pools that do not set them",
  ),
});

export const nodePoolSpec = z.strictObject({
  machineTemplate: name.optional().describe(
    "MachineTemplate the pool's VMs are made from (absent: its Tenant's defaults.machineTemplate)",
  ),
  weight: poolWeight.default(10),
  requirements: z.array(requirement).max(100).default([]),
  labels: labels.default({}),
  annotations: labels.default({}),
  taints: z.array(taint).default([]),
  startupTaints: z.array(taint).default([]),
  limits: z.strictObject({
    cpu: quantity.optional(),
    memory: quantity.optional(),
    nodes: z.int().min(0).optional(),
    gpus: z.int().min(0).optional().describe("most GPUs (passthrough devices) of the pool's VMs"),
  })
    .default({}),
  minNodes: z.int().min(0).default(0),
  paused: z.boolean().optional().describe(
    "a paused pool gets no new node (minNodes included) and none of its nodes is disrupted; " +
      "launches already under way finish (proxscale pool pause|resume)",
  ),
  tenancy: poolTenancySpec.optional().describe(
    "owner and sharing of the pool (absent: open to every namespace's pods)",
  ),
  storageReplicated: z.boolean().optional().describe(
    "the pool's nodes use replicated storage, so consolidation may move a pod bound to a " +
      "local volume (default false: such a pod keeps its node)",
  ),
  scaleUp: z.strictObject({
    batchSize: z.int().min(1).default(10).describe(
      "most NodeClaims one decision opens for this pool",
    ),
    stabilizationWindow: duration.default("0s").describe(
      "how long a pod must stay pending before it counts",
    ),
    maxConcurrent: z.int().min(1).default(10).describe(
      "most launches of this pool in flight at once",
    ),
    forecast: z.strictObject({
      enabled: z.boolean().default(false).describe(
        "launch nodes ahead of the demand the pool's seasonal model predicts from its history",
      ),
      maxNodes: z.int().min(1).default(3).describe(
        "most forecast (pre-launched) NodeClaims of the pool inside their window at once",
      ),
      maxError: z.number().min(0).max(10).default(0.2).describe(
        "the model's error over the last day (mean absolute error over the demand's own mean " +
          "deviation) above which the forecast switches itself off",
      ),
      horizon: duration.optional().describe(
        "how far ahead to predict (default: the pool's measured boot delay plus settings.batchMax)",
      ),
    }).optional().describe("predictive scale-up (opt-in; off by default)"),
  }).default({ batchSize: 10, stabilizationWindow: "0s", maxConcurrent: 10 }),
  scaleDown: z.strictObject({
    maxConcurrent: z.int().min(1).default(1),
    drainTimeout: duration.default("10m"),
    stabilizationWindow: duration.default("10m").describe(
      "how long a node must stay unneeded before removal",
    ),
  }).default({ maxConcurrent: 1, drainTimeout: "10m", stabilizationWindow: "10m" }),
  disruption: disruptionSpec.default({
    consolidationPolicy: "WhenEmptyOrUnderutilized",
    consolidateAfter: "0s",
    expireAfter: "720h",
    budgets: [{ nodes: "10%" }],
    drainTimeoutAction: "uncordon",
  }),
});

const SCALE_DOWN_RULES_DEFAULT = {
  skipNodesWithSystemPods: true,
  skipNodesWithLocalStorage: true,
  skipNodesWithUnmanagedPods: true,
};

/** Cluster Autoscaler's rules for pods that keep their node; each can be turned off. */
export const scaleDownRulesSpec = z.strictObject({
  skipNodesWithSystemPods: z.boolean().default(true).describe(
    "keep nodes running kube-system pods that no PodDisruptionBudget covers",
  ),
  skipNodesWithLocalStorage: z.boolean().default(true).describe(
    "keep nodes running pods with emptyDir or hostPath data",
  ),
  skipNodesWithUnmanagedPods: z.boolean().default(true).describe(
    "keep nodes running pods without a controller",
  ),
}).default(SCALE_DOWN_RULES_DEFAULT).describe(
  'pods that keep their node from voluntary disruption unless annotated cluster-autoscaler.kubernetes.io/safe-to-evict: "true"',
);

export const settingsSpec = z.strictObject({
  cost: z.strictObject({
    perVcpuHour: z.number().nonnegative().default(0.02),
    perGiBHour: z.number().nonnegative().default(0.0025),
    perGpuHour: z.number().nonnegative().optional().describe(
      "what one passed-through GPU (or mediated device) costs per hour (default 0)",
    ),
  }).default({ perVcpuHour: 0.02, perGiBHour: 0.0025 }),
  batchIdle: duration.default("1s"),
  batchMax: duration.default("10s"),
  launchTimeout: duration.default("10m"),
  registrationTimeout: duration.default("15m"),
  nodeRepairAfter: duration.default("10m"),
  nodeRepairMaxUnhealthy: z.number().min(0).max(1).default(0.2).describe(
    "above this fraction of a NodePool's nodes NotReady at once, node repair pauses in that " +
      "pool (an outage, not bad nodes) and a Warning Event on the NodePool says so",
  ),
  orphanGracePeriod: duration.default("5m"),
  deleteUnadoptableVms: z.boolean().optional().describe(
    "an owned VM that runs a Node but has no NodeClaim, and whose claim cannot be rebuilt " +
      "(node NotReady, pool gone), is kept and reported (OrphanVMKept) unless this is true; " +
      "then it is deleted after orphanGracePeriod (default false)",
  ),
  launchBackoff: z.strictObject({
    base: duration.default("5s").describe(
      "pause after a launch failure that retrying cannot heal (bad template, unreadable CA, " +
        "4xx or privilege error from PVE); it doubles with each failure of the same cause",
    ),
    max: duration.default("10m").describe("longest pause between such launches"),
    maxClaimsPerPoolPerHour: z.int().min(1).default(100).describe(
      "NodeClaims a NodePool may create in any hour, whatever happens to them",
    ),
  }).default({ base: "5s", max: "10m", maxClaimsPerPoolPerHour: 100 }).describe(
    "a NodePool whose launches fail for a reason retrying cannot heal gets no new NodeClaim " +
      "until its backoff ends (reset on success or when the configuration changes); a " +
      "LaunchFailing condition and a Warning Event on the NodePool say why",
  ),
  scaleDownRules: scaleDownRulesSpec,
}).default({
  cost: { perVcpuHour: 0.02, perGiBHour: 0.0025 },
  batchIdle: "1s",
  batchMax: "10s",
  launchTimeout: "10m",
  registrationTimeout: "15m",
  nodeRepairAfter: "10m",
  nodeRepairMaxUnhealthy: 0.2,
  orphanGracePeriod: "5m",
  launchBackoff: { base: "5s", max: "10m", maxClaimsPerPoolPerHour: 100 },
  scaleDownRules: SCALE_DOWN_RULES_DEFAULT,
});

const named = <T extends z.ZodType>(spec: T) => z.strictObject({ name, spec });

/** The YAML file: lists of named objects, the same specs the CRDs carry. */
export const configFile = z.strictObject({
  apiVersion: z.literal("proxscale.io/v1alpha1").default("proxscale.io/v1alpha1"),
  providers: z.array(named(providerSpec)).min(1),
  machineTemplates: z.array(named(machineTemplateSpec)).min(1),
  nodePools: z.array(named(nodePoolSpec)).min(1),
  tenants: z.array(named(tenantSpec)).optional(),
  settings: settingsSpec,
  queue: z.strictObject({
    redis: z.strictObject({
      url: z.string().regex(/^rediss?:\/\//, { error: "must be a redis:// or rediss:// URL" }),
      password: secretSource.optional(),
    }).optional(),
  }).optional(),
});

export type ConfigFile = z.infer<typeof configFile>;
export type ConfigFileInput = z.input<typeof configFile>;
export type ProviderSpec = z.infer<typeof providerSpec>;
export type ProxmoxProviderSpec = z.infer<typeof proxmoxProviderSpec>;
export type RedfishProviderSpec = z.infer<typeof redfishProviderSpec>;
export type MachineTemplateSpec = z.infer<typeof machineTemplateSpec>;
export type NodePoolSpec = z.infer<typeof nodePoolSpec>;
export type TenantSpec = z.infer<typeof tenantSpec>;

// ---- Kubernetes-only objects: status blocks and NodeClaim (added for adapters/kubernetes). ----

/** metav1.Condition as written in status blocks. */
export const condition = z.strictObject({
  type: z.string().min(1).max(316),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.string().describe("RFC 3339 time of the last status change"),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});

/** Status shared by the configuration kinds: what the controller last saw of the spec. */
export const configStatus = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  conditions: z.array(condition).optional(),
});

/** NodePool status: provisioned totals, so `kubectl get nodepools` shows usage next to limits. */
export const nodePoolStatus = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  nodes: z.int().min(0).optional().describe("NodeClaims of this pool that are not being deleted"),
  resources: z.strictObject({
    cpu: quantity.optional(),
    memory: quantity.optional(),
    nodes: z.int().min(0).optional(),
  }).optional().describe("provisioned totals, VM memory overhead included"),
  conditions: z.array(condition).optional(),
});

/** NodeClaim spec: one VM proxscale decided to own; immutable once created. */
export const nodeClaimSpec = z.strictObject({
  nodePool: name.describe("NodePool this claim counts against"),
  machineTemplate: name.describe("MachineTemplate the VM is made from"),
  provider: name.describe("Provider (Proxmox VE cluster) the VM lives on"),
  shape: z.strictObject({
    name: z.string().min(1),
    cpu: quantity,
    memory: quantity,
    gpus: gpuSpec.optional(),
  }).describe("the VM size chosen at decision time"),
  host: z.string().min(1).optional().describe("Proxmox host chosen by placement"),
  requirements: z.array(requirement).max(100).default([]),
  taints: z.array(taint).default([]),
  startupTaints: z.array(taint).default([]),
  expireAfter: durationOrNever.optional(),
  terminationGracePeriod: duration.optional(),
});

/** NodeClaim status: progress reported by the launch workers and the lifecycle controller. */
export const nodeClaimStatus = z.strictObject({
  vmid: z.int().min(100).max(999_999_999).optional(),
  host: z.string().optional(),
  providerID: z.string().optional(),
  nodeName: z.string().optional(),
  imageID: z.string().optional(),
  capacity: z.record(z.string(), quantity).optional(),
  allocatable: z.record(z.string(), quantity).optional(),
  lastPodEventTime: z.string().optional(),
  conditions: z.array(condition).optional(),
  addresses: z.array(z.strictObject({
    slot: z.string().min(1),
    pool: z.string().min(1),
    address: z.string().min(1),
  })).optional().describe(
    "static addresses from IP pools, one per pooled NIC; recorded before the VM is made and " +
      "held until the claim is gone",
  ),
});

export type NodeClaimSpec = z.infer<typeof nodeClaimSpec>;
export type NodeClaimStatus = z.infer<typeof nodeClaimStatus>;
export type ConditionSpec = z.infer<typeof condition>;
