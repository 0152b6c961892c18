/**
 * Fault suites: the real provider against the fake PVE with injected 5xx (before and after the
 * work is done), lock timeouts, slow clones and failed tasks. Whatever happens, N concurrent
 * creates end with exactly one VM per successful claim and none for a failed one; two
 * providers sharing a VMID range never collide; a full range is a typed error found at once.
 */
import assert from "node:assert/strict";
import type { MachineTemplate, NodeClaim, Provider } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { PveClient } from "../adapters/proxmox/client.ts";
import type { Machine, ProviderError } from "../daemon/ports/provider.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { claimFromDescription } from "../adapters/proxmox/vm_config.ts";
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
import type { Result } from "../core/result.ts";

const cloneTemplate: MachineTemplate = {
  ...scratchTemplate,
  source: { kind: "clone", perHost: { pve1: 9000, pve2: 9001 }, full: true, storage: "local-lvm" },
};

type Env = {
  fake: FakePve;
  make: (seed: number, cfg?: Partial<Provider>) => ProxmoxProvider;
  cfg: Provider;
};

async function withFake(faults: FaultConfig, body: (env: Env) => Promise<void>): Promise<void> {
  const fake = await startFakePve({
    hosts: 2,
    seed: 11,
    faults,
    model: { timing: fastPveTiming(200) },
  });
  addJoinSnippet(fake);
  const cfg = fakeProviderConfig(fake);
  const clients: PveClient[] = [];
  const make = (seed: number, over: Partial<Provider> = {}) => {
    const client = fakePveClient(fake, {
      // 20% errors everywhere must not trip the breaker in a test this short.
      breaker: { failureThreshold: 25, cooldownMs: 500 },
      rng: seeded(seed),
    });
    clients.push(client);
    return new ProxmoxProvider({
      client,
      provider: { ...cfg, ...over },
      seed,
      timings: FAST_PROVIDER_TIMINGS,
      maxAttempts: 6,
    });
  };
  try {
    await body({ fake, make, cfg });
  } finally {
    for (const c of clients) c.close();
    await fake.close();
  }
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}

const claims = (prefix: string, n: number): NodeClaim[] =>
  Array.from({ length: n }, (_, i) => ({ ...baseClaim, name: `${prefix}-${i}` }));

/** Every non-template VM in the fake, by claim identity (faults must be cleared first). */
function vmsByClaim(fake: FakePve): Map<string, { vmid: number; lock?: string }[]> {
  const out = new Map<string, { vmid: number; lock?: string }[]>();
  for (const vm of fake.model.st.vms.values()) {
    if (vm.conf.values.get("template") === "1") continue;
    const claim = claimFromDescription(vm.conf.description) ?? `(no identity: VM ${vm.vmid})`;
    const lock = vm.conf.values.get("lock");
    out.set(claim, [...(out.get(claim) ?? []), { vmid: vm.vmid, ...(lock ? { lock } : {}) }]);
  }
  return out;
}

const TYPED_KINDS = new Set<ProviderError["kind"]>([
  "VmidRangeExhausted",
  "NoHost",
  "Api",
  "InProgress",
  "AttemptsExhausted",
]);

/** The invariant of the fault suites: one VM per successful claim, none otherwise, no strays. */
async function assertExactlyOwned(
  fake: FakePve,
  list: ProxmoxProvider,
  cs: NodeClaim[],
  results: PromiseSettledResult<Result<Machine, ProviderError>>[],
): Promise<{ ok: number; failed: string[] }> {
  fake.faults.clear();
  // Let tasks started before the faults were cleared finish.
  await new Promise((r) => setTimeout(r, 100));
  fake.model.advance();
  const byClaim = vmsByClaim(fake);
  let okCount = 0;
  const failed: string[] = [];
  results.forEach((s, i) => {
    const name = cs[i]!.name;
    assert.equal(s.status, "fulfilled", `create of ${name} threw instead of returning a value`);
    if (s.status !== "fulfilled") return;
    const vms = byClaim.get(name) ?? [];
    if (s.value.ok) {
      okCount++;
      assert.equal(vms.length, 1, `${name}: ${JSON.stringify(vms)}`);
      assert.equal(vms[0]!.vmid, s.value.value.vmid);
      assert.equal(vms[0]!.lock, undefined);
    } else {
      failed.push(`${name}: ${s.value.error.kind}: ${s.value.error.message}`);
      assert.ok(TYPED_KINDS.has(s.value.error.kind), s.value.error.kind);
      if (s.value.error.kind !== "InProgress") {
        assert.equal(
          vms.length,
          0,
          `${name} leaked ${JSON.stringify(vms)} after ${s.value.error.message}`,
        );
      }
    }
    byClaim.delete(name);
  });
  assert.deepEqual([...byClaim.keys()], [], "VMs nobody asked for (leaked or duplicate)");
  const listed = await list.list();
  assert.ok(listed.ok);
  assert.equal(listed.value.length, okCount);
  return { ok: okCount, failed };
}

