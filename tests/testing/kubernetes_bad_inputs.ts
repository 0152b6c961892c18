/**
 * One table of inputs the YAML validation rejects. tests/kubernetes_crds_test.ts checks the CRD
 * schemas (structural validator evaluating the CEL rule text) and the CRD config loader reject
 * each one; tests/kubernetes_crd_fake_test.ts checks the fake API server rejects them once the
 * CRDs are applied, with the CEL rule's own message where a rule is what refuses them.
 * `crossObject` entries reference other objects, which only the loader can judge.
 */
export type Kind = "Provider" | "MachineTemplate" | "NodePool" | "Tenant";

/** The config file's list of each kind. */
export const LIST_OF: Record<Kind, string> = {
  Provider: "providers",
  MachineTemplate: "machineTemplates",
  NodePool: "nodePools",
  Tenant: "tenants",
};

/**
 * The spec a bad input of `kind` mutates in a parsed example configuration: its first object of
 * that kind (the example has no Tenant, so one is added for Tenant inputs).
 */
export function specToMutate(doc: Record<string, Spec[]>, kind: Kind): Spec {
  const list = LIST_OF[kind];
  if (kind === "Tenant" && !doc[list]?.length) {
    doc[list] = [{ name: "team-a", spec: { namespaces: ["a"] } }];
  }
  return doc[list]![0].spec;
}
// deno-lint-ignore no-explicit-any
type Spec = any;
/** `celMessage`: the message of the CRD's CEL rule that refuses the input (none when an
 * OpenAPI check such as a pattern or an enum refuses it first). */
export type Bad = {
  name: string;
  kind: Kind;
  mutate: (s: Spec) => void;
  crossObject?: true;
  celMessage?: string;
};

