import assert from "node:assert/strict";
import type { MachineTemplate, Provider } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { ok } from "../../core/result.ts";
import { type FakePve, startFakePve } from "../../fakes/fake_pve/server.ts";
import { PveClient } from "./client.ts";
import type { SeedIsoRequest, SeedTarget } from "../../daemon/ports/provider.ts";
import { ProxmoxProvider } from "./provider.ts";
import { EMPTY_CDROM, macsOf } from "./seed_iso.ts";
import { claim, provider as baseProvider, template as baseTemplate } from "./testing/fixtures.ts";

const FAST = {
  durations: { qmcreate: 10, qmconfig: 5, qmstart: 10, qmstop: 5, qmdestroy: 10, imgcopy: 5 },
  cloneBytesPerSecond: 1024 * GiB,
  lockWaitMs: 300,
  cloneLockWaitMs: 100,
  createLockWaitMs: 100,
  storageLockWaitMs: 300,
};

const template: MachineTemplate = {
  ...baseTemplate,
  bootstrap: { mode: "nocloudIso", template: "kubeadm", isoStorage: "local" },
};

type Env = { fake: FakePve; client: PveClient; cfg: Provider; provider: ProxmoxProvider };

async function withFake(body: (env: Env) => Promise<void>): Promise<void> {
  const fake = await startFakePve({ hosts: 2, seed: 3, model: { timing: FAST } });
  const client = new PveClient({
    endpoint: fake.url,
    tokenId: fake.tokenId,
    tokenSecret: fake.tokenSecret,
    tls: { fingerprint: fake.fingerprint },
    timeoutMs: 5000,
    retry: { attempts: 3, baseMs: 5, maxMs: 20 },
    task: { pollMinMs: 5, pollMaxMs: 20, deadlineMs: 10_000 },
  });
  const cfg: Provider = {
    ...baseProvider,
    endpoint: fake.url,
    hosts: ["pve1", "pve2"].map((name) => ({
      name,
      zone: name,
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      reserved: { cpu: 0, memory: 0 },
    })),
  };
  const provider = new ProxmoxProvider({
    client,
    provider: cfg,
    timings: { poll: 10, retryBase: 10, ambiguousGrace: 100, taskDeadline: 10_000 },
  });
  try {
    await body({ fake, client, cfg, provider });
  } finally {
    client.close();
    await fake.close();
  }
}

const BYTES = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) % 256);

function seedRequest(targets: SeedTarget[], bytes = BYTES): SeedIsoRequest {
  return {
    storage: "local",
    slot: "ide3",
    name: `proxscale-cidata-${claim.name}.iso`,
    build: (t) => {
      targets.push(t);
      return Promise.resolve(ok(bytes));
    },
  };
}

Deno.test("the seed ISO is built for the VM's host, VMID and MACs, uploaded there and attached before start", async () => {
  await withFake(async ({ fake, client, cfg, provider }) => {
    const targets: SeedTarget[] = [];
    const r = await provider.create(claim, template, cfg, { seedIso: seedRequest(targets) });
    assert.ok(r.ok, JSON.stringify(r));
    const m = r.value;
    assert.equal(targets.length, 1);
    assert.equal(targets[0]!.host, m.host);
    assert.equal(targets[0]!.vmid, m.vmid);
    const conf = await client.vmConfig(m.host, m.vmid);
    assert.ok(conf.ok);
    assert.deepEqual(targets[0]!.macs, macsOf(conf.value));
    assert.match(targets[0]!.macs.net0 ?? "", /^BC:24:11:/);
    const volid = `local:iso/proxscale-cidata-${claim.name}.iso`;
    assert.equal(conf.value.ide3, `${volid},media=cdrom`);
    assert.deepEqual(fake.model.volumeData(m.host, volid), BYTES, "the bytes arrived intact");
    // Uploaded to the VM's own host only, and the upload finished before the VM started.
    const other = m.host === "pve1" ? "pve2" : "pve1";
    assert.equal(fake.model.volumeData(other, volid), undefined);
    const tasks = [...fake.model.st.tasks.values()];
    const upload = tasks.find((t) => t.type === "imgcopy");
    const start = tasks.find((t) => t.type === "qmstart" && t.id === String(m.vmid));
    assert.ok(upload && start);
    assert.equal(upload.node, m.host);
    assert.ok((upload.endtime ?? Infinity) <= start.starttime, "ISO in place before start");
    // A repeated create (a restarted launch) adopts the running VM and keeps its seed: a new
    // token would break the join already under way.
    const again = await provider.create(claim, template, cfg, { seedIso: seedRequest(targets) });
    assert.ok(again.ok && again.value.vmid === m.vmid, JSON.stringify(again));
    assert.equal(targets.length, 1, "no second seed for a VM that booted from the first");
  });
});

