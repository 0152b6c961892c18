import assert from "node:assert/strict";
import { PveModel } from "./model.ts";
import { checkHostpci } from "./hostpci_format.ts";
import { mdevTypesNow } from "./pci.ts";
import { gpuSeed } from "./pci_inventory.ts";

const ROOT = "root@pam!proxscale";

/** A model on a virtual clock with the given PCI seed. */
function cluster(pci: ConstructorParameters<typeof PveModel>[0] extends infer O ? O : never) {
  let t = 1_750_000_000_000;
  const model = new PveModel({ now: () => t, seed: 3, ...pci });
  const finish = (node: string, upid: string): string => {
    for (let i = 0; i < 10_000; i++) {
      const s = model.taskStatus(node, upid);
      assert.ok(s.ok);
      if (s.value.status === "stopped") return s.value.exitstatus as string;
      const next = model.nextEventAt();
      t = next !== undefined && next > t ? next : t + 100;
    }
    throw new Error("task never finished");
  };
  const vm = (vmid: number, node: string, config: Record<string, string>) =>
    model.addVm({ vmid, node, name: `vm${vmid}`, config: { memory: "2048", ...config } });
  const run = (node: string, vmid: number, action: "start" | "stop") => {
    const r = model.powerVm(node, vmid, action, {}, ROOT);
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    return finish(node, r.value);
  };
  return { model, finish, vm, run };
}

Deno.test("hostpci values PVE's schema takes pass, and bad keys, patterns and booleans are refused", () => {
  for (
    const good of [
      "0000:41:00.0",
      "41:00,pcie=1,x-vga=1",
      "host=0000:41:00.0;0000:41:00.1,rombar=0",
      "mapping=gpu,pcie=1",
      "mapping=gpu,mdev=nvidia-222",
      "mapping=a100_pool,pcie=on,vendor-id=0x10de",
    ]
  ) assert.equal(checkHostpci("hostpci0", good), undefined, good);
  assert.match(
    checkHostpci("hostpci0", "mapping=gpu,foo=1")!,
    /hostpci0\.foo: property is not defined/,
  );
  assert.match(checkHostpci("hostpci1", "mapping=1gpu")!, /invalid configuration ID '1gpu'/);
  assert.match(checkHostpci("hostpci0", "host=zz:00.0")!, /hostpci0\.host: value does not match/);
  assert.match(checkHostpci("hostpci0", "mapping=gpu,pcie=maybe")!, /type check \('boolean'\)/);
  assert.match(checkHostpci("hostpci0", "mapping=gpu,mdev=a/b")!, /hostpci0\.mdev/);
  assert.match(checkHostpci("hostpci0", "41:00.0,42:00.0")!, /duplicate key .*: host/);
});

Deno.test("a config update with a bad hostpci or hostpci16 answers 400 like PVE", () => {
  const c = cluster({});
  c.vm(300, "pve1", {});
  const r = c.model.updateConfig("pve1", 300, { hostpci0: "mapping=gpu,bogus=1" }, ROOT, "sync");
  assert.ok(!r.ok);
  assert.equal(r.error.status, 400);
  assert.match(r.error.errors!.hostpci0!, /^invalid format - format error\n/);
  const r16 = c.model.updateConfig("pve1", 300, { hostpci16: "mapping=gpu" }, ROOT, "sync");
  assert.ok(!r16.ok);
  assert.match(r16.error.errors!.hostpci16!, /not defined in schema/);
  const good = c.model.updateConfig("pve1", 300, { hostpci15: "mapping=gpu,pcie=1" }, ROOT, "sync");
  assert.ok(good.ok);
  assert.match(c.model.configFileText(300)!, /hostpci15: mapping=gpu,pcie=1/);
});

Deno.test("pcie=1 without a q35 machine is accepted in the config but the VM does not start", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }) });
  c.vm(301, "pve1", { hostpci0: "mapping=gpu,pcie=1" });
  assert.match(c.run("pve1", 301, "start"), /^q35 machine model is not enabled/);
  assert.equal(c.model.st.vms.get(301)!.status, "stopped");
  c.vm(302, "pve1", { hostpci0: "mapping=gpu,pcie=1", machine: "q35" });
  assert.equal(c.run("pve1", 302, "start"), "OK");
});