/** Inputs the YAML validation rejects; every one must also be rejected from CRDs. */
export const BAD_INPUTS: Bad[] = [
  {
    name: "endpoint over http",
    kind: "Provider",
    mutate: (s) => (s.endpoint = "http://pve:8006"),
    celMessage: "must be an https:// URL such as https://pve1.lan:8006",
  },
  {
    name: "endpoint not a URL",
    kind: "Provider",
    mutate: (s) => (s.endpoint = "pve1"),
    celMessage: "must be an https:// URL such as https://pve1.lan:8006",
  },
  { name: "tokenId without realm", kind: "Provider", mutate: (s) => (s.tokenId = "proxscale") },
  {
    name: "vmidRange lower above upper",
    kind: "Provider",
    mutate: (s) => (s.vmidRange = { lower: 9500, upper: 9000 }),
    celMessage: "lower must not exceed upper",
  },
  { name: "vmid below 100", kind: "Provider", mutate: (s) => (s.vmidRange.lower = 99) },
  {
    name: "IP pool whose cidr is not a CIDR",
    kind: "Provider",
    mutate: (s) => (s.ipPools = [{ name: "nodes", cidr: "10.0.20.0" }]),
    celMessage: "cidr, gateway, ranges and reserved must be IPv4 addresses, ranges and a CIDR",
  },
  {
    // The CRD checks the forms; that the gateway lies inside the CIDR only the loader judges.
    name: "IP pool gateway outside its CIDR",
    kind: "Provider",
    mutate: (s) => (s.ipPools = [{ name: "nodes", cidr: "10.0.20.0/24", gateway: "10.0.21.1" }]),
    crossObject: true,
  },
  { name: "no hosts", kind: "Provider", mutate: (s) => (s.hosts = []) },
  {
    name: "host listed twice",
    kind: "Provider",
    mutate: (s) => s.hosts.push({ ...s.hosts[0] }),
    celMessage: "a host is listed twice",
  },
  {
    name: "host with a capacity type neither built in nor priced",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].capacityType = "spot"),
    celMessage: "a host's capacityType must be reserved, standard, preemptible or named in " +
      "capacityTypes",
  },
  {
    name: "token secret from two sources",
    kind: "Provider",
    mutate: (s) => (s.tokenSecret = { env: "A", file: "/b" }),
    celMessage: "exactly one of file, env, secret must be set",
  },
  {
    name: "token secret with unknown field",
    kind: "Provider",
    mutate: (s) => (s.tokenSecret = { vault: "x" }),
  },
  {
    name: "Proxmox Provider listing bare-metal machines",
    kind: "Provider",
    mutate: (s) => (s.machines = [redfishMachine("m1")]),
    celMessage: "a kind proxmox object needs endpoint, tokenId, tokenSecret, hosts, vmidRange " +
      "and takes no machines, seedServer",
  },
  {
    name: "Redfish Provider carrying a PVE endpoint",
    kind: "Provider",
    mutate: (s) => {
      toRedfish(s);
      s.endpoint = "https://pve1:8006";
    },
    celMessage: "a kind redfish object needs machines, seedServer and takes no endpoint, " +
      "tokenId, tokenSecret, tls, hosts, vmidRange, managedTag, placement, resourcePool, " +
      "templateVmidRange, ipPools, hostPower, capacityTypes",
  },
  {
    name: "Redfish machine listed twice",
    kind: "Provider",
    mutate: (s) => {
      toRedfish(s);
      s.machines.push(redfishMachine("m1"));
    },
    celMessage: "a machine is listed twice",
  },
  {
    name: "Redfish machine BMC over http",
    kind: "Provider",
    mutate: (s) => {
      toRedfish(s);
      s.machines[0].endpoint = "http://bmc1";
    },
    celMessage: "must be an https:// URL such as https://bmc-r1-07.lan",
  },
  {
    name: "Redfish seed server over http",
    kind: "Provider",
    mutate: (s) => {
      toRedfish(s);
      s.seedServer.url = "http://proxscale.lan:8450";
    },
    celMessage: "must be an https:// URL the BMCs can reach",
  },
  { name: "unknown spec field", kind: "Provider", mutate: (s) => (s.nodeWhitelist = ["pve1"]) },
  { name: "placement not allowed", kind: "Provider", mutate: (s) => (s.placement = "random") },
  { name: "managedTag upper case", kind: "Provider", mutate: (s) => (s.managedTag = "Proxscale") },
  {
    name: "negative host reservation",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].reserved = { memory: "-1Gi" }),
  },
  {
    name: "negative host reservation as a number",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].reserved = { cpu: -2 }),
    celMessage: "must not be negative",
  },
  {
    name: "cpuOvercommit above 16",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].cpuOvercommit = 17),
  },
  {
    name: "no shapes and no flexible range",
    kind: "MachineTemplate",
    mutate: (s) => delete s.shapes,
    celMessage: "needs at least one entry in shapes or a flexible range",
  },
  {
    name: "shape with a fraction of a core",
    kind: "MachineTemplate",
    mutate: (s) => (s.shapes[0].cpu = "1500m"),
    celMessage: "VMs get whole cores; cpu must be a positive whole number of vCPUs",
  },
  {
    name: "shape memory not a quantity",
    kind: "MachineTemplate",
    mutate: (s) => (s.shapes[0].memory = "lots"),
  },
  {
    name: "clone without template",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { full: true } }),
    celMessage: "clone needs templateVmid or perHost",
  },
  {
    name: "clone and scratch at once",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { templateVmid: 9000 }, scratch: {} }),
    celMessage: "exactly one of clone, image, scratch must be set",
  },
  {
    name: "an image checksum with the wrong number of digits for its algorithm",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = {
      image: {
        url: "http://127.0.0.1:8080/noble.img",
        checksum: { algorithm: "sha256", value: "abc123" },
        storage: "local-lvm",
      },
    }),
    celMessage: "a sha256 digest has 64 hex digits, a sha512 digest 128",
  },
  {
    name: "scratch option that is a list",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { scratch: { options: { boot: ["order=scsi0"] } } }),
    celMessage: "must be a string, number or boolean",
  },
  { name: "bad disk slot", kind: "MachineTemplate", mutate: (s) => (s.disks[0].slot = "hda") },
  { name: "vlan 5000", kind: "MachineTemplate", mutate: (s) => (s.network[0].vlan = 5000) },
  {
    name: "sockets that do not divide a shape's vCPUs",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { sockets: 3 }),
    celMessage: "every shape's vCPUs (and a flexible min and step) must be a multiple of sockets",
  },
  {
    name: "a shape's GPUs without a mapping or a model",
    kind: "MachineTemplate",
    mutate: (s) => (s.shapes[0].gpus = { count: 1 }),
    celMessage: "gpus needs a mapping or a model",
  },
  {
    name: "balloon above a shape's memory",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { balloonMiB: 1_000_000 }),
    celMessage: "balloon value too large (must be smaller than assigned memory)",
  },
  {
    name: "EFI disk without OVMF",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { bios: "seabios", efiDisk: { storage: "local-lvm" } }),
    celMessage: "efiDisk needs bios: ovmf",
  },
  {
    name: "startup without order or delays",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { startup: {} }),
    celMessage: "startup needs order, up or down",
  },
  {
    name: "ssd on a virtio disk",
    kind: "MachineTemplate",
    mutate: (s) => (s.disks[0] = { slot: "virtio1", storage: "local-lvm", size: "8Gi", ssd: true }),
    celMessage: "ssd is not available on virtio disks",
  },
  {
    name: "iothread on a sata disk",
    kind: "MachineTemplate",
    mutate: (
      s,
    ) => (s.disks[0] = { slot: "sata1", storage: "local-lvm", size: "8Gi", iothread: true }),
    celMessage: "iothread is only available on scsi and virtio disks",
  },
  {
    name: "unknown CPU type",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { cpu: { type: "pentium9" } }),
  },
  {
    name: "CPU flag PVE refuses per VM",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { cpu: { type: "host", flags: ["+avx512f"] } }),
  },
  {
    name: "unknown machine type",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { machine: "q36" }),
  },
  {
    name: "description with an unknown placeholder",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { description: "owner {{ owner }}" }),
  },
  {
    name: "description forging an identity line",
    kind: "MachineTemplate",
    mutate: (s) => (s.vm = { description: "proxscale.io/nodeclaim=someone-else" }),
    celMessage:
      "must not contain proxscale.io/nodeclaim= or proxscale.io/nodepool= (proxscale's identity lines)",
  },
  { name: "NIC queues 65", kind: "MachineTemplate", mutate: (s) => (s.network[0].queues = 65) },
  {
    name: "bootstrap mode unknown",
    kind: "MachineTemplate",
    mutate: (s) => (s.bootstrap.mode = "ignition"),
  },
  {
    name: "overhead negative",
    kind: "MachineTemplate",
    mutate: (s) => (s.vmMemOverheadMiB = -1),
  },
  {
    name: "requirement In without values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "In" }]),
    celMessage: "operator In needs at least one value",
  },
  {
    name: "requirement Gt not an integer",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Gt", values: ["x"] }]),
    celMessage: "operators Gt, Lt, Gte and Lte need exactly one non-negative integer value",
  },
  {
    name: "requirement Exists with values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Exists", values: ["x"] }]),
    celMessage: "operators Exists and DoesNotExist take no values",
  },
  {
    name: "requirement minValues above values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "In", values: ["x"], minValues: 2 }]),
    celMessage: "minValues needs at least that many values",
  },
  {
    name: "requirement operator unknown",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Near", values: ["x"] }]),
  },
  {
    name: "minNodes above limits.nodes",
    kind: "NodePool",
    mutate: (s) => {
      s.minNodes = 5;
      s.limits.nodes = 2;
    },
    celMessage: "minNodes must not exceed limits.nodes",
  },
  { name: "weight 0", kind: "NodePool", mutate: (s) => (s.weight = 0) },
  { name: "weight 101", kind: "NodePool", mutate: (s) => (s.weight = 101) },
  {
    name: "consolidationThreshold without Balanced",
    kind: "NodePool",
    mutate: (s) => (s.disruption.consolidationThreshold = 3),
    celMessage: "consolidationThreshold needs consolidationPolicy: Balanced",
  },
  {
    name: "consolidationThreshold of 0",
    kind: "NodePool",
    mutate: (s) => {
      s.disruption.consolidationPolicy = "Balanced";
      s.disruption.consolidationThreshold = 0;
    },
  },
  {
    name: "budget schedule without duration",
    kind: "NodePool",
    mutate: (s) => (s.disruption.budgets = [{ nodes: "1", schedule: "@daily" }]),
    celMessage: "schedule and duration go together",
  },
  {
    name: "budget of 150 %",
    kind: "NodePool",
    mutate: (s) => (s.disruption.budgets = [{ nodes: "150%" }]),
  },
  {
    name: "template name not a DNS label",
    kind: "NodePool",
    mutate: (s) => (s.machineTemplate = "Bad_Name"),
  },
  {
    name: "consolidateAfter in words",
    kind: "NodePool",
    mutate: (s) => (s.disruption.consolidateAfter = "5 minutes"),
  },
  { name: "minNodes as text", kind: "NodePool", mutate: (s) => (s.minNodes = "three") },
  {
    name: "taint effect unknown",
    kind: "NodePool",
    mutate: (s) => (s.taints = [{ key: "a", effect: "Never" }]),
  },
  {
    name: "pool names a missing template",
    kind: "NodePool",
    mutate: (s) => (s.machineTemplate = "nope"),
    crossObject: true,
  },
  {
    name: "template names a missing provider",
    kind: "MachineTemplate",
    mutate: (s) => (s.provider = "nope"),
    crossObject: true,
  },
  {
    name: "per-host template on an unknown host",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { perHost: { pve9: 9000 } } }),
    crossObject: true,
  },
  {
    name: "a namespace listed twice",
    kind: "Tenant",
    mutate: (s) => (s.namespaces = ["a", "a"]),
    celMessage: "a namespace is listed twice",
  },
  {
    name: "a namespace selector without labels",
    kind: "Tenant",
    mutate: (s) => (s.namespaceSelector = { matchLabels: {} }),
    celMessage: "matchLabels must name at least one label",
  },
  {
    name: "a tenant default weight of 0",
    kind: "Tenant",
    mutate: (s) => (s.defaults = { weight: 0 }),
  },
  {
    name: "a tenant default template not a DNS label",
    kind: "Tenant",
    mutate: (s) => (s.defaults = { machineTemplate: "Bad_Name" }),
  },
  {
    name: "a tenant default budget schedule without duration",
    kind: "Tenant",
    mutate: (s) => (s.defaults = { disruption: { budgets: [{ nodes: "1", schedule: "@daily" }] } }),
    celMessage: "schedule and duration go together",
  },
  {
    name: "a tenant default consolidation policy unknown",
    kind: "Tenant",
    mutate: (s) => (s.defaults = { disruption: { consolidationPolicy: "Always" } }),
  },
  {
    name: "a tenant default names a missing template",
    kind: "Tenant",
    mutate: (s) => (s.defaults = { machineTemplate: "nope" }),
    crossObject: true,
  },
  {
    name: "a pool without a template and no tenant to default it",
    kind: "NodePool",
    mutate: (s) => delete s.machineTemplate,
    crossObject: true,
  },
  {
    name: "a pool names a missing tenant",
    kind: "NodePool",
    mutate: (s) => (s.tenancy = { tenant: "nobody" }),
    crossObject: true,
  },
];

/** A valid Redfish machine entry named `name`. */
function redfishMachine(name: string): Spec {
  return {
    name,
    endpoint: "https://bmc1.lan",
    systemId: "System.Embedded.1",
    username: "proxscale",
    password: { env: "BMC_PASSWORD" },
  };
}

/** Turns a valid Proxmox Provider spec into a valid Redfish one, in place. */
function toRedfish(s: Spec): void {
  for (const k of Object.keys(s)) delete s[k];
  s.kind = "redfish";
  s.machines = [redfishMachine("m1")];
  s.seedServer = {
    url: "https://proxscale.lan:8450",
    certFile: "/etc/proxscale/seed.crt",
    keyFile: "/etc/proxscale/seed.key",
  };
}
