import assert from "node:assert/strict";
import { reason } from "../core/reason.ts";
import { jobDone, jobFailed } from "./ports/queue.ts";
import { jobHandler } from "./workers.ts";
import type { JobData } from "./context.ts";
import { unitContext } from "./testing/context_fake.ts";
import { FakeProvider } from "./testing/provider_fake.ts";

const job = (data: JobData) => ({
  id: "j1",
  name: data.kind,
  data,
  attempt: 1,
  signal: new AbortController().signal,
});

Deno.test("an orphan VM's job destroys it and reports the deletion with the orphan reason", async () => {
  const p = new FakeProvider();
  const vm = p.seed("gone-claim", "host1");
  const { ctx, reports } = unitContext({ fake: p });
  const outcome = await jobHandler(ctx)(job({ kind: "gc-vm", vm }));
  assert.deepEqual(outcome, jobDone());
  assert.equal(p.machines.size, 0);
  assert.deepEqual(reports.map((r) => [r.what, r.outcome, r.reason.code, r.vmid]), [
    ["VmDeleted", "succeeded", "OrphanVM", vm.vmid],
  ]);
});

Deno.test("an orphan VM's job carries the reason of the decision that queued it", async () => {
  const p = new FakeProvider();
  const vm = p.seed("c1", "host1");
  const { ctx, reports } = unitContext({ fake: p });
  const origin = { reason: reason("Drifted", "template changed") };
  assert.deepEqual(await jobHandler(ctx)(job({ kind: "gc-vm", vm, origin })), jobDone());
  assert.deepEqual(reports[0]?.reason, origin.reason);
});

Deno.test("an orphan VM already gone ends its job as done", async () => {
  const p = new FakeProvider();
  const vm = p.seed("c1", "host1");
  p.machines.clear();
  const { ctx } = unitContext({ fake: p });
  assert.deepEqual(await jobHandler(ctx)(job({ kind: "gc-vm", vm })), jobDone());
});

Deno.test("a failed orphan destroy fails the job for a retry and reports ProviderError with the provider's words", async () => {
  const p = new FakeProvider();
  const vm = p.seed("c1", "host1");
  p.failNext("delete", { kind: "InProgress", vmid: vm.vmid, host: "host1", message: "locked" });
  const { ctx, reports } = unitContext({ fake: p });
  const outcome = await jobHandler(ctx)(job({ kind: "gc-vm", vm }));
  assert.deepEqual(outcome, jobFailed(reason("ProviderError", "locked")));
  assert.ok(p.machines.has(vm.vmid));
  assert.equal(reports[0]?.what, "VmDeleteFailed");
  assert.equal(reports[0]?.reason.code, "ProviderError");
  assert.match(reports[0]?.reason.message ?? "", /has no NodeClaim: locked$/);
  // The retry finds the fake working again.
  assert.deepEqual(await jobHandler(ctx)(job({ kind: "gc-vm", vm })), jobDone());
});

Deno.test("an orphan VM of a provider the daemon does not know fails without retry", async () => {
  const p = new FakeProvider();
  const vm = { ...p.seed("c1", "host1"), provider: "elsewhere" };
  const { ctx } = unitContext({ fake: p });
  assert.deepEqual(
    await jobHandler(ctx)(job({ kind: "gc-vm", vm })),
    jobFailed(reason("ConfigInvalid", "unknown provider elsewhere"), false),
  );
  assert.deepEqual(p.calls, []);
});
