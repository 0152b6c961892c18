/**
 * The Redfish provider against the fake BMC and a real seed server: launch (seed fetched
 * once, one-time CD boot, power on), listing by the seed media, deletion (off, eject, free
 * again), restart mid-launch, and foreign machines left alone.
 */
import { deepEqual, equal, ok as assert } from "node:assert/strict";
import { type FakeRedfish, startFakeRedfish } from "../../fakes/fake_redfish/server.ts";
import type { PowerEvent } from "../../fakes/fake_redfish/model.ts";
import { issueCa, issueLeaf, serverSans } from "../../fakes/tls/pki.ts";
import type { MachineTemplate, NodeClaim, Provider } from "../../core/model.ts";
import { ok } from "../../core/result.ts";
import type { CreateOptions, SeedTarget } from "../../daemon/ports/provider.ts";
import { RedfishProvider } from "./provider.ts";
import { SeedServer } from "./seed_server.ts";

const GiB = 1024 ** 3;

function claimOf(name: string, cpus: number, gib: number, host?: string): NodeClaim {
  return {
    name,
    nodePool: "metal",
    machineTemplate: "metal",
    provider: "rack",
    shape: { name: `${cpus}c-${gib}Gi`, cpu: cpus * 1000, memory: gib * GiB },
    ...(host ? { host } : {}),
    createdAt: 0,
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [],
  };
}

const template = { name: "metal" } as MachineTemplate;
const provider = { name: "rack" } as Provider;

const targets: SeedTarget[] = [];

function seedOpts(bytes = new Uint8Array([0x43, 0x44, 0x30, 0x30, 0x31])): CreateOptions {
  return {
    seedIso: {
      storage: "",
      slot: "cd",
      name: "seed.iso",
      build: (t) => {
        targets.push(t);
        return Promise.resolve(ok(bytes));
      },
    },
  };
}

type World = {
  bmc: FakeRedfish;
  seeds: SeedServer;
  p: RedfishProvider;
  events: PowerEvent[];
  caPem: string;
};

async function world(
  fn: (w: World) => Promise<void>,
  specs = [{ cpus: 16, memoryGiB: 64 }, { cpus: 16, memoryGiB: 64 }, { cpus: 32, memoryGiB: 128 }],
): Promise<void> {
  const ca = await issueCa("proxscale seed CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans(),
  });
  const seeds = await SeedServer.start({ certPem: leaf.certPem, keyPem: leaf.keyPem });
  const bmc = await startFakeRedfish({
    systems: specs,
    model: { powerOnDelayMs: 50, imageCaPem: ca.caPem },
  });
  const events: PowerEvent[] = [];
  bmc.model.onPower((e) => events.push(e));
  const p = new RedfishProvider({
    provider: "rack",
    machines: [...bmc.model.systems.keys()].map((id, i) => ({
      name: `m${i + 1}`,
      zone: "rack-a",
      endpoint: bmc.url,
      systemId: id,
      username: "operator",
      password: () => "operator",
      trust: { mode: "fingerprint", fingerprints: [bmc.fingerprint] },
    })),
    seeds,
    client: { taskPollMs: 20, retry: { attempts: 2, baseMs: 1, maxMs: 2 } },
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
  });
  try {
    await fn({ bmc, seeds, p, events, caPem: ca.caPem });
  } finally {
    await p.close();
    await bmc.close();
    await seeds.close();
  }
}