Deno.test("release detaches the ISO and deletes the volume; again it is a no-op; a destroy alone keeps the ISO", async () => {
  await withFake(async ({ fake, client, cfg, provider }) => {
    const req = seedRequest([]);
    const r = await provider.create(claim, template, cfg, { seedIso: req });
    assert.ok(r.ok, JSON.stringify(r));
    const m = r.value;
    const volid = `local:iso/${req.name}`;
    const first = await provider.releaseSeedIso(claim.name, req);
    assert.ok(first.ok, JSON.stringify(first));
    assert.deepEqual(first.value, { detached: true, deleted: [m.host] });
    const conf = await client.vmConfig(m.host, m.vmid);
    assert.ok(conf.ok);
    assert.equal(conf.value.ide3, EMPTY_CDROM);
    assert.equal(fake.model.volumeData(m.host, volid), undefined);
    const again = await provider.releaseSeedIso(claim.name, req);
    assert.ok(again.ok);
    assert.deepEqual(again.value, { detached: false, deleted: [] });

    // A second launch, destroyed with its ISO attached: the ISO outlives the VM until released.
    const c2 = { ...claim, name: "general-b2" };
    const req2 = { ...seedRequest([]), name: "proxscale-cidata-general-b2.iso" };
    const r2 = await provider.create(c2, template, cfg, { seedIso: req2 });
    assert.ok(r2.ok, JSON.stringify(r2));
    assert.ok((await provider.delete(r2.value)).ok);
    const volid2 = `local:iso/${req2.name}`;
    assert.ok(fake.model.volumeData(r2.value.host, volid2), "ISO survives the VM's destroy");
    const rel = await provider.releaseSeedIso(c2.name, req2);
    assert.ok(rel.ok);
    assert.deepEqual(rel.value, { detached: false, deleted: [r2.value.host] });
    assert.equal(fake.model.volumeData(r2.value.host, volid2), undefined);
  });
});

Deno.test("a seed that cannot be built removes the VM; no host with the iso storage means no VM at all", async () => {
  await withFake(async ({ fake, cfg, provider }) => {
    const failing: SeedIsoRequest = {
      ...seedRequest([]),
      build: () => Promise.resolve({ ok: false, error: "join token Secret: forbidden" }),
    };
    const r = await provider.create(claim, template, cfg, { seedIso: failing });
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "BootstrapFailed");
    assert.match(r.error.message, /join token Secret: forbidden \(the VM was removed\)/);
    const left = await provider.list();
    assert.ok(left.ok);
    assert.deepEqual(left.value, []);

    const noStorage: SeedIsoRequest = { ...seedRequest([]), storage: "nowhere" };
    const r2 = await provider.create(claim, template, cfg, { seedIso: noStorage });
    assert.ok(!r2.ok);
    assert.equal(r2.error.kind, "InvalidTemplate");
    assert.match(r2.error.message, /pve1 has no iso storage nowhere/);
    const res = fake.model.resources("vm");
    assert.ok(res.ok);
    assert.equal(res.value.filter((v) => !v.template).length, 0, "nothing was created");
  });
});

Deno.test("uploadIso refuses a storage without iso content; deleteVolume of a missing volume is an error", async () => {
  await withFake(async ({ client }) => {
    const up = await client.uploadIso("pve1", "local-lvm", "x.iso", BYTES);
    assert.ok(!up.ok);
    assert.match(up.error.message, /does not support 'iso' content/);
    const del = await client.deleteVolume("pve1", "local", "local:iso/none.iso");
    assert.ok(!del.ok);
    assert.match(del.error.message, /does not exist/);
  });
});
