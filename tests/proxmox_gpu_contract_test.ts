/**
 * Contract suite for GPU shapes against the fake PVE: the provider discovers each host's
 * passthrough devices from the cluster's PCI mappings and its hardware, minus what VMs hold;
 * a GPU shape's clone gets `hostpciN: mapping=NAME,pcie=1` and a q35 machine; a host whose
 * only device a foreign running VM holds is passed over; an mdev type depletes; and a device
 * taken behind proxscale's back fails the start with a clear reason and leaves no VM.
 */
import assert from "node:assert/strict";
import type { MachineTemplate, NodeClaim, Shape } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { claim as baseClaim, template as fixture } from "../adapters/proxmox/testing/fixtures.ts";
import { type FakePve, startFakePve } from "../fakes/fake_pve/server.ts";
import { gpuSeed } from "../fakes/fake_pve/pci_inventory.ts";
import {
  addJoinSnippet,
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

const A100: Shape = {
  name: "2c-4Gi-1xgpu",
  cpu: 2000,
  memory: 4 * GiB,
  gpus: { count: 1, mapping: "gpu" },
};
const T4_230: Shape = {
  name: "2c-4Gi-1xT4-nvidia-230",
  cpu: 2000,
  memory: 4 * GiB,
  gpus: { count: 1, model: "T4", mdev: "nvidia-230" },
};

function gpuTemplate(shape: Shape): MachineTemplate {
  return {
    ...fixture,
    shapes: [baseClaim.shape, shape],
    source: {
      kind: "clone",
      perHost: { pve1: 9000, pve2: 9001 },
      full: true,
      storage: "local-lvm",
    },
    disks: [],
    network: [{ slot: "net0", model: "virtio", bridge: "vmbr0", ipconfig: "ip=dhcp" }],
  };
}

/** The fake's stored `key: value` lines of `vmid` (current config, pending changes left out). */
function stored(fake: FakePve, vmid: number): Map<string, string> {
  const text = fake.model.configFileText(vmid);
  assert.ok(text !== undefined, `VM ${vmid} has no config file`);
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "[PENDING]") break;
    if (!line.startsWith("#") && line.includes(": ")) {
      out.set(line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2));
    }
  }
  return out;
}

type Env = { fake: FakePve; provider: ProxmoxProvider; cfg: ReturnType<typeof fakeProviderConfig> };

