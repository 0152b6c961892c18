import assert from "node:assert/strict";
import { reason } from "../core/reason.ts";
import { destroyClaimVms } from "./claim_vms.ts";
import { unitContext } from "./testing/context_fake.ts";
import { fakeClaim, FakeProvider } from "./testing/provider_fake.ts";

const why = reason("Drained", "NodeClaim c1 ended");

Deno.test("ending a claim destroys its VM, reports it, and passes the after-vm-deleted step", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  const vm = p.seed("c1", "h1");
  const other = p.seed("c2", "h1");
  const { ctx, reports, hooks } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1", { host: "h1" }), why);
  assert.ok(d.ok);
  assert.equal(d.value.outcome, "deleted");
  assert.deepEqual(d.value.machines.map((m) => m.vmid), [vm.vmid]);
  assert.deepEqual([...p.machines.keys()], [other.vmid]);
  assert.deepEqual(p.callsOf("delete"), [
    { method: "delete", claim: "c1", vmid: vm.vmid, host: "h1" },
  ]);
  assert.deepEqual(reports.map((r) => [r.what, r.outcome, r.reason.code, r.vmid]), [
    ["VmDeleted", "succeeded", "Drained", vm.vmid],
  ]);
  assert.deepEqual(hooks, [{ step: "after-vm-deleted", detail: "c1" }]);
});

Deno.test("a claim whose VM is already gone, with every host reachable, ends as gone", async () => {
  const p = new FakeProvider();
  const { ctx, reports } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1"), why);
  assert.ok(d.ok);
  assert.equal(d.value.outcome, "gone");
  assert.deepEqual(p.callsOf("delete"), []);
  assert.deepEqual(reports, []);
});

Deno.test("a claim whose host cannot be reached is kept: its VM is unknown, not gone", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  p.seed("c1", "h2");
  p.unreachable.add("h2");
  const { ctx } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1", { host: "h2" }), why);
  assert.ok(!d.ok);
  assert.match(d.error, /h2, which cannot be reached/);
  assert.deepEqual(p.callsOf("delete"), []);
  assert.equal(p.machines.size, 1);
});

Deno.test("a claim with no recorded host is kept while any host is unknown", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  p.unreachable.add("h2");
  const { ctx } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1"), why);
  assert.ok(!d.ok);
  assert.match(d.error, /may be on h2/);
});

Deno.test("another host being unreachable does not hold a claim whose own host answered", async () => {
  const p = new FakeProvider({ hosts: ["h1", "h2"] });
  p.unreachable.add("h2");
  const { ctx } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1", { host: "h1" }), why);
  assert.ok(d.ok);
  assert.equal(d.value.outcome, "gone");
});

Deno.test("a failed destroy is reported as ProviderError with the deletion's reason and the provider's words", async () => {
  const p = new FakeProvider();
  const vm = p.seed("c1", "host1");
  p.failNext("delete", { kind: "InProgress", vmid: vm.vmid, host: "host1", message: "VM locked" });
  const { ctx, reports, hooks } = unitContext({ fake: p });
  const d = await destroyClaimVms(ctx, "c1", fakeClaim("c1"), why);
  assert.deepEqual(d, { ok: false, error: "VM locked" });
  assert.deepEqual(reports.map((r) => [r.what, r.outcome, r.reason]), [
    ["VmDeleteFailed", "failed", {
      code: "ProviderError",
      message: "NodeClaim c1 ended: VM locked",
    }],
  ]);
  assert.deepEqual(hooks, []);
  assert.ok(p.machines.has(vm.vmid));
});

Deno.test("a listing that fails keeps the claim and deletes nothing", async () => {
  const p = new FakeProvider();
  p.seed("c1", "host1");
  p.failNext("listing", { kind: "InvalidTemplate", message: "cannot list" });
  const { ctx } = unitContext({ fake: p });
  assert.deepEqual(await destroyClaimVms(ctx, "c1", fakeClaim("c1"), why), {
    ok: false,
    error: "cannot list",
  });
  assert.equal(p.machines.size, 1);
});

Deno.test("a claim no longer known is looked for on every provider, and only its provider is asked when known", async () => {
  const a = new FakeProvider({ name: "a" });
  const b = new FakeProvider({ name: "b" });
  const vm = b.seed("c1", "host1");
  const { ctx } = unitContext({ a, b });
  const d = await destroyClaimVms(ctx, "c1", undefined, why);
  assert.ok(d.ok);
  assert.deepEqual(d.value.machines.map((m) => [m.provider, m.vmid]), [["b", vm.vmid]]);
  assert.equal(a.callsOf("listing").length, 1);

  const known = await destroyClaimVms(ctx, "c2", fakeClaim("c2", { provider: "a" }), why);
  assert.ok(known.ok);
  assert.equal(a.callsOf("listing").length, 2);
  assert.equal(b.callsOf("listing").length, 1);
});
