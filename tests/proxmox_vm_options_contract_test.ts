/**
 * Contract suite for the MachineTemplate `vm` block and the per-NIC/per-disk options: the real
 * Proxmox provider clones (and creates) VMs on the fake PVE over TLS, and the fake's stored
 * config file ends up holding each option exactly as proxscale wrote it, one option at a time.
 * A value PVE would refuse, forced past the config loader, is refused by the fake with PVE's
 * 400 shape and leaves no VM behind.
 */
import assert from "node:assert/strict";
import type { MachineTemplate, NodeClaim, VmOptions } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { claim as baseClaim, template as fixture } from "../adapters/proxmox/testing/fixtures.ts";
import { type FakePve, startFakePve } from "../fakes/fake_pve/server.ts";
import {
  addJoinSnippet,
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

/** A clone template: the fake's per-host templates 9000/9001, full clones on local-lvm. */
const cloneTemplate: MachineTemplate = {
  ...fixture,
  source: { kind: "clone", perHost: { pve1: 9000, pve2: 9001 }, full: true, storage: "local-lvm" },
  disks: [],
  network: [{ slot: "net0", model: "virtio", bridge: "vmbr0", ipconfig: "ip=dhcp" }],
};

/** The fake's stored config file of `vmid`: description and `key: value` lines. */
function storedConfig(
  fake: FakePve,
  vmid: number,
): { description: string; values: Map<string, string> } {
  const text = fake.model.configFileText(vmid);
  assert.ok(text !== undefined, `VM ${vmid} has no config file`);
  const values = new Map<string, string>();
  const desc: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "[PENDING]") break;
    if (line.startsWith("#")) desc.push(line.slice(1));
    else if (line.includes(": ")) {
      values.set(line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2));
    }
  }
  return { description: desc.join("\n"), values };
}

type Env = { fake: FakePve; provider: ProxmoxProvider; cfg: ReturnType<typeof fakeProviderConfig> };

async function withFake(body: (env: Env) => Promise<void>): Promise<void> {
  const fake = await startFakePve({ hosts: 2, seed: 5, model: { timing: fastPveTiming(300) } });
  addJoinSnippet(fake);
  const client = fakePveClient(fake);
  const cfg = fakeProviderConfig(fake);
  const provider = new ProxmoxProvider({
    client,
    provider: cfg,
    seed: 1,
    vmMemOverhead: 0,
    timings: FAST_PROVIDER_TIMINGS,
  });
  try {
    await body({ fake, provider, cfg });
  } finally {
    client.close();
    await fake.close();
  }
}

let serial = 0;
const claimFor = (tag: string): NodeClaim => ({ ...baseClaim, name: `vmopt-${tag}-${serial++}` });

/** One option at a time: the `vm` block, and what the fake must then store under which key. */
const VM_CASES: { name: string; vm: VmOptions; key: string; stored: string }[] = [
  { name: "CPU type", vm: { cpu: { type: "host" } }, key: "cpu", stored: "host" },
  {
    name: "CPU type and flags",
    vm: { cpu: { type: "x86-64-v2-AES", flags: ["+aes", "-pcid", "+pdpe1gb"] } },
    key: "cpu",
    stored: "x86-64-v2-AES,flags=+aes;-pcid;+pdpe1gb",
  },
  { name: "sockets", vm: { sockets: 2 }, key: "sockets", stored: "2" },
  { name: "NUMA", vm: { numa: true }, key: "numa", stored: "1" },
  { name: "balloon", vm: { balloonMiB: 2048 }, key: "balloon", stored: "2048" },
  { name: "balloon off", vm: { balloonMiB: 0 }, key: "balloon", stored: "0" },
  { name: "machine", vm: { machine: "q35" }, key: "machine", stored: "q35" },
  {
    name: "versioned machine",
    vm: { machine: "pc-q35-8.1" },
    key: "machine",
    stored: "pc-q35-8.1",
  },
  { name: "BIOS", vm: { bios: "ovmf" }, key: "bios", stored: "ovmf" },
  {
    name: "guest agent",
    vm: { agent: { enabled: true, fstrimClonedDisks: true, type: "virtio" } },
    key: "agent",
    stored: "1,fstrim_cloned_disks=1,type=virtio",
  },
  { name: "guest agent off", vm: { agent: { enabled: false } }, key: "agent", stored: "0" },
  {
    name: "startup order",
    vm: { startup: { order: 3, up: 30, down: 60 } },
    key: "startup",
    stored: "order=3,up=30,down=60",
  },
];

