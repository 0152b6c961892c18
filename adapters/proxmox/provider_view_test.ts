/**
 * Tests of provider_view.ts over an in-memory PVE client stub: which hosts a read of the
 * cluster keeps (offline, tripped or unreachable hosts are absent, other failures are errors),
 * committed resources from configured VM sizes plus in-flight launches, a config read as a
 * Machine only when it is proxscale's, the search for a claim's VM, and missing volumes.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import type { Provider } from "../../core/model.ts";
import { GiB, MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { type Ctx, DEFAULT_TIMINGS } from "./provider_context.ts";
import { findClaimVm, hosts, machine, missingVolumes, view } from "./provider_view.ts";
import type { NodeEntry, QemuListEntry, VmConfig } from "./schemas.ts";
import { Semaphore } from "./semaphore.ts";
import { claim, provider as baseProvider } from "./testing/fixtures.ts";
import { claimDescription } from "./vm_config.ts";
import { VmidLedger } from "./vmid_ledger.ts";

const host = (name: string, zone: string) => ({
  name,
  zone,
  cpuOvercommit: 1,
  memoryOvercommit: 1,
  reserved: { cpu: 0, memory: 0 },
});
const provider: Provider = {
  ...baseProvider,
  hosts: [host("pve1", "a"), host("pve2", "a"), host("pve3", "b"), host("pve4", "b")],
};
const fail = (kind: PveErrorKind): PveError => localError(kind, "GET /x", kind);

/** What the stub PVE answers; a failure per host or call where a test sets one. */
type World = {
  nodes: Result<NodeEntry[], PveError>;
  quorate?: boolean;
  lists: Record<string, Result<QemuListEntry[], PveError>>;
  tripped?: string[];
  configs?: Record<number, Result<VmConfig, PveError>>;
  storage?: Record<string, Result<{ volid: string }[], PveError>>;
  /** HA manager node status (absent: the endpoint fails, as without Sys.Audit). */
  ha?: Record<string, string>;
};

function ctxFor(w: World, now = 1_000): { ctx: Ctx; calls: string[] } {
  const calls: string[] = [];
  const client = {
    nodes: () => (calls.push("nodes"), Promise.resolve(w.nodes)),
    clusterStatus: () =>
      Promise.resolve(ok(w.quorate === undefined ? [] : [{ type: "cluster", quorate: w.quorate }])),
    haManagerStatus: () =>
      Promise.resolve(
        w.ha === undefined
          ? err(fail("permission"))
          : ok({ manager_status: { node_status: w.ha } }),
      ),
    qemuList: (
      n: string,
    ) => (calls.push(`list ${n}`), Promise.resolve(w.lists[n] ?? err(fail("nodeUnreachable")))),
    hostTripped: (n: string) => (w.tripped ?? []).includes(n),
    vmConfig: (
      _: string,
      vmid: number,
    ) => (calls.push(`config ${vmid}`),
      Promise.resolve(w.configs?.[vmid] ?? err(fail("notFound")))),
    storageContent: (
      n: string,
      s: string,
    ) => (calls.push(`storage ${n} ${s}`),
      Promise.resolve(w.storage?.[s] ?? err(fail("notFound")))),
  };
  const ctx: Ctx = {
    client: client as unknown as PveClient,
    provider,
    rng: seededRng(1),
    now: () => now,
    sleep: () => Promise.resolve(),
    t: DEFAULT_TIMINGS,
    ledger: new VmidLedger(() => now),
    overhead: 256 * MiB,
    maxAttempts: 3,
    inFlight: new Map(),
    backoff: () => 0,
    cloneGate: () => new Semaphore(1),
  };
  return { ctx, calls };
}

const online = (node: string): NodeEntry => ({
  node,
  status: "online",
  maxcpu: 8,
  maxmem: 32 * GiB,
});
const vm = (vmid: number, extra: Partial<QemuListEntry> = {}): QemuListEntry => ({
  vmid,
  status: "running",
  cpus: 2,
  maxmem: 4 * GiB,
  ...extra,
});

