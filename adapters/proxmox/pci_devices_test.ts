/**
 * Tests of pci_devices.ts: reading hostpci lines, writing them for a GPU shape, recognising a
 * start that failed on a taken device, and a host's free devices after VMs and launches.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import {
  configDeviceUses,
  deviceConflict,
  hostDevices,
  type HostPciFacts,
  hostpciScalars,
  parseHostpciUse,
} from "./pci_devices.ts";

Deno.test("hostpci lines name a mapping and an mdev type; raw host ids name none", () => {
  assert.deepEqual(parseHostpciUse("mapping=gpu,pcie=1"), { mapping: "gpu" });
  assert.deepEqual(parseHostpciUse("mapping=t4,mdev=nvidia-222"), {
    mapping: "t4",
    mdev: "nvidia-222",
  });
  assert.equal(parseHostpciUse("0000:41:00.0,pcie=1"), undefined);
  // A raw id counts as the mapping that has the device.
  const byId = (id: string) => (id === "0000:41:00.0" ? "gpu" : undefined);
  assert.deepEqual(parseHostpciUse("host=0000:41:00.0;0000:41:00.1", byId), { mapping: "gpu" });
  assert.deepEqual(parseHostpciUse("0000:41:00.0,pcie=1", byId), { mapping: "gpu" });
  assert.equal(parseHostpciUse("0000:42:00.0", byId), undefined);
  assert.deepEqual(
    configDeviceUses({ hostpci0: "mapping=a", hostpci3: "mapping=b", hostpci16: "mapping=c" }),
    [{ mapping: "a" }, { mapping: "b" }],
  );
});

Deno.test("a GPU shape's lines: one per device, pcie with q35, mdev when asked", () => {
  assert.deepEqual(hostpciScalars({ count: 2, mapping: "gpu" }, "gpu", true, undefined), {
    hostpci0: "mapping=gpu,pcie=1",
    hostpci1: "mapping=gpu,pcie=1",
    machine: "q35",
  });
  assert.deepEqual(
    hostpciScalars({ count: 1, model: "T4", mdev: "nvidia-222" }, "t4", false, "pc"),
    { hostpci0: "mapping=t4,mdev=nvidia-222" },
  );
  // A versioned q35 machine the template asks for is kept.
  assert.equal(hostpciScalars({ count: 1 }, "g", true, "pc-q35-8.1").machine, "pc-q35-8.1");
  assert.equal(hostpciScalars({ count: 1 }, "g", true, "pc-i440fx-8.1").machine, "q35");
});

Deno.test("start failures on taken devices are recognised, other failures are not", () => {
  assert.ok(deviceConflict("PCI device '0000:41:00.0' already in use by VMID '100'"));
  assert.ok(deviceConflict("could not find a free device for 'hostpci0'"));
  assert.ok(deviceConflict("could not create mediated device"));
  assert.ok(!deviceConflict("volume 'local:iso/x.iso' does not exist"));
  assert.ok(!deviceConflict(undefined));
});

Deno.test("free devices: mapping devices minus VMs' whole devices and launches in flight", () => {
  const facts: HostPciFacts = {
    mappings: [
      { mapping: "gpu", devices: 3, model: "A100" },
      { mapping: "t4", devices: 1, mdev: { "nvidia-222": 16 } },
    ],
    vms: [
      { vmid: 100, running: true, uses: [{ mapping: "gpu" }] },
      // A running VM's mdev instance is already out of PVE's count; a stopped one's is not.
      { vmid: 101, running: true, uses: [{ mapping: "t4", mdev: "nvidia-222" }] },
      { vmid: 102, running: false, uses: [{ mapping: "t4", mdev: "nvidia-222" }] },
      // A launch in flight with this VMID counts once, as the flight.
      { vmid: 103, running: false, uses: [{ mapping: "gpu" }] },
    ],
  };
  const flights = [
    {
      host: "pve1",
      footprint: { cpu: 0, memory: 0 },
      vmid: 103,
      expires: 1,
      gpus: { mapping: "gpu", count: 1 },
    },
    {
      host: "pve1",
      footprint: { cpu: 0, memory: 0 },
      expires: 1,
      gpus: { mapping: "t4", count: 2, mdev: "nvidia-222" },
    },
    {
      host: "pve2",
      footprint: { cpu: 0, memory: 0 },
      expires: 1,
      gpus: { mapping: "gpu", count: 1 },
    },
  ];
  assert.deepEqual(hostDevices(facts, "pve1", flights), [
    { mapping: "gpu", free: 1, model: "A100" },
    { mapping: "t4", free: 1, mdev: { "nvidia-222": 13 } },
  ]);
  assert.equal(hostDevices(undefined, "pve1", flights), undefined);
});
