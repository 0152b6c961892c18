/**
 * Tests of launch.ts over an in-memory PVE stub: how one create ends (ours, a collision with
 * another actor, a retry, a failure), how an unclear answer is resolved by looking at the VMID
 * (never by sending again), and the retry loop moving to another VMID or staying on one where a
 * request of ours may still land.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { launch, launchWithRetries, resolve } from "./launch.ts";
import { type Ctx, DEFAULT_TIMINGS, type InFlight } from "./provider_context.ts";
import type { ResourceVm } from "./schemas.ts";
import { Semaphore } from "./semaphore.ts";
import { claim, provider, template } from "./testing/fixtures.ts";
import { claimDescription, type DesiredConfig } from "./vm_config.ts";
import { VmidLedger } from "./vmid_ledger.ts";

const fail = (kind: PveErrorKind, extra: Partial<PveError> = {}): PveError => ({
  ...localError(kind, "POST /nodes/pve1/qemu", kind),
  ...extra,
});
const desired: DesiredConfig = {
  scalars: { name: claim.name, description: claimDescription(claim) },
  disks: [],
  nets: [],
};
const OURS = { digest: "d", description: claimDescription(claim) };
const FOREIGN = { digest: "d", description: "someone else's" };

/** The stub's script: create answers, task outcomes, cluster listings over time, configs. */
type Script = {
  creates?: Result<string, PveError>[];
  task?: Result<unknown, PveError>;
  /** Cluster VM lists, one per resourcesVm call (the last repeats). */
  listings?: ResourceVm[][];
  config?: Result<Record<string, unknown>, PveError>;
  nextid?: (vmid: number) => Result<string, PveError>;
};

function setup(s: Script) {
  const calls: string[] = [];
  let now = 0;
  let listing = 0;
  const client = {
    createVm: (node: string, params: { vmid: number }) => {
      calls.push(`create ${params.vmid} on ${node}`);
      return Promise.resolve(s.creates?.shift() ?? ok("UPID:create"));
    },
    waitTask: () => Promise.resolve(s.task ?? ok({ exitstatus: "OK" })),
    resourcesVm: () => {
      const l = s.listings ?? [[]];
      calls.push("list");
      return Promise.resolve(ok(l[Math.min(listing++, l.length - 1)]!));
    },
    vmConfig: (
      _: string,
      vmid: number,
    ) => (calls.push(`config ${vmid}`), Promise.resolve(s.config ?? ok(OURS))),
    nextid: (
      vmid: number,
    ) => (calls.push(`nextid ${vmid}`), Promise.resolve(s.nextid?.(vmid) ?? ok(String(vmid)))),
  };
  const ledger = new VmidLedger(() => now);
  const ctx: Ctx = {
    client: client as unknown as PveClient,
    provider,
    rng: () => 0, // the first choice is the range's lower bound
    now: () => now,
    sleep: (ms) => (now += ms, Promise.resolve()),
    t: DEFAULT_TIMINGS,
    ledger,
    overhead: 256 * MiB,
    maxAttempts: 3,
    inFlight: new Map(),
    backoff: () => 100,
    cloneGate: () => new Semaphore(1),
  };
  return { ctx, calls, ledger };
}

const once = (s: Script, suspect = false) => {
  const { ctx, calls } = setup(s);
  return launch(ctx, "pve1", 1000, claim, template, desired, [], {}, suspect).then((out) => ({
    out,
    calls,
  }));
};

Deno.test("a create whose task ends OK and whose VM carries the claim is ours", async () => {
  const { out, calls } = await once({});
  assert.deepEqual(out, { kind: "ok", node: "pve1" });
  assert.deepEqual(calls, ["create 1000 on pve1", "config 1000"]);
  const other = await once({ config: ok(FOREIGN) });
  assert.equal(other.out.kind, "collision", "a VM without our identity is never taken as ours");
});

Deno.test("how a refused create ends: collision, retry, or failure, by PVE's kind", async () => {
  const table: [PveError, string][] = [
    [fail("alreadyExists", { pveMessage: "VM 1000 already exists" }), "collision"],
    [fail("lockTimeout"), "retry"],
    [fail("noQuorum"), "retry"],
    [fail("circuitOpen"), "retry"],
    [fail("permission"), "fail"],
    [fail("validation"), "fail"],
  ];
  for (const [e, kind] of table) {
    const { out, calls } = await once({ creates: [err(e)] });
    assert.equal(out.kind, kind, e.kind);
    assert.deepEqual(calls, ["create 1000 on pve1"], `${e.kind}: sent once, nothing more`);
  }
});