async function statusOf(url: string, ca: string): Promise<number> {
  const https = await import("node:https");
  return await new Promise((resolve, reject) => {
    const req = https.request(url, { ca, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("inventory reads each machine's size from its System; a machine in use by someone else is full", async () => {
  await world(async ({ bmc, p }) => {
    bmc.model.setPower("node2", "On"); // foreign: on without proxscale media
    const inv = await p.inventory();
    assert(inv.ok);
    deepEqual(
      inv.value.map((
        h,
      ) => [h.name, h.online, h.capacity.cpu, h.capacity.memory / GiB, h.committed.cpu]),
      [
        ["m1", true, 16000, 64, 0],
        ["m2", true, 16000, 64, 16000],
        ["m3", true, 32000, 128, 0],
      ],
    );
  });
});

Deno.test("a launch inserts the seed on a one-time URL the BMC fetches once, boots once from CD and powers on", async () => {
  await world(async ({ bmc, seeds, p, events, caPem }) => {
    const made = await p.create(claimOf("metal-a", 32, 128), template, provider, seedOpts());
    assert(made.ok, JSON.stringify(made));
    equal(made.value.host, "m3", "the machine whose size is exactly the shape");
    const uuid = bmc.model.system("node3")!.uuid;
    equal(made.value.providerID, `redfish://rack/${uuid}`);
    equal(
      targets.at(-1)?.providerID,
      `redfish://rack/${uuid}`,
      "the seed names the Node's providerID",
    );
    await until("booted", () => events.some((e) => e.system === "node3" && e.state === "On"));
    const on = events.find((e) => e.system === "node3")!;
    equal(on.bootSource, "Cd");
    deepEqual([...on.image!.bytes], [0x43, 0x44, 0x30, 0x30, 0x31]);
    const media = bmc.model.system("node3")!.media;
    equal(media.fetches.length, 1);
    deepEqual(seeds.log.map((l) => l.status), [200]);
    equal(bmc.model.system("node3")!.boot.enabled, "Disabled", "the override was used once");
    equal(await statusOf(media.image, caPem), 410, "a second fetch of the seed URL is refused");
    const listed = await p.list();
    assert(listed.ok);
    deepEqual(listed.value.map((m) => [m.claim, m.host, m.status]), [["metal-a", "m3", "running"]]);
    const twice = await p.create(claimOf("metal-a", 32, 128), template, provider, seedOpts());
    assert(twice.ok);
    equal(twice.value.host, "m3");
    equal(
      bmc.model.system("node3")!.media.fetches.length,
      1,
      "the same claim is not launched twice",
    );
  });
});

Deno.test("a machine a launch is working on counts as full in inventory before its media shows", async () => {
  await world(async ({ p }) => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const opts: CreateOptions = {
      seedIso: {
        storage: "",
        slot: "cd",
        name: "seed.iso",
        build: async () => {
          await held; // the seed is still being built: nothing on the BMC yet
          return ok(new Uint8Array([1]));
        },
      },
    };
    const launch = p.create(claimOf("metal-h", 32, 128), template, provider, opts);
    await new Promise((r) => setTimeout(r, 300));
    const inv = await p.inventory();
    assert(inv.ok);
    equal(inv.value.find((h) => h.name === "m3")!.committed.cpu, 32000);
    release();
    assert((await launch).ok);
  });
});

Deno.test("deletion powers the machine off and ejects the media, returning it to the free set", async () => {
  await world(async ({ bmc, p }) => {
    const made = await p.create(claimOf("metal-b", 16, 64), template, provider, seedOpts());
    assert(made.ok);
    await until("on", () => bmc.model.system("node1")!.powerState === "On");
    assert((await p.delete(made.value)).ok);
    const s = bmc.model.system("node1")!;
    equal(s.powerState, "Off");
    equal(s.media.inserted, false);
    const listed = await p.list();
    assert(listed.ok);
    deepEqual(listed.value, []);
    const inv = await p.inventory();
    assert(inv.ok);
    equal(inv.value[0]!.committed.cpu, 0);
    assert((await p.delete(made.value)).ok, "deleting again is success");
  });
});

Deno.test("a launch cut short after the insert is finished on the same machine by the next create", async () => {
  await world(async ({ bmc, seeds, p }) => {
    // As if the daemon died right after InsertMedia: media in, machine off.
    const url = seeds.offer("rack", "metal-c", new Uint8Array([1]), 60_000);
    assert(!(await bmc.model.insertMedia("node2", { Image: url })));
    const listed = await p.list();
    assert(listed.ok);
    deepEqual(listed.value.map((m) => [m.claim, m.host, m.status]), [["metal-c", "m2", "stopped"]]);
    const made = await p.create(claimOf("metal-c", 16, 64), template, provider, seedOpts());
    assert(made.ok);
    equal(made.value.host, "m2");
    await until("on", () => bmc.model.system("node2")!.powerState === "On");
    equal(bmc.model.system("node2")!.bootedFrom, "Cd");
    equal(bmc.model.system("node2")!.media.fetches.length, 1, "no second insert");
    equal(bmc.model.system("node1")!.powerState, "Off");
  });
});

Deno.test("foreign machines are never listed, chosen or touched; no exact fit is NoHost", async () => {
  await world(async ({ bmc, p }) => {
    const img = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      () => new Response("os"),
    );
    try {
      assert(
        !(await bmc.model.insertMedia("node1", {
          Image: `http://127.0.0.1:${img.addr.port}/ubuntu.iso`,
        })),
      );
      bmc.model.setPower("node2", "On");
      const listed = await p.list();
      assert(listed.ok);
      deepEqual(listed.value, []);
      const none = await p.create(claimOf("metal-d", 16, 64), template, provider, seedOpts());
      assert(!none.ok);
      equal(none.error.kind, "NoHost");
      const odd = await p.create(claimOf("metal-e", 8, 32), template, provider, seedOpts());
      assert(!odd.ok);
      equal(odd.error.kind, "NoHost");
      equal(bmc.model.system("node1")!.powerState, "Off");
      equal(bmc.model.system("node1")!.media.image.endsWith("/ubuntu.iso"), true);
      equal(
        bmc.requests.filter((r) => r.method !== "GET" && !r.path.includes("Sessions")).length,
        0,
      );
    } finally {
      await img.shutdown();
    }
  });
});

Deno.test("a BMC that cannot be read makes its machine unknown and offline, not absent", async () => {
  await world(async ({ bmc, p }) => {
    bmc.faults.failNext(1000, 500);
    const l = await p.listing();
    assert(l.ok);
    deepEqual(l.value.unknownHosts, ["m1"]);
    const inv = await p.inventory();
    assert(inv.ok);
    equal(inv.value[0]!.online, false);
  }, [{ cpus: 16, memoryGiB: 64 }]);
});
