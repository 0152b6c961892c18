/** The Node a kubelet computes from a VM's config: capacity, allocatable, labels, addresses. */
import { deepEqual, equal } from "node:assert/strict";
import {
  allocatableOf,
  allocatableQuantities,
  capacityQuantities,
  DEFAULT_RESERVATION,
  diskSizeBytes,
  internalIp,
  kubeletMaySetLabel,
  nodeLabels,
  vmCapacity,
} from "./node_status.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const conf = (o: Record<string, string>) => new Map(Object.entries(o));

Deno.test("capacity counts cores times sockets, memory MiB, the boot disk and every hostpci as a GPU", () => {
  const c = vmCapacity(conf({
    cores: "4",
    sockets: "2",
    memory: "16384",
    hostpci0: "0000:01:00,pcie=1",
    hostpci1: "mapping=gpu1",
    scsi0: "local-lvm:vm-1-disk-0,size=20G",
    virtio1: "local-lvm:vm-1-disk-1,size=100G",
    ide2: "local:iso/x.iso,media=cdrom,size=4M",
    boot: "order=virtio1;ide2",
  }));
  deepEqual(c, {
    cpuMillis: 8000,
    memoryBytes: 16 * GiB,
    pods: 110,
    ephemeralBytes: 100 * GiB,
    gpus: 2,
  });
});

Deno.test("vcpus, when set, is the cpu count; PVE's defaults apply to absent keys", () => {
  equal(vmCapacity(conf({ cores: "8", sockets: "2", vcpus: "6" })).cpuMillis, 6000);
  const d = vmCapacity(conf({ scsi0: "ceph:vm-1-disk-0,size=512M" }));
  equal(d.cpuMillis, 1000);
  equal(d.memoryBytes, 512 * MiB);
  equal(d.ephemeralBytes, 512 * MiB);
  equal(d.gpus, 0);
});

Deno.test("allocatable is capacity minus the reservation and the eviction thresholds", () => {
  const cap = vmCapacity(conf({ cores: "4", memory: "8192", scsi0: "x:y,size=32G" }));
  const a = allocatableOf(cap, DEFAULT_RESERVATION);
  equal(a.cpuMillis, 3900);
  equal(a.memoryBytes, (8192 - 256 - 100) * MiB);
  equal(a.ephemeralBytes, Math.floor(32 * GiB * 0.9));
  deepEqual(allocatableQuantities(a), {
    cpu: "3900m",
    "ephemeral-storage": String(Math.floor(32 * GiB * 0.9)),
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: `${(8192 - 256 - 100) * 1024}Ki`,
    pods: "110",
  });
  equal(capacityQuantities(cap).cpu, "4");
  equal(allocatableOf(cap, { cpuMillis: 8000, memoryBytes: 64 * GiB }).memoryBytes, 0);
});

Deno.test("disk sizes read PVE's K, M, G and T suffixes as binary units", () => {
  equal(diskSizeBytes("local-lvm:vm-1-disk-0,size=32G"), 32 * GiB);
  equal(diskSizeBytes("a:b,discard=on,size=1T,ssd=1"), 1024 * GiB);
  equal(diskSizeBytes("a:b,size=1536K"), 1536 * 1024);
  equal(diskSizeBytes("a:b"), 0);
});

Deno.test("the kubelet sets its own well-known labels plus exactly the passed ones", () => {
  deepEqual(nodeLabels("n1", { team: "a" }), {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": "n1",
    "kubernetes.io/os": "linux",
    team: "a",
  });
});

Deno.test("--node-labels may not carry restricted kubernetes.io keys", () => {
  for (
    const ok of [
      "team",
      "example.com/x",
      "node.kubernetes.io/instance-type",
      "topology.kubernetes.io/zone",
      "kubelet.kubernetes.io/x",
    ]
  ) {
    equal(kubeletMaySetLabel(ok), true, ok);
  }
  for (
    const bad of [
      "node-role.kubernetes.io/worker",
      "kubernetes.io/role",
      "node-restriction.kubernetes.io/x",
      "x.k8s.io/y",
    ]
  ) {
    equal(kubeletMaySetLabel(bad), false, bad);
  }
});

Deno.test("the InternalIP is ipconfig0's static address, else a stable address made from the VMID", () => {
  equal(internalIp(conf({ ipconfig0: "ip=192.168.7.9/24,gw=192.168.7.1" }), 5), "192.168.7.9");
  equal(internalIp(conf({ ipconfig0: "ip=dhcp" }), 0x010203), "10.65.2.3");
  equal(internalIp(conf({}), 0x010203), internalIp(conf({}), 0x010203));
});