const FAULTS: FaultConfig = {
  errors: [
    // A 502 after the clone or create was carried out: the answer is lost, the VM exists.
    { endpoint: "POST /nodes/{node}/qemu/{vmid}/clone", rate: 0.2, status: 502, after: true },
    { endpoint: "POST /nodes/{node}/qemu", rate: 0.2, status: 502, after: true },
    {
      endpoint: "PUT /nodes/{node}/qemu/{vmid}/config",
      rate: 0.2,
      message: "can't lock file '/var/lock/qemu-server/lock-1000.conf' - got timeout",
    },
    { endpoint: "*", rate: 0.2, status: 500 },
  ],
  taskDurations: { qmclone: 120, qmcreate: 60 },
  taskFailures: [
    {
      type: "qmclone",
      rate: 0.2,
      message:
        "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
    },
    { type: "qmcreate", rate: 0.2, message: "unable to create VM - injected" },
    { type: "qmstart", rate: 0.15, message: "start failed: injected" },
  ],
};

Deno.test("faults: N concurrent clones end with exactly N owned VMs or clean typed failures", async () => {
  await withFake(FAULTS, async ({ fake, make, cfg }) => {
    // The source template's file lock held by "someone" for a while: clones time out on it.
    fake.faults.update({ lockHolds: [{ vmid: 9000, ms: 600 }] });
    const p = make(3);
    const cs = claims("clone", 8);
    const results = await Promise.allSettled(cs.map((c) => p.create(c, cloneTemplate, cfg)));
    const { ok, failed } = await assertExactlyOwned(fake, p, cs, results);
    assert.ok(
      ok >= 4,
      `most creates should succeed despite faults (ok ${ok}; ${failed.join(" | ")})`,
    );
  });
});

Deno.test("faults: N concurrent creates from scratch end with exactly N owned VMs or typed failures", async () => {
  await withFake(FAULTS, async ({ fake, make, cfg }) => {
    const p = make(4);
    const cs = claims("scratch", 8);
    const results = await Promise.allSettled(cs.map((c) => p.create(c, scratchTemplate, cfg)));
    const { ok, failed } = await assertExactlyOwned(fake, p, cs, results);
    assert.ok(
      ok >= 4,
      `most creates should succeed despite faults (ok ${ok}; ${failed.join(" | ")})`,
    );
  });
});