Deno.test("a cluster read keeps reachable online hosts and counts proxscale's VMs per zone", async () => {
  const { ctx, calls } = ctxFor({
    nodes: ok([
      online("pve1"),
      online("pve2"),
      { node: "pve3", status: "offline" },
      online("pve4"),
    ]),
    quorate: true,
    lists: {
      pve1: ok([vm(1000, { tags: "proxscale" }), vm(1001, { tags: "k8s;proxscale" }), vm(5)]),
      pve2: ok([vm(1002, { tags: "proxscale-template" })]),
      // pve4: no answer (unreachable) -> absent, not an error.
    },
    tripped: ["pve2"],
  });
  const r = await view(ctx);
  assert.ok(r.ok);
  assert.deepEqual([...r.value.lists.keys()], ["pve1"]);
  assert.deepEqual([...r.value.zoneCounts], [["a", 2]]);
  assert.equal(r.value.quorate, true);
  // Offline and tripped hosts are not even asked.
  assert.deepEqual(calls, ["nodes", "list pve1", "list pve4"]);
});

Deno.test("a cluster read fails on a listing error that is not about reachability, or on no hosts", async () => {
  const denied = await view(
    ctxFor({ nodes: ok([online("pve1")]), lists: { pve1: err(fail("permission")) } }).ctx,
  );
  assert.equal(!denied.ok && denied.error.kind === "Api" && denied.error.step, "list VMs on pve1");
  const none = await view(ctxFor({ nodes: ok([]), lists: {} }).ctx);
  assert.ok(!none.ok);
  assert.match(none.error.message, /token probably lacks Sys\.Audit/);
});

Deno.test("committed resources count configured sizes plus in-flight launches; no quorum means offline", async () => {
  const { ctx } = ctxFor({
    nodes: ok([online("pve1"), online("pve2")]),
    quorate: false,
    lists: {
      pve1: ok([
        vm(1000),
        vm(1001, { cpus: 1.5, maxmem: 2 * GiB }),
        vm(9000, { template: true }),
        vm(1002),
      ]),
      pve2: ok([]),
    },
  });
  ctx.inFlight.set("a", {
    host: "pve1",
    footprint: { cpu: 4000, memory: 8 * GiB },
    vmid: 1002,
    expires: 2_000,
  });
  ctx.inFlight.set("old", { host: "pve1", footprint: { cpu: 99_000, memory: 1 }, expires: 1_000 });
  const v = await view(ctx);
  assert.ok(v.ok);
  const [h1, h2, h3] = hosts(ctx, v.value);
  // vm 1002 counts once, as its launch's footprint; the template not at all.
  assert.deepEqual(h1?.committed, {
    cpu: 2000 + 2000 + 4000,
    memory: 4 * GiB + 2 * GiB + 2 * 256 * MiB + 8 * GiB,
  });
  assert.deepEqual(h1?.capacity, { cpu: 8000, memory: 32 * GiB });
  assert.equal(h1?.online, false, "a cluster without quorum makes no host usable");
  assert.deepEqual(h2?.committed, { cpu: 0, memory: 0 });
  assert.equal(h3?.online, false);
  assert.equal(ctx.inFlight.has("old"), false, "an expired launch stops counting");
});

Deno.test("a config is a Machine only with a claim identity and proxscale's tag or VMID range", () => {
  const { ctx } = ctxFor({ nodes: ok([]), lists: {} });
  const cfg = (tags?: string, description = claimDescription(claim)): VmConfig => ({
    digest: "d",
    name: "general-x7k2p",
    description,
    cores: 2,
    sockets: 2,
    memory: 4096,
    ...(tags === undefined ? {} : { tags }),
  });
  assert.deepEqual(machine(ctx, "pve1", 5, cfg("proxscale;k8s"), "running"), {
    vmid: 5,
    host: "pve1",
    provider: "lab",
    name: "general-x7k2p",
    tags: ["proxscale", "k8s"],
    status: "running",
    size: { cpu: 4000, memory: 4 * GiB },
    claim: "general-x7k2p",
  });
  assert.equal(machine(ctx, "pve1", 1050, cfg(), "weird")?.status, "unknown", "in range, untagged");
  assert.equal(machine(ctx, "pve1", 5, cfg(), "running"), undefined, "out of range, untagged");
  assert.equal(
    machine(ctx, "pve1", 1050, cfg("proxscale", "hand-made"), "running"),
    undefined,
  );
});

