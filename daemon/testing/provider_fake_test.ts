import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import { testConfig, testTemplate } from "../../core/testing/arbitraries.ts";
import { fakeClaim as claim, FakeProvider } from "./provider_fake.ts";

const template = testTemplate();
const provider = testConfig().providers[0]!;
const GiB = 2 ** 30;

Deno.test("creating a claim's VM twice gives the same VM, and both calls are recorded", async () => {
  const p = new FakeProvider();
  const a = await p.create(claim("c1"), template, provider);
  const b = await p.create(claim("c1"), template, provider);
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.vmid, b.value.vmid);
  assert.equal(p.machines.size, 1);
  assert.deepEqual(p.callsOf("create"), [
    { method: "create", claim: "c1" },
    { method: "create", claim: "c1" },
  ]);
});

Deno.test("a created VM sits on the claim's planned host, sized by its shape, and counts there", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  const made = await p.create(claim("c1", { host: "h2" }), template, provider);
  assert.ok(made.ok);
  assert.equal(made.value.host, "h2");
  assert.deepEqual(made.value.size, { cpu: 2000, memory: 4 * GiB });
  const inv = await p.inventory();
  assert.ok(inv.ok);
  assert.deepEqual(inv.value.map((h) => [h.name, h.committed.cpu]), [["h1", 0], ["h2", 2000]]);
});

Deno.test("deleting a VM already gone succeeds; deleting another claim's VM is refused", async () => {
  const p = new FakeProvider();
  const mine = p.seed("c1", "host1");
  assert.deepEqual(await p.delete(mine), ok(undefined));
  assert.deepEqual(await p.delete(mine), ok(undefined));
  const theirs = p.seed("c2", "host1");
  const refused = await p.delete({ ...theirs, claim: "c1" });
  assert.ok(!refused.ok);
  assert.equal(refused.error.kind, "NotOwned");
  assert.ok(p.machines.has(theirs.vmid));
});

Deno.test("a VM on an unreachable host is unknown: not listed, its host named, offline in the inventory", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  p.seed("c1", "h1");
  p.seed("c2", "h2");
  p.unreachable.add("h2");
  const l = await p.listing();
  assert.ok(l.ok);
  assert.deepEqual(l.value.machines.map((m) => m.claim), ["c1"]);
  assert.deepEqual(l.value.unknownHosts, ["h2"]);
  const inv = await p.inventory();
  assert.ok(inv.ok);
  assert.deepEqual(inv.value.map((h) => h.online), [true, false]);
});

Deno.test("an injected error fails the next call of that method only, then the fake works again", async () => {
  const p = new FakeProvider();
  const boom = { kind: "InvalidTemplate" as const, message: "boom" };
  p.failNext("listing", boom);
  assert.deepEqual(await p.list(), ok([]));
  assert.deepEqual(await p.listing(), err(boom));
  assert.deepEqual(await p.listing(), ok({ machines: [], unknownHosts: [] }));
  assert.deepEqual(p.calls.map((c) => c.method), ["list", "listing", "listing"]);
});

Deno.test("a failed injected create makes no VM", async () => {
  const p = new FakeProvider();
  p.failNext("create", { kind: "BootstrapFailed", message: "no CA" });
  const r = await p.create(claim("c1"), template, provider);
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "BootstrapFailed");
  assert.equal(p.machines.size, 0);
});

Deno.test("create records the VMID first, and stops with nothing made when that fails", async () => {
  const p = new FakeProvider({ vmidRange: { lower: 500, upper: 501 } });
  const recorded: number[] = [];
  const made = await p.create(claim("c1"), template, provider, {
    recordVmid: (vmid) => {
      recorded.push(vmid);
      return Promise.resolve(ok(undefined));
    },
  });
  assert.ok(made.ok);
  assert.deepEqual(recorded, [500]);
  const refused = await p.create(claim("c2"), template, provider, {
    recordVmid: () => Promise.resolve(err("ledger write failed")),
  });
  assert.ok(!refused.ok);
  assert.equal(refused.error.kind, "VmidNotRecorded");
  assert.equal(p.machines.size, 1);
});

Deno.test("a seed that cannot be built fails the launch as BootstrapFailed, with no VM left", async () => {
  const p = new FakeProvider();
  const r = await p.create(claim("c1"), template, provider, {
    seedIso: {
      storage: "local",
      slot: "ide3",
      name: "c1.iso",
      build: () => Promise.resolve(err("render failed")),
    },
  });
  assert.ok(!r.ok);
  assert.deepEqual(r.error, { kind: "BootstrapFailed", message: "render failed" });
  assert.equal(p.machines.size, 0);
});

Deno.test("a full VMID range is a typed failure", async () => {
  const p = new FakeProvider({ vmidRange: { lower: 7, upper: 7 } });
  assert.ok((await p.create(claim("c1"), template, provider)).ok);
  const r = await p.create(claim("c2"), template, provider);
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "VmidRangeExhausted");
});
