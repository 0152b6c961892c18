/**
 * Tests of destroy.ts over an in-memory PVE client stub: the ownership checks that refuse a VM
 * that is not the claim's, the create/clone lock, the stop-then-destroy sequence with the freed
 * VMID quarantined, a migrated or vanished VM, and which failures end the attempt.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import { destroy, sweepClaim } from "./destroy.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { type Ctx, DEFAULT_TIMINGS } from "./provider_context.ts";
import type { ResourceVm, VmConfig } from "./schemas.ts";
import { Semaphore } from "./semaphore.ts";
import { claim, provider } from "./testing/fixtures.ts";
import { claimDescription } from "./vm_config.ts";
import { VmidLedger } from "./vmid_ledger.ts";

const fail = (kind: PveErrorKind): PveError => localError(kind, "X /x", kind);
const ours = (extra: Record<string, string> = {}): VmConfig => ({
  digest: "d",
  description: claimDescription(claim),
  tags: "proxscale",
  ...extra,
});

/** The stub's state: configs by "host/vmid", power state, task outcomes, the cluster list. */
type World = {
  configs: Record<string, Result<VmConfig, PveError>>;
  status?: string;
  stop?: Result<string, PveError>;
  del?: Result<string, PveError>[];
  resources?: Result<ResourceVm[], PveError>;
};

function setup(w: World) {
  const calls: string[] = [];
  let dels = 0;
  const client = {
    vmConfig: (
      h: string,
      id: number,
    ) => (calls.push(`config ${h}/${id}`),
      Promise.resolve(w.configs[`${h}/${id}`] ?? err(fail("notFound")))),
    vmStatus: (
      h: string,
      id: number,
    ) => (calls.push(`status ${h}/${id}`), Promise.resolve(ok({ status: w.status ?? "running" }))),
    resourcesVm: () => (calls.push("resources"), Promise.resolve(w.resources ?? ok([]))),
    power: (h: string, id: number, a: string) => Promise.resolve(ok(`${a} ${h}/${id}`)),
    deleteVm: (h: string, id: number) => Promise.resolve(ok(`delete ${h}/${id}`)),
    runTask: async (p: Promise<Result<string, PveError>>) => {
      const started = await p;
      if (!started.ok) return started;
      calls.push(started.value);
      return started.value.startsWith("stop")
        ? (w.stop ?? ok("OK"))
        : (w.del?.[dels++] ?? ok("OK"));
    },
    nodes: () => Promise.resolve(ok([{ node: "pve1", status: "online" }])),
    qemuList: () => Promise.resolve(ok([{ vmid: 1005, name: claim.name, status: "running" }])),
  };
  let now = 0;
  const ledger = new VmidLedger(() => now);
  const ctx: Ctx = {
    client: client as unknown as PveClient,
    provider,
    rng: seededRng(1),
    now: () => now,
    sleep: () => Promise.resolve(),
    t: DEFAULT_TIMINGS,
    ledger,
    overhead: 256 * MiB,
    maxAttempts: 3,
    inFlight: new Map(),
    backoff: () => 0,
    cloneGate: () => new Semaphore(1),
  };
  return { ctx, calls, ledger, advance: (ms: number) => (now += ms) };
}

Deno.test("the claim's VM is stopped, then destroyed, and its VMID quarantined", async () => {
  const { ctx, calls, ledger, advance } = setup({ configs: { "pve1/1005": ok(ours()) } });
  assert.deepEqual(await destroy(ctx, "pve1", 1005, claim.name, true), ok(undefined));
  assert.deepEqual(calls, [
    "config pve1/1005",
    "status pve1/1005",
    "stop pve1/1005",
    "delete pve1/1005",
  ]);
  assert.deepEqual(ledger.quarantined(), [1005]);
  advance(DEFAULT_TIMINGS.quarantine);
  assert.deepEqual(ledger.quarantined(), []);
});

Deno.test("a stopped VM is destroyed without a stop task", async () => {
  const { ctx, calls } = setup({ configs: { "pve1/1005": ok(ours()) }, status: "stopped" });
  assert.deepEqual(await destroy(ctx, "pve1", 1005, claim.name, true), ok(undefined));
  assert.deepEqual(calls, ["config pve1/1005", "status pve1/1005", "delete pve1/1005"]);
});

