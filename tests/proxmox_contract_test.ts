/**
 * Contract suite: the real Proxmox provider and PVE client against the fake PVE over TLS
 * (pinned fingerprint). Create from scratch and by clone, list, delete, adoption after a crash,
 * inventory, and the disk/NIC/cloud-init values as PVE stores them.
 */
import assert from "node:assert/strict";
import type { MachineTemplate, NodeClaim, Provider } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { PveClient, type PveClientOptions } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import {
  claim as baseClaim,
  template as scratchTemplate,
} from "../adapters/proxmox/testing/fixtures.ts";
import { type FakePve, type FaultConfig, startFakePve } from "../fakes/fake_pve/server.ts";
import {
  addJoinSnippet,
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

type Env = {
  fake: FakePve;
  client: PveClient;
  cfg: Provider;
  make: (o?: { seed?: number; cfg?: Provider }) => ProxmoxProvider;
  clients: PveClient[];
};

async function withFake(
  opts: { faults?: FaultConfig; client?: Partial<PveClientOptions>; statsLagMs?: number },
  body: (env: Env) => Promise<void>,
): Promise<void> {
  const fake = await startFakePve({
    hosts: 2,
    seed: 7,
    ...(opts.faults ? { faults: opts.faults } : {}),
    model: {
      timing: fastPveTiming(300),
      ...(opts.statsLagMs !== undefined ? { statsLagMs: opts.statsLagMs } : {}),
    },
  });
  addJoinSnippet(fake);
  const clients: PveClient[] = [];
  const newClient = () => {
    const c = fakePveClient(fake, opts.client);
    clients.push(c);
    return c;
  };
  const client = newClient();
  const cfg = fakeProviderConfig(fake);
  const make = (o: { seed?: number; cfg?: Provider } = {}) =>
    new ProxmoxProvider({
      client: o.seed === undefined ? client : newClient(),
      provider: o.cfg ?? cfg,
      seed: o.seed ?? 1,
      vmMemOverhead: 0,
      timings: FAST_PROVIDER_TIMINGS,
    });
  try {
    await body({ fake, client, cfg, make, clients });
  } finally {
    for (const c of clients) c.close();
    await fake.close();
  }
}

const claimNamed = (name: string, shape = baseClaim.shape): NodeClaim => ({
  ...baseClaim,
  name,
  shape,
});

Deno.test("create from scratch: disk, NIC and cloud-init land in the config as PVE stores them", async () => {
  await withFake({}, async ({ client, cfg, make }) => {
    const p = make();
    const r = await p.create(baseClaim, scratchTemplate, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    const m = r.value;
    assert.equal(m.claim, baseClaim.name);
    assert.equal(m.name, baseClaim.name);
    assert.ok(m.vmid >= 1000 && m.vmid <= 1099);
    assert.deepEqual(m.size, { cpu: 2000, memory: 4 * GiB });
    const c = await client.vmConfig(m.host, m.vmid);
    assert.ok(c.ok);
    const conf = c.value;
    assert.equal(
      conf.scsi1,
      `local-lvm:vm-${m.vmid}-disk-0,discard=on,serial=CONTAINERD01,size=16G,ssd=1`,
    );
    assert.match(
      String(conf.net0),
      /^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,tag=20$/,
    );
    assert.equal(conf.ide2, `local-lvm:vm-${m.vmid}-cloudinit,media=cdrom`);
    assert.equal(conf.ipconfig0, "ip=dhcp");
    assert.equal(conf.ciuser, "core");
    assert.equal(conf.sshkeys, "ssh-ed25519%20AAAAC3Nza%20me%40host%0A");
    assert.equal(conf.cicustom, "user=local:snippets/join.yaml");
    assert.equal(conf.nameserver, "10.0.0.1");
    assert.equal(conf.searchdomain, "lan");
    assert.equal(conf.memory, 4096, "memory is the shape's guest memory, no overhead");
    assert.equal(conf.cores, 2);
    assert.equal(conf.boot, "order=net0");
    assert.equal(conf.ostype, "l26");
    assert.equal(conf.tags, "k8s;pool-a;proxscale");
    assert.match(String(conf.description), /^proxscale\.io\/nodeclaim=general-x7k2p$/m);
    const st = await client.vmStatus(m.host, m.vmid);
    assert.ok(st.ok && st.value.status === "running");
  });
});

Deno.test("clone: linked from a shared template vs full from a per-host template, then configured", async () => {
  await withFake({}, async ({ fake, client, cfg, make }) => {
    fake.model.addTemplate(9100, "pve1", "ceph");
    const p = make();
    const disks = [
      { slot: "scsi0", storage: "ceph", size: 40 * GiB },
      {
        slot: "scsi1",
        storage: "ceph",
        size: 8 * GiB,
        serial: "SCRATCH1",
        iothread: true,
        cache: "none" as const,
      },
    ];
    const linked: MachineTemplate = {
      ...scratchTemplate,
      source: { kind: "clone", templateVmid: 9100, full: false },
      disks,
      resourcePool: undefined as never,
    };
    delete (linked as { resourcePool?: string }).resourcePool;
    const a = await p.create(claimNamed("linked-a"), linked, cfg);
    assert.ok(a.ok, JSON.stringify(a));
    const ca = await client.vmConfig(a.value.host, a.value.vmid);
    assert.ok(ca.ok);
    assert.match(
      String(ca.value.scsi0),
      new RegExp(`^ceph:base-9100-disk-0/vm-${a.value.vmid}-disk-0,.*size=40G`),
    );
    assert.equal(
      ca.value.scsi1,
      `ceph:vm-${a.value.vmid}-disk-1,cache=none,iothread=1,serial=SCRATCH1,size=8G`,
    );

    const full: MachineTemplate = {
      ...scratchTemplate,
      source: {
        kind: "clone",
        perHost: { pve1: 9000, pve2: 9001 },
        full: true,
        storage: "local-lvm",
      },
      disks: [],
    };
    const b = await p.create(claimNamed("full-b"), full, cfg);
    assert.ok(b.ok, JSON.stringify(b));
    const cb = await client.vmConfig(b.value.host, b.value.vmid);
    assert.ok(cb.ok);
    assert.match(String(cb.value.scsi0), new RegExp(`^local-lvm:vm-${b.value.vmid}-disk-0,`));
    assert.equal(cb.value.name, "full-b");
    assert.equal(cb.value.tags, "k8s;pool-a;proxscale");
    assert.equal(cb.value.memory, 4096);
    const listed = await p.list();
    assert.ok(listed.ok);
    assert.deepEqual(listed.value.map((m) => m.claim).sort(), ["full-b", "linked-a"]);
  });
});

Deno.test("list returns only VMs with the exact managed tag and a claim identity", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    fake.model.addVm({
      vmid: 500,
      node: "pve1",
      name: "tagged-only",
      config: { tags: "proxscale" },
    });
    fake.model.addVm({
      vmid: 501,
      node: "pve1",
      name: "look-alike",
      config: { tags: "proxscale-template" },
      description: "proxscale.io/nodeclaim=look-alike",
    });
    const p = make();
    const r = await p.create(baseClaim, scratchTemplate, cfg);
    assert.ok(r.ok);
    const listed = await p.list();
    assert.ok(listed.ok);
    assert.deepEqual(listed.value.map((m) => [m.vmid, m.claim]), [[r.value.vmid, baseClaim.name]]);
  });
});