for (const c of VM_CASES) {
  Deno.test(`a clone stores the ${c.name} option of the vm block exactly`, async () => {
    await withFake(async ({ fake, provider, cfg }) => {
      const r = await provider.create(claimFor("opt"), { ...cloneTemplate, vm: c.vm }, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      const stored = storedConfig(fake, r.value.vmid);
      assert.equal(stored.values.get(c.key), c.stored);
    });
  });
}

Deno.test("sockets split the shape's vCPUs: 2 sockets of 1 core for a 2-vCPU shape", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const r = await provider.create(
      claimFor("topo"),
      { ...cloneTemplate, vm: { sockets: 2 } },
      cfg,
    );
    assert.ok(r.ok, JSON.stringify(r));
    const v = storedConfig(fake, r.value.vmid).values;
    assert.equal(v.get("sockets"), "2");
    assert.equal(v.get("cores"), "1");
  });
});

Deno.test("a clone of a template without an EFI disk gets one on the configured storage, sized like the OVMF vars", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const vm: VmOptions = {
      bios: "ovmf",
      efiDisk: { storage: "local-lvm", efiType: "4m", preEnrolledKeys: true },
    };
    const r = await provider.create(claimFor("efi"), { ...cloneTemplate, vm }, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    const efi = storedConfig(fake, r.value.vmid).values.get("efidisk0");
    assert.match(
      String(efi),
      new RegExp(
        `^local-lvm:vm-${r.value.vmid}-disk-\\d+,efitype=4m,pre-enrolled-keys=1,size=528K$`,
      ),
    );
  });
});

Deno.test("the description template is stored below the identity lines, filled in for the claim", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const claim = claimFor("desc");
    const vm: VmOptions = { description: "pool {{ nodePool }}\nclaim {{nodeClaim}} ({{ shape }})" };
    const r = await provider.create(claim, { ...cloneTemplate, vm }, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    const d = storedConfig(fake, r.value.vmid).description;
    assert.ok(d.startsWith(`proxscale.io/nodeclaim=${claim.name}\n`), d);
    assert.ok(d.endsWith(`\npool general\nclaim ${claim.name} (2c-4Gi)`), d);
    const listed = await provider.list();
    assert.ok(listed.ok);
    assert.ok(listed.value.some((m) => m.claim === claim.name), "still recognised as ours");
  });
});

/** One NIC option at a time on net0, and the stored NIC text after the generated MAC. */
const NIC_CASES: { name: string; nic: Partial<MachineTemplate["network"][0]>; stored: string }[] = [
  { name: "model e1000", nic: { model: "e1000" }, stored: "bridge=vmbr0" },
  { name: "queues", nic: { queues: 4 }, stored: "bridge=vmbr0,queues=4" },
  { name: "MTU", nic: { mtu: 9000 }, stored: "bridge=vmbr0,mtu=9000" },
  { name: "VLAN tag", nic: { vlan: 20 }, stored: "bridge=vmbr0,tag=20" },
  { name: "firewall", nic: { firewall: true }, stored: "bridge=vmbr0,firewall=1" },
];

