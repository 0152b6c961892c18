import assert from "node:assert/strict";
import { terminate, terminateCommand, type TerminationTarget } from "./termination.ts";
import { FakeClock, FakeCluster } from "./testing/termination_fakes.ts";
import { err, ok } from "../core/result.ts";
import { reason } from "../core/reason.ts";
import type { PlannedClaim } from "../core/provisioning.ts";
import type { DisruptionCommand } from "../core/disruption.ts";
import { T0, testPod, testPool } from "../core/testing/arbitraries.ts";

function target(over: Partial<TerminationTarget> = {}): TerminationTarget {
  return {
    nodeClaim: "n1-claim",
    node: "n1",
    nodePool: "general",
    drainTimeout: 600_000,
    terminationGracePeriod: null,
    drainTimeoutAction: "uncordon",
    reason: reason("Underutilized", "test"),
    ...over,
  };
}

const replacement = { name: "general-abcde" } as PlannedClaim;

Deno.test("termination taints, replaces first, drains in tiers, then deletes VM, node, finalizer", async () => {
  const clock = new FakeClock();
  const pods = [
    testPod("agent-1", "n1", { ownerKind: "DaemonSet" }),
    testPod("dns-1", "n1", { priorityClassName: "system-cluster-critical" }),
    testPod("web-1", "n1"),
    testPod("web-2", "n1"),
    testPod("mirror-1", "n1", { ownerKind: "Node" }),
  ];
  const fake = new FakeCluster(clock, pods);
  const out = await terminate(target(), fake, clock, { replacements: [replacement] });
  assert.equal(out.kind, "Terminated");
  assert.ok(out.kind === "Terminated" && out.evicted === 4 && out.forced === 0);
  assert.deepEqual(fake.calls.filter((c) => !c.startsWith("status")), [
    "taint n1",
    "launch general-abcde",
    "evict web-1",
    "evict web-2",
    "evict dns-1",
    "evict agent-1",
    "delete-vm n1-claim",
    "delete-node n1",
    "release n1-claim",
  ]);
  // The replacement was Ready before the first eviction.
  const ready = fake.calls.indexOf("status general-abcde Ready");
  assert.ok(ready > 0 && ready < fake.calls.indexOf("evict web-1"));
  assert.deepEqual(fake.violations, []);
});

Deno.test("an uncooperative PDB stops the drain at drainTimeout and uncordons; no VM is deleted", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, [testPod("web-1", "n1"), testPod("web-2", "n1")]);
  fake.evictAnswer = () =>
    err({
      kind: "PdbBlocked",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
    });
  const out = await terminate(target(), fake, clock);
  assert.equal(out.kind, "GaveUp");
  assert.equal(out.kind === "GaveUp" && out.reason.code, "DrainTimeout");
  assert.ok(
    clock.t >= T0 + 600_000 && clock.t < T0 + 600_000 + 10_000,
    `stopped at +${clock.t - T0}`,
  );
  assert.ok(!fake.calls.some((c) => c.startsWith("delete-vm")), "VM deleted");
  assert.ok(fake.vms.has("n1-claim") && fake.nodes.has("n1") && fake.finalizers.has("n1-claim"));
  assert.deepEqual(fake.taints.get("n1"), []);
  assert.equal(fake.pods.length, 2);
  // Refusals back off (100 ms doubling to 10 s): tens of attempts per pod in 10 minutes, not thousands.
  const perPod = fake.evictAttempts.filter((a) => a.pod === "web-1");
  assert.ok(perPod.length > 10 && perPod.length < 100, `${perPod.length} attempts`);
  assert.ok(perPod[1]!.at - perPod[0]!.at >= 100);
});

Deno.test("with drainTimeoutAction force, the pods are deleted with the grace period before the VM goes", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, [testPod("web-1", "n1"), testPod("web-2", "n1")]);
  fake.evictAnswer = () => err({ kind: "TooManyRequests", message: "429" });
  fake.terminationTime = 20_000;
  const out = await terminate(
    target({ drainTimeoutAction: "force", terminationGracePeriod: 45_000 }),
    fake,
    clock,
  );
  assert.equal(out.kind, "Terminated");
  assert.ok(out.kind === "Terminated" && out.forced === 2 && out.evicted === 0);
  assert.deepEqual(fake.deleteGrace, [45_000, 45_000]);
  const del = fake.calls.indexOf("delete-vm n1-claim");
  assert.ok(del > fake.calls.lastIndexOf("delete-pod web-2"));
  assert.deepEqual(fake.violations, [], "VM deleted under running pods");
  assert.equal(fake.pods.length, 0);
});