Deno.test("delete stops, destroys with purge, is idempotent, and refuses a foreign VM", async () => {
  await withFake({}, async ({ fake, client, cfg, make }) => {
    const p = make();
    const r = await p.create(baseClaim, scratchTemplate, cfg);
    assert.ok(r.ok);
    const foreign = { ...r.value, claim: "someone-else" };
    const refused = await p.delete(foreign);
    assert.ok(!refused.ok && refused.error.kind === "NotOwned", JSON.stringify(refused));
    assert.ok((await client.vmConfig(r.value.host, r.value.vmid)).ok, "the VM is untouched");
    const del = await p.delete(r.value);
    assert.ok(del.ok, JSON.stringify(del));
    const gone = await client.vmConfig(r.value.host, r.value.vmid);
    assert.ok(!gone.ok && gone.error.kind === "notFound");
    const calls = fake.requests.filter((q) => q.path.includes(`/qemu/${r.value.vmid}`));
    const stopAt = calls.findIndex((q) => q.path.endsWith("/status/stop"));
    const delAt = calls.findIndex((q) => q.method === "DELETE");
    assert.ok(stopAt >= 0 && delAt > stopAt, "stop before destroy");
    assert.ok(
      calls.slice(stopAt + 1, delAt).some((q) => q.path.includes("/tasks/")) ||
        fake.requests.some((q) => q.path.includes("qmstop")),
      "the stop task was awaited",
    );
    const delReq = calls[delAt]!;
    assert.equal(delReq.params.purge, "1");
    assert.equal(delReq.params["destroy-unreferenced-disks"], "1");
    assert.ok((await p.delete(r.value)).ok, "already gone is success");
  });
});