for (const c of NIC_CASES) {
  Deno.test(`a clone stores the NIC ${c.name} option exactly`, async () => {
    await withFake(async ({ fake, provider, cfg }) => {
      const network = [{ ...cloneTemplate.network[0]!, ...c.nic }];
      const r = await provider.create(claimFor("nic"), { ...cloneTemplate, network }, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      const net0 = String(storedConfig(fake, r.value.vmid).values.get("net0"));
      const model = c.nic.model ?? "virtio";
      assert.match(net0, new RegExp(`^${model}=([0-9A-F]{2}:){5}[0-9A-F]{2},${c.stored}$`));
    });
  });
}

/** One disk option at a time on the template's scsi0 (and a new scsi1), as PVE prints them. */
const DISK_CASES: { name: string; opts: Partial<MachineTemplate["disks"][0]>; stored: RegExp }[] = [
  { name: "cache", opts: { cache: "writeback" }, stored: /,cache=writeback,/ },
  { name: "iothread off", opts: { iothread: false }, stored: /,iothread=0,/ },
  { name: "discard ignore", opts: { discard: false }, stored: /,discard=ignore,/ },
  { name: "ssd off", opts: { ssd: false }, stored: /,ssd=0$/ },
];

for (const c of DISK_CASES) {
  Deno.test(`a clone stores the disk ${c.name} option exactly, on the cloned disk and a new one`, async () => {
    await withFake(async ({ fake, provider, cfg }) => {
      const disks = [
        { slot: "scsi0", storage: "local-lvm", size: 32 * GiB, ...c.opts },
        { slot: "scsi1", storage: "local-lvm", size: 8 * GiB, ...c.opts },
      ];
      const r = await provider.create(claimFor("disk"), { ...cloneTemplate, disks }, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      const v = storedConfig(fake, r.value.vmid).values;
      assert.match(String(v.get("scsi0")), c.stored);
      assert.match(String(v.get("scsi1")), c.stored);
    });
  });
}

Deno.test("a scratch build and a clone of the same vm block end with the same option values", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const vm: VmOptions = {
      cpu: { type: "EPYC-Rome", flags: ["+aes"] },
      numa: true,
      machine: "q35",
      agent: { enabled: true },
      startup: { order: 7 },
    };
    const a = await provider.create(claimFor("both"), { ...cloneTemplate, vm }, cfg);
    const b = await provider.create(claimFor("both"), { ...fixture, vm }, cfg);
    assert.ok(a.ok && b.ok, JSON.stringify([a, b]));
    const va = storedConfig(fake, a.value.vmid).values;
    const vb = storedConfig(fake, b.value.vmid).values;
    for (const k of ["cpu", "numa", "machine", "agent", "startup", "sockets"]) {
      assert.equal(va.get(k), vb.get(k), k);
      assert.ok(va.get(k) !== undefined, k);
    }
  });
});

Deno.test("a value PVE refuses, forced past the config loader, is a 400 from the fake and leaves no VM", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const bad = { ...cloneTemplate, vm: { cpu: { type: "host", flags: ["+avx512f"] } } };
    const r = await provider.create(claimFor("bad"), bad, cfg);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "Api");
    assert.match(r.error.message, /Parameter verification failed/);
    const pe = (r.error as { error?: { kind?: string; errors?: Record<string, string> } }).error;
    assert.equal(pe?.kind, "validation");
    assert.match(String(pe?.errors?.cpu), /VM-specific CPU flags must be a subset of/);
    const listed = await provider.list();
    assert.ok(listed.ok);
    assert.deepEqual(listed.value, [], "the half-made clone was removed");
    for (const node of ["pve1", "pve2"]) {
      const vms = fake.model.listQemu(node);
      assert.ok(vms.ok);
      assert.deepEqual(vms.value.filter((v) => v.template !== 1).map((v) => v.vmid), [], node);
    }
  });
});

Deno.test("setting a machine type needs VM.Config.HWType: without it the fake answers 403 and no VM is left", async () => {
  await withFake(async ({ fake, provider, cfg }) => {
    const all = [
      "VM.Audit",
      "VM.Clone",
      "VM.Allocate",
      "VM.Config.CPU",
      "VM.Config.Memory",
      "VM.Config.Disk",
      "VM.Config.Network",
      "VM.Config.Options",
      "VM.Config.Cloudinit",
      "VM.Config.CDROM",
      "VM.PowerMgmt",
      "Datastore.Audit",
      "Datastore.AllocateSpace",
      "Datastore.AllocateTemplate",
      "Datastore.Allocate",
      "Sys.Audit",
      "SDN.Use",
      "Pool.Audit",
      "Pool.Allocate",
    ];
    fake.auth.addToken({
      id: fake.tokenId,
      secret: fake.tokenSecret,
      acls: [{ path: "/", privs: all }],
    });
    const ok = await provider.create(claimFor("hw"), { ...cloneTemplate, vm: { numa: true } }, cfg);
    assert.ok(ok.ok, JSON.stringify(ok));
    const r = await provider.create(claimFor("hw"), {
      ...cloneTemplate,
      vm: { machine: "q35" },
    }, cfg);
    assert.ok(!r.ok);
    assert.match(r.error.message, /403|VM\.Config\.HWType/);
    const listed = await provider.list();
    assert.ok(listed.ok);
    assert.deepEqual(listed.value.map((m) => m.vmid), [ok.value.vmid]);
  });
});
