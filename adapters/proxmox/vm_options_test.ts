/**
 * Tests of vm_options.ts through the desired config: the `vm` block's PVE values, the same on
 * create and after a clone, converged once and then left alone.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import type { MachineTemplate } from "../../core/model.ts";
import { claim, provider, template } from "./testing/fixtures.ts";
import {
  claimFromDescription,
  configChanges,
  createParams,
  DESCRIPTION_LIMIT,
  desiredConfig,
} from "./vm_config.ts";
import {
  agentValue,
  cpuTopology,
  cpuValue,
  descriptionText,
  hardwareTypeKeys,
  startupValue,
} from "./vm_options.ts";

const withVm: MachineTemplate = {
  ...template,
  source: { kind: "clone", templateVmid: 9000, full: true },
  vm: {
    cpu: { type: "x86-64-v2-AES", flags: ["+aes", "-pcid"] },
    sockets: 2,
    numa: true,
    balloonMiB: 1024,
    machine: "q35",
    bios: "ovmf",
    efiDisk: { storage: "local-lvm", efiType: "4m", preEnrolledKeys: false },
    agent: { enabled: true, fstrimClonedDisks: true, type: "virtio" },
    startup: { order: 3, up: 30, down: 60 },
    description: "pool {{ nodePool }} / {{machineTemplate}} / {{ shape }}",
  },
  network: [{ slot: "net0", model: "virtio", bridge: "vmbr0", vlan: 20, queues: 4, mtu: 9000 }],
};

Deno.test("each vm option becomes the PVE config value PVE documents for it", () => {
  const d = desiredConfig(claim, withVm, provider);
  assert.equal(d.scalars.cpu, "x86-64-v2-AES,flags=+aes;-pcid");
  assert.equal(d.scalars.sockets, 2);
  assert.equal(d.scalars.cores, 1);
  assert.equal(d.scalars.numa, 1);
  assert.equal(d.scalars.balloon, 1024);
  assert.equal(d.scalars.machine, "q35");
  assert.equal(d.scalars.bios, "ovmf");
  assert.equal(d.scalars.agent, "1,fstrim_cloned_disks=1,type=virtio");
  assert.equal(d.scalars.startup, "order=3,up=30,down=60");
  assert.equal(d.efiDisk, "local-lvm:1,efitype=4m,pre-enrolled-keys=0");
});

Deno.test("without a vm block only cores, sockets 1 and the identity are set", () => {
  const d = desiredConfig(claim, template, provider);
  for (const k of ["cpu", "numa", "balloon", "machine", "bios", "agent", "startup"]) {
    assert.equal(d.scalars[k], undefined, k);
  }
  assert.equal(d.scalars.sockets, 1);
  assert.equal(d.efiDisk, undefined);
});

Deno.test("the description template is filled in below the identity lines, which still identify the claim", () => {
  const d = desiredConfig(claim, withVm, provider);
  const text = String(d.scalars.description);
  assert.equal(claimFromDescription(text), claim.name);
  assert.ok(text.endsWith("\npool general / small / 2c-4Gi"), text);
  assert.equal(descriptionText(claim, template), undefined);
});

Deno.test("a clone of a bare template gets every option in one config change; a converged VM gets none", () => {
  const d = desiredConfig(claim, withVm, provider);
  const cloned = {
    digest: "x",
    cores: 1,
    sockets: 1,
    memory: "2048",
    net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0",
  };
  const c = configChanges(d, cloned);
  for (const k of ["cpu", "sockets", "numa", "balloon", "machine", "bios", "agent", "startup"]) {
    assert.equal(c.set[k], d.scalars[k], k);
  }
  assert.equal(c.set.efidisk0, "local-lvm:1,efitype=4m,pre-enrolled-keys=0");
  assert.equal(c.set.net0, "virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=9000,tag=20,queues=4");
  // What PVE then holds (GET config renders integers and booleans as numbers).
  const converged: Record<string, unknown> = { ...cloned, ...c.set, numa: 1, balloon: 1024 };
  converged.efidisk0 = "local-lvm:vm-1000-disk-1,efitype=4m,pre-enrolled-keys=0,size=528K";
  converged.net0 = "virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=9000,queues=4,tag=20";
  const again = configChanges(d, converged);
  assert.deepEqual(Object.keys(again.set).filter((k) => !k.startsWith("scsi")), []);
});

Deno.test("an EFI disk the template VM already has is kept, not replaced", () => {
  const d = desiredConfig(claim, withVm, provider);
  const c = configChanges(d, { digest: "x", efidisk0: "local-lvm:vm-9000-disk-1,size=528K" });
  assert.equal(c.set.efidisk0, undefined);
});

Deno.test("a scratch create carries the vm options and the EFI disk; the typed options win over raw ones", () => {
  const scratch: MachineTemplate = {
    ...withVm,
    source: { kind: "scratch", options: { ostype: "l26", bios: "seabios" } },
  };
  const p = createParams(1000, desiredConfig(claim, scratch, provider), { bios: "seabios" }, "");
  assert.equal(p.bios, "ovmf");
  assert.equal(p.efidisk0, "local-lvm:1,efitype=4m,pre-enrolled-keys=0");
  assert.equal(p.cpu, "x86-64-v2-AES,flags=+aes;-pcid");
  assert.equal(p.net0, "virtio,bridge=vmbr0,mtu=9000,tag=20,queues=4");
});

Deno.test("value builders: topology, cpu, agent and startup strings", () => {
  assert.deepEqual(cpuTopology(4, { sockets: 2 }), { cores: 2, sockets: 2 });
  assert.deepEqual(cpuTopology(3, undefined), { cores: 3, sockets: 1 });
  assert.equal(cpuValue({ type: "host" }), "host");
  assert.equal(agentValue({ enabled: false }), "0");
  assert.equal(startupValue({ up: 5 }), "up=5");
});

Deno.test("hardware-type keys: vm.machine and raw scratch options such as scsihw, nothing else", () => {
  assert.deepEqual(hardwareTypeKeys(template), ["scsihw"]);
  assert.deepEqual(hardwareTypeKeys(withVm), ["machine"]);
  assert.deepEqual(hardwareTypeKeys({ ...withVm, vm: { cpu: { type: "host" } } }), []);
});

Deno.test("a description template filled in past PVE's 8 KiB is cut; the identity lines stay", () => {
  const long: MachineTemplate = {
    ...withVm,
    vm: { description: "{{ nodeClaim }} ".repeat(400) },
  };
  const text = String(
    desiredConfig({ ...claim, name: "c".repeat(60) }, long, provider).scalars
      .description,
  );
  assert.ok(text.length <= DESCRIPTION_LIMIT, String(text.length));
  assert.equal(claimFromDescription(text), "c".repeat(60));
});
