/**
 * Fixtures for the fake cluster: default storages, VMs with real volumes, and the cloud-image
 * template operators usually build (one per host). Used by PveModel's constructor and tests.
 */
import type { ConfigFile } from "./config_file.ts";
import { formatSize, printDrive, printNic } from "./property_string.ts";
import type { ModelState, StorageState, VmState } from "./state.ts";
import { allocCloudinit, allocDisk, toBaseVolume } from "./storage_ops.ts";

const GiB = 1024 ** 3;

/** A VM fixture: disks are allocated for real so sizes, volumes and clones behave. */
export type VmFixture = {
  vmid: number;
  node: string;
  name?: string;
  config?: Record<string, string>;
  disks?: Array<
    { key: string; storage: string; size: number; options?: string; cloudinit?: boolean }
  >;
  template?: boolean;
  running?: boolean;
  description?: string;
  pool?: string;
};

/** Default storages of a PVE 8 host plus one shared Ceph pool. */
export function defaultStorages(): StorageState[] {
  return [
    {
      id: "local",
      type: "dir",
      content: ["backup", "iso", "snippets", "vztmpl"],
      shared: false,
      total: 100 * GiB,
      enabled: true,
    },
    {
      id: "local-lvm",
      type: "lvmthin",
      content: ["images", "rootdir"],
      shared: false,
      total: 1024 * GiB,
      enabled: true,
    },
    {
      id: "ceph",
      type: "rbd",
      content: ["images", "rootdir"],
      shared: true,
      total: 4096 * GiB,
      enabled: true,
    },
  ];
}

/** Adds a VM with real volumes; returns its VMID. */
export function addVmFixture(st: ModelState, f: VmFixture): number {
  if (st.vms.has(f.vmid)) throw new Error(`Fixture VMID ${f.vmid} already exists`);
  const conf: ConfigFile = { values: new Map() };
  if (f.description !== undefined) conf.description = f.description;
  if (f.name) conf.values.set("name", f.name);
  for (const [k, v] of Object.entries(f.config ?? {})) conf.values.set(k, v);
  for (const d of f.disks ?? []) {
    const s = st.storageOn(f.node, d.storage);
    if (!s) throw new Error(`Fixture storage ${d.storage} not on ${f.node}`);
    const r = d.cloudinit
      ? allocCloudinit(st, f.node, s, f.vmid)
      : allocDisk(st, f.node, s, f.vmid, d.size);
    if (!r.ok) throw new Error(r.error.message);
    let volid = r.value;
    if (f.template && !d.cloudinit) volid = toBaseVolume(st, f.node, volid);
    const opts = d.options
      ? d.options.split(",").map((o): [string, string] => {
        const [k, v] = o.split("=");
        return [k!, v ?? ""];
      })
      : [];
    conf.values.set(
      d.key,
      printDrive(
        volid,
        d.cloudinit ? [...opts, ["media", "cdrom"]] : [...opts, ["size", formatSize(d.size)]],
      ),
    );
  }
  if (f.template) conf.values.set("template", "1");
  const vm: VmState = {
    vmid: f.vmid,
    node: f.node,
    conf,
    status: f.running ? "running" : "stopped",
    createdAt: -Infinity,
  };
  if (f.running) vm.startedAt = st.time();
  if (f.pool) {
    vm.pool = f.pool;
    st.pools.get(f.pool)?.vms.add(f.vmid);
  }
  st.vms.set(f.vmid, vm);
  return f.vmid;
}

/** A cloud-image template like operators build: 2 cores, 2 GiB, 32G scsi0, cloud-init drive. */
export function addTemplateFixture(
  st: ModelState,
  vmid: number,
  node: string,
  storage = "local-lvm",
): number {
  return addVmFixture(st, {
    vmid,
    node,
    name: `k8s-template-${node}`,
    template: true,
    config: {
      agent: "1",
      boot: "order=scsi0",
      cores: "2",
      memory: "2048",
      net0: printNic("virtio", st.rng.mac(), [["bridge", "vmbr0"]]),
      ostype: "l26",
      scsihw: "virtio-scsi-single",
      smbios1: `uuid=${st.rng.uuid()}`,
      ipconfig0: "ip=dhcp",
    },
    disks: [
      { key: "scsi0", storage, size: 32 * GiB, options: "discard=on,iothread=1,ssd=1" },
      { key: "ide2", storage, size: 0, cloudinit: true },
    ],
  });
}