Deno.test("pods stuck terminating hold the VM until their grace period has passed", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, [
    testPod("web-1", "n1", { annotations: { "proxscale.io/do-not-disrupt": "true" } }),
  ]);
  fake.terminationTime = Infinity;
  let vmAt = 0;
  const deleteVm = fake.deleteVm.bind(fake);
  fake.deleteVm = (t) => {
    vmAt = clock.now();
    return deleteVm(t);
  };
  const out = await terminate(
    target({ drainTimeoutAction: "force", terminationGracePeriod: 60_000 }),
    fake,
    clock,
  );
  assert.equal(out.kind, "Terminated");
  assert.ok(vmAt >= T0 + 660_000, `VM deleted at +${vmAt - T0}`);
  assert.ok(!fake.calls.includes("evict web-1"), "a do-not-disrupt pod was evicted");
});

Deno.test("a failed replacement aborts before any eviction and removes the taint", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, [testPod("web-1", "n1")]);
  fake.replacementStates = ["Pending", "Failed"];
  const out = await terminate(target(), fake, clock, { replacements: [replacement] });
  assert.equal(out.kind, "ReplacementFailed");
  assert.ok(!fake.calls.some((c) => c.startsWith("evict") || c.startsWith("delete")));
  assert.deepEqual(fake.taints.get("n1"), []);

  const slow = new FakeCluster(new FakeClock(), [testPod("web-1", "n1")]);
  slow.replacementStates = ["Pending"];
  const late = await terminate(target(), slow, slow.clock, {
    replacements: [replacement],
    replacementTimeout: 60_000,
  });
  assert.equal(late.kind, "ReplacementFailed");
  assert.equal(late.kind === "ReplacementFailed" && late.reason.code, "LaunchTimeout");
});

Deno.test("port errors are retried, and a lasting one stops before the next step", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, []);
  fake.failures.set("taint", 2);
  assert.equal((await terminate(target(), fake, clock)).kind, "Terminated");

  const broken = new FakeCluster(new FakeClock(), []);
  broken.failures.set("deleteVm", 100);
  const out = await terminate(target(), broken, broken.clock, { attempts: 3 });
  assert.equal(out.kind, "Failed");
  assert.ok(out.kind === "Failed" && out.step.includes("delete VM"));
  assert.ok(broken.nodes.has("n1") && broken.finalizers.has("n1-claim"));
});

Deno.test("a step that keeps failing ends the termination with its own system's code", async () => {
  // A taint is a Kubernetes write: it fails as KubernetesError, never as the provider's.
  const tainting = new FakeCluster(new FakeClock(), []);
  tainting.failures.set("taint", 100);
  const t = await terminate(target(), tainting, tainting.clock, { attempts: 2 });
  assert.ok(t.kind === "Failed", t.kind);
  assert.equal(t.reason.code, "KubernetesError");
  // Deleting the VM is the provider's.
  const deleting = new FakeCluster(new FakeClock(), []);
  deleting.failures.set("deleteVm", 100);
  const d = await terminate(target(), deleting, deleting.clock, { attempts: 2 });
  assert.ok(d.kind === "Failed", d.kind);
  assert.equal(d.reason.code, "ProviderError");
});

Deno.test("a refused eviction is retried after its backoff and then succeeds", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(clock, [testPod("web-1", "n1")]);
  let refusals = 3;
  fake.evictAnswer = () =>
    refusals-- > 0 ? err({ kind: "PdbBlocked", message: "429" }) : ok("evicted");
  const out = await terminate(target(), fake, clock);
  assert.equal(out.kind, "Terminated");
  const at = fake.evictAttempts.map((a) => a.at - T0);
  assert.equal(at.length, 4);
  assert.ok(at[1]! - at[0]! >= 100 && at[2]! - at[1]! >= 200 && at[3]! - at[2]! >= 400, `${at}`);
});

Deno.test("a command launches its replacement once, then takes each node away", async () => {
  const clock = new FakeClock();
  const fake = new FakeCluster(
    clock,
    [testPod("web-1", "a"), testPod("web-2", "b")],
    "a",
    "a-claim",
  );
  fake.nodes.add("b");
  fake.vms.add("b-claim");
  fake.finalizers.add("b-claim");
  const cmd: DisruptionCommand = {
    method: "MultiNodeConsolidation",
    reason: reason("Underutilized", "two into one"),
    candidates: [
      { nodeClaim: "a-claim", node: "a", nodePool: "general" },
      { nodeClaim: "b-claim", node: "b", nodePool: "general" },
    ],
    replacements: [replacement],
    evictions: [],
    savings: 1,
  };
  const out = await terminateCommand(cmd, [testPool("general")], fake, clock);
  assert.deepEqual(out.map((o) => o.kind), ["Terminated", "Terminated"]);
  assert.equal(fake.calls.filter((c) => c.startsWith("launch")).length, 1);
  assert.ok(fake.calls.indexOf("taint b") < fake.calls.indexOf("launch general-abcde"));
  assert.deepEqual([...fake.vms], []);
  assert.deepEqual(fake.violations, []);
});