Deno.test("a mapping that does not exist, or has no entry on the VM's node, fails the start", () => {
  const c = cluster({ pci: gpuSeed({ pve2: 1 }) });
  c.vm(303, "pve1", { hostpci0: "mapping=nothere" });
  assert.equal(c.run("pve1", 303, "start"), "PCI device mapping not found for 'nothere'");
  c.vm(304, "pve1", { hostpci0: "mapping=gpu" });
  assert.equal(c.run("pve1", 304, "start"), "PCI device mapping not found for 'gpu'");
  c.vm(305, "pve1", { hostpci0: "host=0000:41:00.0,mapping=gpu" });
  assert.equal(c.run("pve1", 305, "start"), "Cannot set both 'host' and 'mapping'.");
  c.vm(306, "pve1", { hostpci0: "0000:99:00.0" });
  assert.equal(c.run("pve1", 306, "start"), "no PCI device found for '0000:99:00.0'");
});

Deno.test("a mapping whose recorded device id no longer matches the hardware fails the start", () => {
  const seed = gpuSeed({ pve1: 1 });
  seed.mappings![0]!.map[0] = seed.mappings![0]!.map[0]!.replace("id=10de:20f1", "id=10de:2204");
  const c = cluster({ pci: seed });
  c.vm(307, "pve1", { hostpci0: "mapping=gpu" });
  assert.equal(
    c.run("pve1", 307, "start"),
    "PCI device mapping invalid (hardware probably changed): 'id' does not match for 'gpu' (10de:20f1 != 10de:2204)",
  );
});

Deno.test("two VMs using the single device of a host: the second cannot start until the first stops", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }) });
  c.vm(310, "pve1", { hostpci0: "mapping=gpu,pcie=1", machine: "q35" });
  c.vm(311, "pve1", { hostpci0: "mapping=gpu,pcie=1", machine: "q35" });
  c.vm(312, "pve1", { hostpci0: "host=0000:41:00.0" });
  assert.equal(c.run("pve1", 310, "start"), "OK");
  // a single mapping entry is reserved directly; a raw host id the same way
  assert.equal(
    c.run("pve1", 311, "start"),
    "PCI device '0000:41:00.0' already in use by VMID '310'",
  );
  assert.equal(
    c.run("pve1", 312, "start"),
    "PCI device '0000:41:00.0' already in use by VMID '310'",
  );
  assert.equal(c.model.st.vms.get(311)!.status, "stopped");
  assert.equal(c.run("pve1", 310, "stop"), "OK");
  assert.equal(c.run("pve1", 311, "start"), "OK");
});

Deno.test("a mapping with several devices on a host gives each VM a free one, then none is left", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 2 }) });
  for (const id of [320, 321, 322]) c.vm(id, "pve1", { hostpci0: "mapping=gpu" });
  assert.equal(c.run("pve1", 320, "start"), "OK");
  assert.equal(c.run("pve1", 321, "start"), "OK");
  assert.equal(c.run("pve1", 322, "start"), "could not find a free device for 'hostpci0'");
  // one VM asking for both devices at once while they are busy gets nothing
  c.vm(323, "pve1", { hostpci0: "mapping=gpu", hostpci1: "mapping=gpu" });
  assert.equal(c.run("pve1", 323, "start"), "could not find a free device for 'hostpci0'");
  c.run("pve1", 320, "stop");
  c.run("pve1", 321, "stop");
  assert.equal(c.run("pve1", 323, "start"), "OK");
});

Deno.test("a destroyed VM gives its device back", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }) });
  c.vm(330, "pve1", { hostpci0: "mapping=gpu" });
  c.vm(331, "pve1", { hostpci0: "mapping=gpu" });
  assert.equal(c.run("pve1", 330, "start"), "OK");
  c.run("pve1", 330, "stop");
  const d = c.model.destroyVm("pve1", 330, {}, ROOT);
  assert.ok(d.ok);
  assert.equal(c.finish("pve1", d.value), "OK");
  assert.equal(c.run("pve1", 331, "start"), "OK");
});

