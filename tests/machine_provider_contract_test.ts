/**
 * One MachineProvider contract, run against every provider: the Proxmox provider with the fake
 * PVE, and the Redfish bare-metal provider with the fake BMC and a real seed server. What the
 * daemon relies on whatever makes its machines: a create yields one running machine named by
 * the claim, a repeated create of the same claim yields the same machine, two claims get two
 * machines, inventory shows the configured hosts with room taken by what was made, deletion
 * makes the machine leave the listing (and is repeatable), and foreign resources are never
 * listed nor touched.
 */
import assert from "node:assert/strict";
import type { MachineTemplate, NodeClaim, Provider } from "../core/model.ts";
import { ok } from "../core/result.ts";
import type { CreateOptions, Machine, MachineProvider } from "../daemon/ports/provider.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import {
  claim as pveClaim,
  template as pveTemplate,
} from "../adapters/proxmox/testing/fixtures.ts";
import { RedfishProvider } from "../adapters/redfish/provider.ts";
import { SeedServer } from "../adapters/redfish/seed_server.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import { startFakeRedfish } from "../fakes/fake_redfish/server.ts";
import { issueCa, issueLeaf, serverSans } from "../fakes/tls/pki.ts";
import {
  addJoinSnippet,
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

const GiB = 1024 ** 3;

/** One provider under test, with what the contract needs to drive and judge it. */
type Subject = {
  provider: MachineProvider;
  cfg: Provider;
  template: MachineTemplate;
  opts: CreateOptions;
  claim(name: string): NodeClaim;
  /** Is the thing behind `m` still running in the provider's own world (VM or server)? */
  running(m: Machine): Promise<boolean>;
  /** Adds a running resource proxscale does not own; returns a probe that it is untouched. */
  addForeign(): Promise<() => Promise<boolean>>;
  close(): Promise<void>;
};

async function proxmoxSubject(): Promise<Subject> {
  const fake = await startFakePve({ hosts: 2, seed: 7, model: { timing: fastPveTiming(300) } });
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
  return {
    provider,
    cfg,
    template: pveTemplate,
    opts: {},
    claim: (name) => ({ ...pveClaim, name }),
    async running(m) {
      const st = await client.vmStatus(m.host, m.vmid);
      return st.ok && st.value.status === "running";
    },
    addForeign() {
      const vmid = fake.model.addVm({
        vmid: 1050,
        node: "pve1",
        name: "someone-else",
        running: true,
      });
      return Promise.resolve(async () => {
        const st = await client.vmStatus("pve1", vmid);
        return st.ok && st.value.status === "running";
      });
    },
    async close() {
      client.close();
      await fake.close();
    },
  };
}

async function redfishSubject(): Promise<Subject> {
  const ca = await issueCa("contract seed CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans(),
  });
  const seeds = await SeedServer.start({ certPem: leaf.certPem, keyPem: leaf.keyPem });
  const bmc = await startFakeRedfish({
    systems: [{ cpus: 2, memoryGiB: 4 }, { cpus: 2, memoryGiB: 4 }, { cpus: 2, memoryGiB: 4 }],
    model: { powerOnDelayMs: 30, imageCaPem: ca.caPem },
  });
  const provider = new RedfishProvider({
    provider: "rack",
    machines: [...bmc.model.systems.keys()].map((id, i) => ({
      name: `m${i + 1}`,
      zone: "a",
      endpoint: bmc.url,
      systemId: id,
      username: bmc.username,
      password: () => bmc.password,
      trust: { mode: "ca", ca: bmc.caPem },
    })),
    seeds,
    client: { taskPollMs: 20 },
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
  });
  const template = { name: "metal", provider: "rack", shapes: [pveClaim.shape] } as MachineTemplate;
  return {
    provider,
    cfg: { name: "rack" } as Provider,
    template,
    opts: {
      seedIso: {
        storage: "",
        slot: "cd",
        name: "seed.iso",
        build: () => Promise.resolve(ok(new Uint8Array([1, 2]))),
      },
    },
    claim: (name) => ({ ...pveClaim, name, provider: "rack", machineTemplate: "metal" }),
    running(m) {
      const s = [...bmc.model.systems.values()][m.vmid - 100]!;
      return Promise.resolve(s.powerState === "On" || s.powerState === "PoweringOn");
    },
    addForeign() {
      bmc.model.setPower("node3", "On"); // someone else's server, on without our media
      return Promise.resolve(() => Promise.resolve(bmc.model.system("node3")!.powerState === "On"));
    },
    async close() {
      await provider.close();
      await bmc.close();
      await seeds.close();
    },
  };
}