Deno.test("create is idempotent per claim: a retry or a new process adopts the existing VM", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    const first = await make().create(baseClaim, scratchTemplate, cfg);
    assert.ok(first.ok);
    const again = await make({ seed: 99 }).create(baseClaim, scratchTemplate, cfg);
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(again.value.vmid, first.value.vmid);
    const creates = fake.requests.filter((q) => q.method === "POST" && /\/qemu$/.test(q.path));
    assert.equal(creates.length, 1, "one create call for one claim");
    const both = await Promise.all([
      make().create(claimNamed("twice"), scratchTemplate, cfg),
      make().create(claimNamed("twice"), scratchTemplate, cfg),
    ]);
    assert.ok(both[0].ok && both[1].ok);
  });
});

Deno.test("inventory: capacity from PVE, committed memory of every VM plus overhead, health", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    const p = make();
    const before = await p.inventory();
    assert.ok(before.ok);
    const h1 = before.value.find((h) => h.name === "pve1")!;
    assert.equal(h1.online, true);
    assert.deepEqual(h1.capacity, { cpu: 32_000, memory: 128 * GiB });
    assert.deepEqual(h1.committed, { cpu: 0, memory: 0 }, "templates do not count");
    const r = await p.create(baseClaim, scratchTemplate, cfg);
    assert.ok(r.ok);
    const after = await p.inventory();
    assert.ok(after.ok);
    const h = after.value.find((x) => x.name === r.value.host)!;
    assert.deepEqual(h.committed, { cpu: 2000, memory: 4 * GiB });
    fake.faults.update({ offlineNodes: ["pve2"] });
    const off = await p.inventory();
    assert.ok(off.ok);
    assert.equal(off.value.find((x) => x.name === "pve2")?.online, false);
  });
});

Deno.test("errors read from the reason phrase when PVE sends no message field (PVE < 8.3)", async () => {
  await withFake({ faults: { errorMessageField: false } }, async ({ client, cfg, make }) => {
    const missing = await client.vmConfig("pve1", 4242);
    assert.ok(!missing.ok);
    assert.equal(missing.error.kind, "notFound");
    assert.match(missing.error.pveMessage ?? "", /4242\.conf' does not exist/);
    const r = await make().create(baseClaim, scratchTemplate, cfg);
    assert.ok(r.ok, JSON.stringify(r));
  });
});

Deno.test("against the fake: wrong token is an auth error, wrong fingerprint a TLS refusal", async () => {
  await withFake({}, async ({ fake }) => {
    const wrongToken = new PveClient({
      endpoint: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: "00000000-0000-0000-0000-000000000000",
      tls: { fingerprint: fake.fingerprint },
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    });
    const pinned = "AA:" + fake.fingerprint.slice(3);
    const wrongPin = new PveClient({
      endpoint: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      tls: {
        fingerprint: pinned === fake.fingerprint ? "BB:" + fake.fingerprint.slice(3) : pinned,
      },
    });
    try {
      const a = await wrongToken.version();
      assert.ok(!a.ok);
      assert.equal(a.error.kind, "auth");
      assert.match(a.error.message, /401 .*token id or secret was rejected/);
      assert.ok(!a.error.message.includes("00000000-0000"));
      const before = fake.requests.length;
      const b = await wrongPin.version();
      assert.ok(!b.ok);
      assert.equal(b.error.kind, "tls");
      assert.ok(b.error.message.includes(fake.fingerprint));
      assert.match(b.error.message, /does not match the pinned fingerprint/);
      assert.equal(fake.requests.length, before, "nothing reached the server");
    } finally {
      wrongToken.close();
      wrongPin.close();
    }
  });
});

Deno.test("an ISO built by the bootstrap side is attached as a cdrom on create", async () => {
  await withFake({}, async ({ fake, client, cfg, make }) => {
    const iso = fake.model.addFile("pve1", "local", "iso", "general-x7k2p.iso");
    const noCloud: MachineTemplate = {
      ...scratchTemplate,
      bootstrap: { mode: "nocloudIso", sshKeys: ["ssh-ed25519 AAAAC3Nza me@host"] },
    };
    const one: Provider = { ...cfg, hosts: cfg.hosts.filter((h) => h.name === "pve1") };
    const r = await make({ cfg: one }).create(baseClaim, noCloud, one, { isoVolume: iso });
    assert.ok(r.ok, JSON.stringify(r));
    const c = await client.vmConfig(r.value.host, r.value.vmid);
    assert.ok(c.ok);
    assert.equal(c.value.ide2, "local:iso/general-x7k2p.iso,media=cdrom");
    assert.equal(c.value.cicustom, undefined, "no snippet in ISO mode");
  });
});

Deno.test("with 10 s statistics lag, fresh VMs are still found, listed and counted", async () => {
  await withFake({ statsLagMs: 10_000 }, async ({ cfg, make }) => {
    const p = make();
    const a = await p.create(claimNamed("lag-a"), scratchTemplate, cfg);
    const b = await p.create(claimNamed("lag-b"), scratchTemplate, cfg);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.value.vmid, b.value.vmid);
    const listed = await p.list();
    assert.ok(listed.ok);
    assert.deepEqual(listed.value.map((m) => m.claim).sort(), ["lag-a", "lag-b"]);
    const inv = await p.inventory();
    assert.ok(inv.ok);
    const committed = inv.value.reduce((sum, h) => sum + h.committed.memory, 0);
    assert.equal(committed, 8 * GiB, "configured memory, not lagging live usage");
    const again = await p.create(claimNamed("lag-a"), scratchTemplate, cfg);
    assert.ok(again.ok && again.value.vmid === a.value.vmid, "adopted, not recreated");
  });
});