Deno.test("an ambiguous create is never sent again: the VMID is watched and its VM verified", async () => {
  const ambiguous = fail("connection", { ambiguous: true });
  const appeared = await once({
    creates: [err(ambiguous)],
    listings: [[], [{ type: "qemu", vmid: 1000, node: "pve1" }]],
  });
  assert.deepEqual(appeared.out, { kind: "ok", node: "pve1" });
  assert.deepEqual(appeared.calls, ["create 1000 on pve1", "list", "list", "config 1000"]);
  // Nothing appears within the grace period: retry at the same id, which a request of ours holds.
  const nothing = await once({ creates: [err(ambiguous)], listings: [[]] });
  assert.equal(nothing.out.kind, "retry");
  assert.equal(nothing.out.kind === "retry" && nothing.out.reuseVmid, true);
  assert.equal(nothing.calls.filter((c) => c.startsWith("create")).length, 1);
});

Deno.test("a task still running at its deadline is in progress, not destroyed or repeated", async () => {
  const { out } = await once({ task: err(fail("taskDeadline")) });
  assert.equal(out.kind, "fail");
  assert.equal(out.kind === "fail" && out.error.kind, "InProgress");
});

Deno.test("resolving an unclear answer: free, someone else's in the making, ours, or still locked", async () => {
  const cause = fail("connection", { ambiguous: true });
  const run = (listings: ResourceVm[][], mine: boolean, config = ok(OURS)) => {
    const { ctx } = setup({ listings, config });
    return resolve(ctx, 1000, claim, "create", cause, mine);
  };
  const locked: ResourceVm = { type: "qemu", vmid: 1000, node: "pve2", lock: "create" };
  const done: ResourceVm = { type: "qemu", vmid: 1000, node: "pve2" };
  assert.equal((await run([[]], false)).kind, "retry");
  assert.deepEqual(await run([[locked]], false), {
    kind: "collision",
    why: "create: VMID 1000 is being made by someone else",
  });
  assert.deepEqual(await run([[locked], [done]], true), { kind: "ok", node: "pve2" });
  assert.equal((await run([[done]], true, ok(FOREIGN))).kind, "collision");
  const stuck = await run([[locked]], true);
  assert.equal(stuck.kind === "fail" && stuck.error.kind, "InProgress");
});

Deno.test("the retry loop moves past a taken VMID and a collision, reserving only the id in use", async () => {
  const { ctx, calls, ledger } = setup({
    nextid: (vmid) => vmid === 1000 ? err(fail("alreadyExists")) : ok(String(vmid)),
    creates: [err(fail("alreadyExists", { pveMessage: "VM 1001 already exists" })), ok("UPID")],
  });
  const flight: InFlight = { host: "pve1", footprint: { cpu: 0, memory: 0 }, expires: 1 };
  const r = await launchWithRetries(ctx, "pve1", claim, template, desired, flight, {});
  assert.deepEqual(r, ok({ node: "pve1", vmid: 1002 }));
  assert.deepEqual(calls.filter((c) => !c.startsWith("list")), [
    "nextid 1000",
    "nextid 1001",
    "create 1001 on pve1",
    "nextid 1002",
    "create 1002 on pve1",
    "config 1002",
  ]);
  assert.equal(flight.vmid, 1002);
  assert.deepEqual(ledger.reserved(), [1002]);
});

Deno.test("a VMID a request of ours may still fill is retried in place, and reported in progress at the end", async () => {
  const ambiguous = fail("connection", { ambiguous: true });
  const { ctx, calls } = setup({ creates: [err(ambiguous), err(ambiguous), err(ambiguous)] });
  const flight: InFlight = { host: "pve1", footprint: { cpu: 0, memory: 0 }, expires: 1 };
  const r = await launchWithRetries(ctx, "pve1", claim, template, desired, flight, {});
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "InProgress");
  assert.deepEqual(calls.filter((c) => c.startsWith("create")), [
    "create 1000 on pve1",
    "create 1000 on pve1",
    "create 1000 on pve1",
  ]);
});