Deno.test("a create whose answer is lost after PVE did the work is resolved, never re-sent", async () => {
  await withFake(
    { errors: [{ endpoint: "POST /nodes/{node}/qemu", times: 1, status: 502, after: true }] },
    async ({ fake, make, cfg }) => {
      const p = make(5);
      const r = await p.create(baseClaim, scratchTemplate, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      const posts = fake.requests.filter((q) => q.method === "POST" && /\/qemu$/.test(q.path));
      assert.equal(posts.length, 1, "the create was sent exactly once");
      assert.equal(posts[0]!.status, 502);
      assert.deepEqual([...vmsByClaim(fake).keys()], [baseClaim.name]);
    },
  );
});

Deno.test("a slow clone whose answer is lost is waited for and adopted, not duplicated", async () => {
  await withFake(
    {
      errors: [{
        endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
        times: 1,
        status: 502,
        after: true,
      }],
      taskDurations: { qmclone: 400 },
    },
    async ({ fake, make, cfg }) => {
      const r = await make(12).create(baseClaim, cloneTemplate, cfg);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual([...vmsByClaim(fake).keys()], [baseClaim.name]);
      const clones = fake.requests.filter((q) => q.path.endsWith("/clone"));
      assert.equal(clones[0]?.status, 502);
      // A second send, if any, went to the same VMID, where it can only find the first VM.
      assert.ok(
        clones.every((q) => q.params.newid === String(r.value.vmid)),
        JSON.stringify(clones),
      );
    },
  );
});

Deno.test("a clone past its deadline is InProgress, not destroyed, and adopted on the next try", async () => {
  await withFake({ taskDurations: { qmclone: 700 } }, async ({ fake, make, cfg }) => {
    const p = make(13);
    const first = await p.create(baseClaim, cloneTemplate, cfg, { taskDeadlineMs: 100 });
    assert.ok(!first.ok);
    assert.equal(first.error.kind, "InProgress");
    assert.match(first.error.message, /still running at the deadline/);
    const again = await p.create(baseClaim, cloneTemplate, cfg);
    assert.ok(again.ok, JSON.stringify(again));
    if (first.error.kind === "InProgress") assert.equal(again.value.vmid, first.error.vmid);
    assert.equal(fake.requests.filter((q) => q.path.endsWith("/clone")).length, 1);
    // After a restart the VMID recorded on the NodeClaim leads a new process to the same clone.
    const b = { ...baseClaim, name: "resume-b" };
    const slow = await p.create(b, cloneTemplate, cfg, { taskDeadlineMs: 100 });
    assert.ok(!slow.ok && slow.error.kind === "InProgress");
    const vmid = slow.error.kind === "InProgress" ? slow.error.vmid : 0;
    const early = await make(15).delete({
      vmid,
      host: "pve1",
      provider: "lab",
      name: "resume-b",
      tags: ["proxscale"],
      status: "unknown",
      size: { cpu: 2000, memory: 4 * GiB },
      claim: "resume-b",
    });
    assert.ok(!early.ok && early.error.kind === "InProgress", "no destroy races the clone");
    const resumed = await make(14).create({ ...b, vmid }, cloneTemplate, cfg);
    assert.ok(resumed.ok && resumed.value.vmid === vmid, JSON.stringify(resumed));
    assert.equal(fake.requests.filter((q) => q.path.endsWith("/clone")).length, 2);
    assert.equal(fake.requests.filter((q) => q.method === "DELETE").length, 0);
    assert.deepEqual([...vmsByClaim(fake).keys()].sort(), [baseClaim.name, "resume-b"]);
  });
});

Deno.test("two providers sharing one VMID range never collide", async () => {
  await withFake({ taskDurations: { qmclone: 60 } }, async ({ fake, make, cfg }) => {
    // The same seed makes both start their VMID search at the same ids: collisions guaranteed.
    const range = { lower: 2000, upper: 2011 };
    const a = make(42, { vmidRange: range });
    const b = make(42, { vmidRange: range });
    const ca = claims("a", 5);
    const cb = claims("b", 5);
    const results = await Promise.allSettled([
      ...ca.map((c) => a.create(c, cloneTemplate, { ...cfg, vmidRange: range })),
      ...cb.map((c) => b.create(c, cloneTemplate, { ...cfg, vmidRange: range })),
    ]);
    const all = [...ca, ...cb];
    const { ok } = await assertExactlyOwned(fake, a, all, results);
    assert.equal(ok, 10, "with room in the range every create succeeds");
    const refused = fake.requests.filter((q) => q.path.endsWith("/clone") && q.status >= 400);
    assert.ok(refused.length > 0, "the two providers really raced for the same VMIDs");
    const vmids = results.map((r) =>
      r.status === "fulfilled" && r.value.ok ? r.value.value.vmid : -1
    );
    assert.equal(new Set(vmids).size, 10, "ten distinct VMIDs");
    assert.ok(vmids.every((v) => v >= 2000 && v <= 2011));
  });
});

Deno.test("a full VMID range returns VmidRangeExhausted at once, without create calls", async () => {
  await withFake({}, async ({ fake, make, cfg }) => {
    for (const vmid of [3000, 3001, 3002]) {
      fake.model.addVm({ vmid, node: "pve1", name: `other-${vmid}` });
    }
    const range = { lower: 3000, upper: 3002 };
    const p = make(6, { vmidRange: range });
    const before = fake.requests.length;
    const r = await p.create(baseClaim, scratchTemplate, { ...cfg, vmidRange: range });
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "VmidRangeExhausted");
    assert.match(r.error.message, /VMID range \[3000, 3002\] is exhausted/);
    const calls = fake.requests.slice(before);
    assert.equal(calls.filter((q) => q.method !== "GET").length, 0, "nothing was created");
    assert.equal(calls.filter((q) => q.path === "/cluster/nextid").length, 0, "no id was probed");
    assert.ok(calls.length <= 12, `a handful of reads, not a loop (${calls.length})`);
  });
});

Deno.test("launches in flight hold their VMIDs: the one beyond the range's room gets the typed error", async () => {
  await withFake({ taskDurations: { qmcreate: 150 } }, async ({ fake, make, cfg }) => {
    const range = { lower: 4000, upper: 4001 };
    const p = make(8, { vmidRange: range });
    const cs = claims("tight", 3);
    const results = await Promise.allSettled(
      cs.map((c) => p.create(c, scratchTemplate, { ...cfg, vmidRange: range })),
    );
    const kinds = results.map((r) =>
      r.status === "fulfilled" ? (r.value.ok ? "ok" : r.value.error.kind) : "threw"
    );
    assert.deepEqual(kinds.sort(), ["VmidRangeExhausted", "ok", "ok"]);
    await assertExactlyOwned(fake, p, cs, results);
  });
});

Deno.test("lost quorum is a clean typed failure that creates nothing", async () => {
  await withFake({ noQuorum: true }, async ({ fake, make, cfg }) => {
    const r = await make(9).create(baseClaim, scratchTemplate, cfg);
    assert.ok(!r.ok);
    assert.ok(TYPED_KINDS.has(r.error.kind));
    assert.equal(vmsByClaim(fake).size, 0);
  });
});