Deno.test("a Machine carries the recorded claim creation time, PVE's creation time and, running, its start", () => {
  const { ctx } = ctxFor({ nodes: ok([]), lists: {} }, 5_000_000);
  const cfg: VmConfig = {
    digest: "d",
    name: "general-x7k2p",
    description: claimDescription({ ...claim, createdAt: 3_000_123 }),
    tags: "proxscale",
    meta: "creation-qemu=9.0.2,ctime=2000",
  };
  const m = machine(ctx, "pve1", 5, cfg, "running", 1000)!;
  assert.equal(m.claimCreatedAt, 3_000_123);
  assert.equal(m.vmCreatedAt, 2_000_000, "ctime is in seconds");
  assert.equal(m.startedAt, 4_000_000, "now minus 1000 s of uptime");
  const older: VmConfig = { ...cfg };
  older.meta = "creation-qemu=9.0.2";
  const stopped = machine(ctx, "pve1", 5, older, "stopped", 0)!;
  assert.equal(stopped.vmCreatedAt, undefined);
  assert.equal(stopped.startedAt, undefined, "a stopped VM has no start");
});

Deno.test("a claim's VM is found by name confirmed by its description; an unreadable config is an error", async () => {
  const desc = claimDescription(claim);
  const world: World = {
    nodes: ok([online("pve1"), online("pve2")]),
    lists: {
      pve1: ok([vm(1000, { name: "general-x7k2p" }), vm(1001, { name: "other" })]),
      pve2: ok([vm(1003, { name: "general-x7k2p" })]),
    },
    configs: {
      1000: ok({ digest: "d", description: "someone else's VM" }),
      1003: ok({ digest: "d", description: desc }),
    },
  };
  const { ctx, calls } = ctxFor(world);
  const r = await findClaimVm(ctx, claim.name);
  assert.ok(r.ok);
  assert.equal(r.value?.node, "pve2");
  assert.equal(r.value?.vmid, 1003);
  assert.deepEqual(calls, ["nodes", "list pve1", "config 1000", "list pve2", "config 1003"]);
  const broken = ctxFor({ ...world, configs: { 1000: err(fail("permission")) } });
  const b = await findClaimVm(broken.ctx, claim.name);
  assert.equal(!b.ok && b.error.kind === "Api" && b.error.step, "read config of VM 1000");
  const none = ctxFor({ ...world, configs: {} });
  assert.deepEqual(await findClaimVm(none.ctx, claim.name), ok(undefined));
});

Deno.test("missing volumes are listed once per storage; a storage absent on the host misses all its volumes", async () => {
  const { ctx, calls } = ctxFor({
    nodes: ok([]),
    lists: {},
    storage: { local: ok([{ volid: "local:iso/a.iso" }]), nfs: err(fail("permission")) },
  });
  const r = await missingVolumes(ctx, "pve1", [
    "local:iso/a.iso",
    "local:iso/b.iso",
    "gone:vm-1-disk-0",
    "gone:vm-1-disk-1",
  ]);
  assert.deepEqual(r, ok(["local:iso/b.iso", "gone:vm-1-disk-0", "gone:vm-1-disk-1"]));
  assert.deepEqual(calls, ["storage pve1 local", "storage pve1 gone"]);
  const e = await missingVolumes(ctx, "pve1", ["nfs:iso/c.iso"]);
  assert.equal(!e.ok && e.error.kind === "Api" && e.error.step, "list storage nfs on pve1");
});

Deno.test("a host the HA manager has in maintenance is drained; configured maintenance is left to the core", async () => {
  const { ctx } = ctxFor({
    nodes: ok([online("pve1"), online("pve2"), online("pve3"), online("pve4")]),
    lists: { pve1: ok([]), pve2: ok([]), pve3: ok([]), pve4: ok([]) },
    ha: { pve1: "online", pve2: "maintenance", pve3: "online", pve4: "online" },
  });
  ctx.provider = {
    ...provider,
    hosts: provider.hosts.map((h) => h.name === "pve3" ? { ...h, maintenance: "cordon" } : h),
  };
  const v = await view(ctx);
  assert.ok(v.ok);
  assert.deepEqual(
    hosts(ctx, v.value).map((h) => [h.name, h.maintenance]),
    [["pve1", undefined], ["pve2", "drain"], ["pve3", undefined], ["pve4", undefined]],
  );
  // An unreadable HA status says nothing about maintenance.
  const quiet = ctxFor({ nodes: ok([online("pve1")]), lists: { pve1: ok([]) } });
  const q = await view(quiet.ctx);
  assert.ok(q.ok);
  assert.equal(hosts(quiet.ctx, q.value)[0]!.maintenance, undefined);
});