Deno.test("bootstrap snippets are checked per host before create (PVE checks only at start)", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    fake.model.addFile("pve2", "local", "snippets", "only-pve2.yaml");
    const on2: MachineTemplate = {
      ...scratchTemplate,
      bootstrap: { ...scratchTemplate.bootstrap, cicustom: "user=local:snippets/only-pve2.yaml" },
    };
    const p = make();
    for (const name of ["snip-a", "snip-b"]) {
      const r = await p.create(claimNamed(name), on2, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value.host, "pve2", "only pve2 can read the snippet");
    }
    const nowhere: MachineTemplate = {
      ...scratchTemplate,
      bootstrap: { ...scratchTemplate.bootstrap, cicustom: "user=local:snippets/missing.yaml" },
    };
    const before = fake.requests.filter((q) => q.method === "POST").length;
    const bad = await p.create(claimNamed("snip-c"), nowhere, cfg);
    assert.ok(!bad.ok);
    assert.equal(bad.error.kind, "InvalidTemplate");
    assert.match(bad.error.message, /pve1 lacks local:snippets\/missing\.yaml/);
    assert.equal(
      fake.requests.filter((q) => q.method === "POST").length,
      before,
      "nothing created",
    );
  });
});

Deno.test("a claim with a planned host is launched on that host, never on another one", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    const p = make();
    for (const host of ["pve2", "pve1", "pve2"]) {
      const name = `planned-${host}-${fake.requests.length}`;
      const r = await p.create({ ...claimNamed(name), host }, scratchTemplate, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value.host, host, `${name} runs on the host the decision chose`);
    }
  });
});

Deno.test("a planned host that is offline or unknown fails the launch back with PlannedHostUnavailable", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    fake.faults.update({ offlineNodes: ["pve2"] });
    const p = make();
    for (const host of ["pve2", "pve9"]) {
      const r = await p.create({ ...claimNamed(`gone-${host}`), host }, scratchTemplate, cfg);
      assert.ok(!r.ok, `${host}: the launch must not pick another host`);
      assert.equal(r.error.kind, "NoHost");
      assert.ok(r.error.kind === "NoHost" && r.error.reason.code === "PlannedHostUnavailable");
      assert.match(r.error.message, new RegExp(host));
    }
    const creates = fake.requests.filter((q) => q.method === "POST" && /\/qemu$/.test(q.path));
    assert.equal(creates.length, 0, "no VM was made anywhere");
  });
});

Deno.test("a launched VM records its claim's creation time, and the listing reads it back for adoption", async () => {
  await withFake({}, async ({ fake, cfg, make }) => {
    const createdAt = Date.parse("2026-10-01T08:30:15.250Z");
    const p = make();
    const before = Date.now();
    const r = await p.create({ ...baseClaim, createdAt }, scratchTemplate, cfg);
    assert.ok(r.ok, JSON.stringify(r));
    // A VM launched before creation times were recorded: its identity lines only.
    fake.model.addVm({
      vmid: 1090,
      node: "pve2",
      name: "older",
      config: { tags: "proxscale" },
      description: "proxscale.io/nodeclaim=older\nproxscale.io/nodepool=general",
    });
    const listed = await make({ seed: 5 }).list();
    assert.ok(listed.ok, JSON.stringify(listed));
    const mine = listed.value.find((m) => m.claim === baseClaim.name)!;
    assert.equal(mine.claimCreatedAt, createdAt, "the exact time, to the millisecond");
    assert.ok(
      mine.vmCreatedAt !== undefined && mine.vmCreatedAt >= Math.floor(before / 1000) * 1000,
      `PVE's own creation time of the VM is read too: ${mine.vmCreatedAt}`,
    );
    const older = listed.value.find((m) => m.claim === "older")!;
    assert.equal(older.claimCreatedAt, undefined, "nothing recorded, nothing invented");
  });
});