const SUBJECTS: [string, () => Promise<Subject>][] = [
  ["proxmox", proxmoxSubject],
  ["redfish", redfishSubject],
];

async function withSubject(
  make: () => Promise<Subject>,
  fn: (s: Subject) => Promise<void>,
): Promise<void> {
  const s = await make();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

for (const [kind, make] of SUBJECTS) {
  Deno.test(`${kind} provider: create yields one running machine of the claim, listed once; a repeat yields the same`, async () => {
    await withSubject(make, async (s) => {
      const made = await s.provider.create(s.claim("c-one"), s.template, s.cfg, s.opts);
      assert.ok(made.ok, JSON.stringify(made));
      assert.equal(made.value.claim, "c-one");
      assert.equal(made.value.provider, s.cfg.name);
      assert.deepEqual(made.value.size, { cpu: 2000, memory: 4 * GiB });
      assert.ok(await s.running(made.value));
      const again = await s.provider.create(s.claim("c-one"), s.template, s.cfg, s.opts);
      assert.ok(again.ok);
      assert.deepEqual([again.value.host, again.value.vmid], [made.value.host, made.value.vmid]);
      const listed = await s.provider.list();
      assert.ok(listed.ok);
      assert.deepEqual(listed.value.map((m) => m.claim), ["c-one"]);
    });
  });

  Deno.test(`${kind} provider: two claims launched at once get two machines`, async () => {
    await withSubject(make, async (s) => {
      const [a, b] = await Promise.all([
        s.provider.create(s.claim("c-a"), s.template, s.cfg, s.opts),
        s.provider.create(s.claim("c-b"), s.template, s.cfg, s.opts),
      ]);
      assert.ok(a.ok && b.ok, JSON.stringify([a, b]));
      assert.notDeepEqual([a.value.host, a.value.vmid], [b.value.host, b.value.vmid]);
      const listed = await s.provider.list();
      assert.ok(listed.ok);
      assert.deepEqual(listed.value.map((m) => m.claim).sort(), ["c-a", "c-b"]);
    });
  });

  Deno.test(`${kind} provider: inventory shows online hosts whose committed room grows by what was made`, async () => {
    await withSubject(make, async (s) => {
      const before = await s.provider.inventory();
      assert.ok(before.ok);
      assert.ok(
        before.value.length > 0 && before.value.every((h) => h.online && h.provider === s.cfg.name),
      );
      const sum = (hs: typeof before.value) => hs.reduce((n, h) => n + h.committed.cpu, 0);
      const made = await s.provider.create(s.claim("c-inv"), s.template, s.cfg, s.opts);
      assert.ok(made.ok);
      const after = await s.provider.inventory();
      assert.ok(after.ok);
      assert.ok(sum(after.value) - sum(before.value) >= 2000, "the machine's CPUs are committed");
    });
  });

  Deno.test(`${kind} provider: delete stops the machine and drops it from the listing; deleting again is success`, async () => {
    await withSubject(make, async (s) => {
      const made = await s.provider.create(s.claim("c-del"), s.template, s.cfg, s.opts);
      assert.ok(made.ok);
      const d = await s.provider.delete(made.value);
      assert.ok(d.ok, JSON.stringify(d));
      assert.equal(await s.running(made.value), false);
      const listed = await s.provider.list();
      assert.ok(listed.ok);
      assert.deepEqual(listed.value, []);
      assert.ok((await s.provider.delete(made.value)).ok);
    });
  });

  Deno.test(`${kind} provider: a foreign running resource is neither listed nor touched`, async () => {
    await withSubject(make, async (s) => {
      const untouched = await s.addForeign();
      const made = await s.provider.create(s.claim("c-f"), s.template, s.cfg, s.opts);
      assert.ok(made.ok);
      const listed = await s.provider.list();
      assert.ok(listed.ok);
      assert.deepEqual(listed.value.map((m) => m.claim), ["c-f"]);
      assert.ok((await s.provider.delete(made.value)).ok);
      assert.ok(await untouched(), "the foreign resource still runs");
    });
  });
}
