/**
 * Tests of finish.ts over an in-memory PVE VM: config converged by digest-guarded writes until
 * nothing differs (re-read after a conflict), the wait on a create/clone lock, the start step's
 * answer table, and a VM that cannot be finished removed again.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { converge, finish, start, unlocked } from "./finish.ts";
import { type Ctx, DEFAULT_TIMINGS } from "./provider_context.ts";
import type { VmConfig } from "./schemas.ts";
import { Semaphore } from "./semaphore.ts";
import { claim, provider } from "./testing/fixtures.ts";
import { claimDescription, type DesiredConfig } from "./vm_config.ts";
import { VmidLedger } from "./vmid_ledger.ts";

const fail = (kind: PveErrorKind): PveError => localError(kind, "X /x", kind);
const desired: DesiredConfig = {
  scalars: { memory: 4096, cores: 2, tags: "proxscale", description: claimDescription(claim) },
  disks: [],
  nets: [],
};

/** One VM 1005 on pve1: its config (digest bumped per write), power state and scripted faults. */
type Vm = {
  config: Record<string, string | number>;
  status: string;
  /** Answers of the next config writes, before the write lands (then normal writes). */
  writeFaults?: PveError[];
  /** Locks the next config reads see, one per read. */
  locks?: string[];
  startAnswers?: Result<string, PveError>[];
};

function setup(vm: Vm) {
  const calls: string[] = [];
  let now = 0;
  let digest = 1;
  const client = {
    vmConfig: () => {
      const lock = vm.locks?.shift();
      calls.push(`read${lock ? ` (lock ${lock})` : ""}`);
      const cfg = { ...vm.config, digest: `d${digest}`, ...(lock ? { lock } : {}) };
      return Promise.resolve(ok(cfg as VmConfig));
    },
    updateConfig: (_: string, __: number, params: Record<string, unknown>) => {
      calls.push(`write ${JSON.stringify(params)}`);
      const fault = vm.writeFaults?.shift();
      if (fault) return Promise.resolve(err(fault));
      if (params.digest !== `d${digest}`) return Promise.resolve(err(fail("conflict")));
      const { digest: _d, ...set } = params;
      Object.assign(vm.config, set);
      digest++;
      return Promise.resolve(ok(null));
    },
    vmStatus: () => (calls.push("status"), Promise.resolve(ok({ status: vm.status }))),
    power: (_: string, __: number, action: string) => Promise.resolve(ok(action)),
    deleteVm: () => Promise.resolve(ok("delete")),
    runTask: async (p: Promise<Result<string, PveError>>) => {
      const started = await p;
      if (!started.ok) return started;
      calls.push(started.value);
      if (started.value === "start") {
        const a = vm.startAnswers?.shift() ?? ok("OK");
        if (a.ok) vm.status = "running";
        return a;
      }
      if (started.value === "stop") vm.status = "stopped";
      return ok("OK");
    },
  };
  const ctx: Ctx = {
    client: client as unknown as PveClient,
    provider,
    rng: seededRng(1),
    now: () => now,
    sleep: (ms) => (now += ms, Promise.resolve()),
    t: DEFAULT_TIMINGS,
    ledger: new VmidLedger(() => now),
    overhead: 256 * MiB,
    maxAttempts: 3,
    inFlight: new Map(),
    backoff: () => 10,
    cloneGate: () => new Semaphore(1),
  };
  return { ctx, calls };
}

Deno.test("converge writes only what differs, guarded by the digest it read, then reads it back clean", async () => {
  const vm: Vm = {
    config: { memory: 2048, cores: 2, tags: "proxscale", description: claimDescription(claim) },
    status: "stopped",
  };
  const { ctx, calls } = setup(vm);
  const r = await converge(ctx, "pve1", 1005, desired);
  assert.ok(r.ok);
  assert.equal(r.value.memory, 4096);
  assert.deepEqual(calls, ["read", 'write {"memory":4096,"digest":"d1"}', "read"]);
});

Deno.test("a conflicting or retryable write is re-read and diffed again; a refused one fails the step", async () => {
  const vm: Vm = {
    config: { memory: 2048, cores: 1, tags: "", description: claimDescription(claim) },
    status: "stopped",
    writeFaults: [fail("conflict"), fail("lockTimeout")],
  };
  const { ctx, calls } = setup(vm);
  assert.ok((await converge(ctx, "pve1", 1005, desired)).ok);
  assert.equal(calls.filter((c) => c.startsWith("write")).length, 3);
  assert.deepEqual(vm.config, { ...desired.scalars });
  const refused = setup({ ...vm, config: { memory: 1 }, writeFaults: [fail("validation")] });
  const r = await converge(refused.ctx, "pve1", 1005, desired);
  assert.equal(!r.ok && r.error.kind === "Api" && r.error.step, "configure VM 1005");
});

Deno.test("a config read waits while a create or clone lock is held, and gives up at the task deadline", async () => {
  const waits = setup({ config: { memory: 1 }, status: "stopped", locks: ["clone", "clone"] });
  assert.ok((await unlocked(waits.ctx, "pve1", 1005)).ok);
  assert.deepEqual(waits.calls, ["read (lock clone)", "read (lock clone)", "read"]);
  const stuck = setup({
    config: { memory: 1 },
    status: "stopped",
    locks: Array(DEFAULT_TIMINGS.taskDeadline / DEFAULT_TIMINGS.poll + 1).fill("create"),
  });
  const r = await unlocked(stuck.ctx, "pve1", 1005);
  assert.equal(!r.ok && r.error.kind, "InProgress");
  assert.match(!r.ok ? r.error.message : "", /locked \(create\)/);
});

Deno.test("start: running needs no task, already-running is success, a deadline is in progress, a refusal fails", async () => {
  const running = setup({ config: {}, status: "running" });
  assert.deepEqual(await start(running.ctx, "pve1", 1005), ok(undefined));
  assert.deepEqual(running.calls, ["status"]);
  const already = setup({ config: {}, status: "stopped", startAnswers: [err(fail("vmRunning"))] });
  assert.deepEqual(await start(already.ctx, "pve1", 1005), ok(undefined));
  const slow = setup({ config: {}, status: "stopped", startAnswers: [err(fail("taskDeadline"))] });
  const s = await start(slow.ctx, "pve1", 1005);
  assert.equal(!s.ok && s.error.kind, "InProgress");
  const flaky = setup({
    config: {},
    status: "stopped",
    startAnswers: [err(fail("taskFailed")), ok("OK")],
  });
  assert.deepEqual(await start(flaky.ctx, "pve1", 1005), ok(undefined));
  assert.deepEqual(flaky.calls, ["status", "start", "status", "start"]);
  const denied = setup({ config: {}, status: "stopped", startAnswers: [err(fail("permission"))] });
  const d = await start(denied.ctx, "pve1", 1005);
  assert.equal(!d.ok && d.error.kind === "Api" && d.error.step, "start VM 1005");
});

Deno.test("finish returns the running Machine, or removes a VM it could not start", async () => {
  const good = setup({ config: { ...desired.scalars }, status: "stopped" });
  const m = await finish(good.ctx, "pve1", 1005, desired, claim);
  assert.ok(m.ok);
  assert.equal(m.value.status, "running");
  assert.equal(m.value.claim, claim.name);
  const bad = setup({
    config: { ...desired.scalars },
    status: "stopped",
    startAnswers: [err(fail("permission"))],
  });
  const r = await finish(bad.ctx, "pve1", 1005, desired, claim);
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "Api");
  assert.match(r.error.message, /\(the VM was removed\)$/);
  assert.ok(bad.calls.includes("delete"), "the half-made VM is destroyed");
});