async function withFake(
  pci: ReturnType<typeof gpuSeed>,
  body: (env: Env) => Promise<void>,
): Promise<void> {
  const fake = await startFakePve({
    hosts: 2,
    seed: 7,
    model: { timing: fastPveTiming(300), pci },
  });
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

/** Is `vmid` in the Provider's managed range (a VM proxscale made)? */
const inRange = (cfg: Env["cfg"], vmid: number) =>
  vmid >= cfg.vmidRange.lower && vmid <= cfg.vmidRange.upper;

let serial = 0;
const claimFor = (shape: Shape): NodeClaim => ({
  ...baseClaim,
  name: `gpu-${serial++}`,
  shape,
});

/** Free devices per host as the provider's inventory says (mapping -> free, mdev types). */
async function devices(provider: ProxmoxProvider, template: MachineTemplate) {
  const inv = await provider.inventory([template]);
  assert.ok(inv.ok, JSON.stringify(inv));
  return Object.fromEntries(inv.value.map((h) => [h.name, h.devices]));
}

Deno.test("a GPU shape clones with a hostpci mapping line and a q35 machine, and the device is then taken", async () => {
  await withFake(gpuSeed({ pve1: 1, pve2: 1 }), async ({ fake, provider, cfg }) => {
    const t = gpuTemplate(A100);
    const before = await devices(provider, t);
    assert.deepEqual(before.pve1, [{ mapping: "gpu", free: 1, model: "GA100 [A100 PCIe 40GB]" }]);
    assert.deepEqual(before.pve2, [{ mapping: "gpu", free: 1, model: "GA100 [A100 PCIe 40GB]" }]);
    // A template without GPU shapes costs no device reads: hosts carry no device list.
    const plain = await provider.inventory([{ ...t, shapes: [baseClaim.shape] }]);
    assert.ok(plain.ok && plain.value.every((h) => h.devices === undefined));
    const r = await provider.create(claimFor(A100), t, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    const conf = stored(fake, r.value.vmid);
    assert.equal(conf.get("hostpci0"), "mapping=gpu,pcie=1");
    assert.equal(conf.get("machine"), "q35");
    assert.equal(conf.has("hostpci1"), false);
    assert.equal(r.value.status, "running");
    const after = await devices(provider, t);
    assert.equal(after[r.value.host]![0]!.free, 0);
    // A CPU shape of the same template gets no device.
    const cpu = await provider.create(claimFor(baseClaim.shape), t, cfg);
    assert.ok(cpu.ok, JSON.stringify(cpu));
    assert.equal(stored(fake, cpu.value.vmid).has("hostpci0"), false);
  });
});

Deno.test("a second GPU VM lands on the other host when a foreign running VM holds the only device", async () => {
  await withFake(gpuSeed({ pve1: 1, pve2: 1 }), async ({ fake, provider, cfg }) => {
    fake.model.addVm({
      vmid: 500,
      node: "pve1",
      name: "someone-elses-gpu-vm",
      config: { hostpci0: "mapping=gpu" },
      running: true,
    });
    const t = gpuTemplate(A100);
    const d = await devices(provider, t);
    assert.equal(d.pve1![0]!.free, 0);
    assert.equal(d.pve2![0]!.free, 1);
    const first = await provider.create(claimFor(A100), t, cfg);
    assert.ok(first.ok, JSON.stringify(first));
    assert.equal(first.value.host, "pve2");
    // No device is left anywhere: the next GPU VM is refused with a reason, never launched.
    const second = await provider.create(claimFor(A100), t, cfg);
    assert.ok(!second.ok);
    assert.equal(second.error.kind, "NoHost");
    assert.match(second.error.message, /1 GPU of mapping 'gpu'/);
    const ours = [...fake.model.st.vms.keys()].filter((id) => inRange(cfg, id));
    assert.equal(ours.length, 1);
  });
});

Deno.test("an mdev type depletes: its one instance goes to the first VM, the next finds none", async () => {
  await withFake(gpuSeed({ pve1: 1 }, { model: "t4" }), async ({ fake, provider, cfg }) => {
    const t = gpuTemplate(T4_230);
    const d = await devices(provider, t);
    assert.equal(d.pve1![0]!.model, "TU104GL [Tesla T4]");
    assert.equal(d.pve1![0]!.mdev?.["nvidia-230"], 1);
    assert.equal(d.pve2, undefined);
    const first = await provider.create(claimFor(T4_230), t, cfg);
    assert.ok(first.ok, JSON.stringify(first));
    assert.equal(first.value.host, "pve1");
    assert.equal(
      stored(fake, first.value.vmid).get("hostpci0"),
      "mapping=gpu,pcie=1,mdev=nvidia-230",
    );
    const after = await devices(provider, t);
    assert.equal(after.pve1![0]!.mdev?.["nvidia-230"], 0);
    const second = await provider.create(claimFor(T4_230), t, cfg);
    assert.ok(!second.ok);
    assert.equal(second.error.kind, "NoHost");
  });
});

Deno.test("a foreign VM passing the device by its raw PCI id holds it too", async () => {
  await withFake(gpuSeed({ pve1: 1, pve2: 1 }), async ({ fake, provider, cfg }) => {
    fake.model.addVm({
      vmid: 502,
      node: "pve1",
      name: "raw-passthrough",
      config: { hostpci0: "0000:41:00.0,pcie=1", machine: "q35" },
      running: true,
    });
    const t = gpuTemplate(A100);
    const d = await devices(provider, t);
    assert.equal(d.pve1![0]!.free, 0);
    const r = await provider.create(claimFor(A100), t, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.host, "pve2");
  });
});

Deno.test("a device taken behind proxscale's back fails the start with a clear reason and leaves no VM", async () => {
  const seed = gpuSeed({ pve1: 1 });
  // A second mapping over the same physical device: what one holds, the other cannot start.
  seed.mappings!.push({ ...seed.mappings![0]!, id: "gpu-b" });
  await withFake(seed, async ({ fake, provider, cfg }) => {
    fake.model.addVm({
      vmid: 501,
      node: "pve1",
      name: "other-mapping",
      config: { hostpci0: "mapping=gpu-b" },
      running: true,
    });
    const t = gpuTemplate(A100);
    const r = await provider.create(claimFor(A100), t, cfg);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "Api");
    assert.match(r.error.message, /PCI passthrough device not free on pve1/);
    assert.match(r.error.message, /already in use by VMID '501'/);
    assert.match(r.error.message, /the VM was removed/);
    const left = [...fake.model.st.vms.keys()].filter((id) => inRange(cfg, id));
    assert.equal(left.length, 0);
  });
});