Deno.test("an mdev type's available count drops while a VM uses it and returns when it stops", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }, { model: "t4" }) });
  const avail = (type: string) =>
    mdevTypesNow(c.model.st, "pve1", "0000:41:00.0").find((t) => t.type === type)!.available;
  assert.equal(avail("nvidia-230"), 1);
  assert.equal(avail("nvidia-222"), 16);
  c.vm(340, "pve1", { hostpci0: "mapping=gpu,mdev=nvidia-230" });
  c.vm(341, "pve1", { hostpci0: "mapping=gpu,mdev=nvidia-230" });
  assert.equal(c.run("pve1", 340, "start"), "OK");
  assert.equal(avail("nvidia-230"), 0);
  // one vGPU type per GPU: the other types have no instances while it runs
  assert.equal(avail("nvidia-222"), 0);
  assert.equal(c.run("pve1", 341, "start"), "could not create mediated device");
  assert.equal(c.run("pve1", 340, "stop"), "OK");
  assert.equal(avail("nvidia-230"), 1);
  assert.equal(avail("nvidia-222"), 16);
  assert.equal(c.run("pve1", 341, "start"), "OK");
});

Deno.test("several VMs share a GPU through instances of one mdev type until it is full", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }, { model: "t4" }) });
  const avail = () =>
    mdevTypesNow(c.model.st, "pve1", "0000:41:00.0").find((t) => t.type === "nvidia-223")!
      .available;
  for (let i = 0; i < 9; i++) c.vm(350 + i, "pve1", { hostpci0: "mapping=gpu,mdev=nvidia-223" });
  for (let i = 0; i < 8; i++) assert.equal(c.run("pve1", 350 + i, "start"), "OK");
  assert.equal(avail(), 0);
  assert.equal(c.run("pve1", 358, "start"), "could not create mediated device");
  // a GPU serving vGPUs cannot also be passed through whole
  c.vm(360, "pve1", { hostpci0: "0000:41:00.0" });
  assert.equal(c.run("pve1", 360, "start"), "can't unbind/bind PCI group to VFIO '0000:41:00.0'");
});

Deno.test("create with start=1 starts a GPU VM when its device is free, and leaves it stopped when not", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }) });
  const create = (vmid: number) => {
    const r = c.model.createVm("pve1", {
      vmid: String(vmid),
      memory: "1024",
      hostpci0: "mapping=gpu",
      start: "1",
    }, ROOT);
    assert.ok(r.ok, r.ok ? "" : r.error.message);
    return c.finish("pve1", r.value);
  };
  assert.equal(create(370), "OK");
  assert.equal(c.model.st.vms.get(370)!.status, "running");
  create(371);
  assert.equal(c.model.st.vms.get(371)!.status, "stopped");
  const log = c.model.st.tasks;
  assert.ok(
    [...log.values()].some((t) =>
      t.log.includes("PCI device '0000:41:00.0' already in use by VMID '370'")
    ),
  );
});

Deno.test("a running VM added as a fixture holds its GPU, so a VM started later finds it taken", () => {
  const c = cluster({ pci: gpuSeed({ pve1: 1 }) });
  c.model.addVm({
    vmid: 380,
    node: "pve1",
    name: "foreign",
    config: { hostpci0: "0000:41:00.0" },
    running: true,
  });
  c.vm(381, "pve1", { hostpci0: "mapping=gpu" });
  assert.equal(
    c.run("pve1", 381, "start"),
    "PCI device '0000:41:00.0' already in use by VMID '380'",
  );
  assert.throws(
    () =>
      c.model.addVm({
        vmid: 382,
        node: "pve1",
        config: { hostpci0: "mapping=gpu" },
        running: true,
      }),
    /Fixture VM 382 cannot run: PCI device '0000:41:00.0' already in use by VMID '380'/,
  );
  assert.equal(c.model.st.vms.has(382), false);
});