Deno.test("a VM that is not the claim's is never touched", async () => {
  const cases: [string, VmConfig, number, boolean][] = [
    ["another claim", ours({ description: "proxscale.io/nodeclaim=other-a1b2c" }), 1005, false],
    ["no identity", ours({ description: "hand-made" }), 1005, false],
    ["untagged outside the range, tag required", ours({ tags: "" }), 50, true],
  ];
  for (const [why, cfg, vmid, requireTag] of cases) {
    const { ctx, calls, ledger } = setup({ configs: { [`pve1/${vmid}`]: ok(cfg) } });
    const r = await destroy(ctx, "pve1", vmid, claim.name, requireTag);
    assert.equal(!r.ok && r.error.kind, "NotOwned", why);
    assert.deepEqual(calls, [`config pve1/${vmid}`], why);
    assert.deepEqual(ledger.quarantined(), [], why);
  }
  // Untagged but inside the managed range: a clone killed before its tags were set is ours.
  const { ctx } = setup({ configs: { "pve1/1005": ok(ours({ tags: "" })) } });
  assert.deepEqual(await destroy(ctx, "pve1", 1005, claim.name, true), ok(undefined));
});

Deno.test("a VM under a create or clone lock is reported in progress, not destroyed", async () => {
  for (const lock of ["clone", "create"]) {
    const { ctx, calls } = setup({ configs: { "pve1/1005": ok(ours({ lock })) } });
    const r = await destroy(ctx, "pve1", 1005, claim.name, true);
    assert.equal(!r.ok && r.error.kind, "InProgress");
    assert.deepEqual(calls, ["config pve1/1005"]);
  }
  // Another lock (a backup, say) is waited out over the rounds, then reported.
  const { ctx, calls } = setup({ configs: { "pve1/1005": ok(ours({ lock: "backup" })) } });
  const r = await destroy(ctx, "pve1", 1005, claim.name, true);
  assert.equal(!r.ok && r.error.kind, "InProgress");
  assert.equal(calls.length, 8, "one read per round, no stop or destroy");
});

Deno.test("a VM missing on its host is followed to the host it moved to, or counts as gone", async () => {
  const moved = setup({
    configs: { "pve2/1005": ok(ours()) },
    resources: ok([{ type: "qemu", vmid: 1005, node: "pve2" }]),
    status: "stopped",
  });
  assert.deepEqual(await destroy(moved.ctx, "pve1", 1005, claim.name, true), ok(undefined));
  assert.deepEqual(moved.calls, [
    "config pve1/1005",
    "resources",
    "config pve2/1005",
    "status pve2/1005",
    "delete pve2/1005",
  ]);
  const gone = setup({ configs: {} });
  assert.deepEqual(await destroy(gone.ctx, "pve1", 1005, claim.name, true), ok(undefined));
  assert.deepEqual(gone.calls, ["config pve1/1005", "resources"]);
  assert.deepEqual(gone.ledger.quarantined(), [1005]);
});

Deno.test("a refused destroy ends with PVE's error; a retryable one is tried again", async () => {
  const refused = setup({
    configs: { "pve1/1005": ok(ours()) },
    status: "stopped",
    del: [err(fail("permission"))],
  });
  const r = await destroy(refused.ctx, "pve1", 1005, claim.name, true);
  assert.equal(!r.ok && r.error.kind === "Api" && r.error.step, "destroy VM 1005");
  assert.deepEqual(refused.ledger.quarantined(), []);
  const retried = setup({
    configs: { "pve1/1005": ok(ours()) },
    status: "stopped",
    del: [err(fail("lockTimeout")), err(fail("vmRunning")), ok("OK")],
  });
  assert.deepEqual(await destroy(retried.ctx, "pve1", 1005, claim.name, true), ok(undefined));
  assert.equal(retried.calls.filter((c) => c.startsWith("delete")).length, 3);
});

Deno.test("sweeping a claim destroys the VM that carries its identity, tag or not", async () => {
  const { ctx, calls } = setup({
    configs: { "pve1/1005": ok(ours({ tags: "" })) },
    status: "stopped",
  });
  assert.deepEqual(await sweepClaim(ctx, claim.name), ok(1005));
  assert.ok(calls.includes("delete pve1/1005"));
});
