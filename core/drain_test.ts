import assert from "node:assert/strict";
import { decideDrain, type DrainInput, drainTier, nextBackoff } from "./drain.ts";
import type { Pod } from "./model.ts";
import { T0, testPod } from "./testing/arbitraries.ts";

function input(pods: Pod[], over: Partial<DrainInput> = {}): DrainInput {
  return {
    node: "n1",
    pods,
    pdbs: [],
    now: T0,
    startedAt: T0,
    drainTimeout: 600_000,
    terminationGracePeriod: null,
    drainTimeoutAction: "uncordon",
    backoff: {},
    ...over,
  };
}

const web = (i: number, over: Partial<Pod> = {}) => testPod(`web-${i}`, "n1", over);
const critical = (i: number) =>
  testPod(`dns-${i}`, "n1", { priorityClassName: "system-cluster-critical" });
const ds = (i: number) => testPod(`agent-${i}`, "n1", { ownerKind: "DaemonSet" });

Deno.test("pods leave in tiers: workloads, then critical pods, then DaemonSet pods", () => {
  const pods = [ds(1), critical(1), web(1), web(2)];
  const d1 = decideDrain(input(pods));
  assert.equal(d1.kind, "Evict");
  assert.ok(d1.kind === "Evict" && d1.tier === "NonCritical");
  assert.deepEqual(d1.kind === "Evict" && d1.pods.map((p) => p.name), ["web-1", "web-2"]);
  const d2 = decideDrain(input([ds(1), critical(1)]));
  assert.ok(d2.kind === "Evict" && d2.tier === "Critical" && d2.pods.length === 1);
  const d3 = decideDrain(input([ds(1)]));
  assert.ok(d3.kind === "Evict" && d3.tier === "DaemonSet");
  assert.equal(drainTier(testPod("x", "n1", { priority: 2_000_001_000 })), "Critical");
});

Deno.test("a tier waits while its pods terminate before the next starts", () => {
  const d = decideDrain(input([web(1, { deleting: true }), critical(1)]));
  assert.equal(d.kind, "Wait");
  assert.ok(d.kind === "Wait" && d.tier === "NonCritical" && d.until === T0 + 600_000);
});

Deno.test("static, finished and disruption-tolerating pods do not hold a drain", () => {
  const d = decideDrain(input([
    web(1, { ownerKind: "Node" }),
    web(2, { phase: "Succeeded" }),
    testPod("elsewhere", "n2"),
    // A DaemonSet agent that tolerates every taint would come straight back after eviction.
    testPod("cni-1", "n1", { ownerKind: "DaemonSet", tolerations: [{ operator: "Exists" }] }),
    web(3, { tolerations: [{ key: "proxscale.io/disrupted", operator: "Exists" }] }),
  ]));
  assert.equal(d.kind, "Drained");
  const keyed = decideDrain(input([
    testPod("agent-1", "n1", {
      ownerKind: "DaemonSet",
      tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists" }],
    }),
  ]));
  assert.equal(keyed.kind, "Evict");
});

Deno.test("do-not-disrupt pods stay queued, with the key in the reason", () => {
  const d = decideDrain(
    input([web(1, { annotations: { "karpenter.sh/do-not-disrupt": "true" } })]),
  );
  assert.equal(d.kind, "Wait");
  assert.equal(d.kind === "Wait" && d.reason.code, "DoNotDisrupt");
  assert.match(d.reason.message, /karpenter\.sh\/do-not-disrupt/);
});

Deno.test("no more evictions are asked for than a PDB allows", () => {
  const pdbs = [{
    name: "web",
    namespace: "default",
    selector: { matchLabels: { app: "web" } },
    disruptionsAllowed: 1,
  }];
  const d = decideDrain(input([web(1), web(2), web(3)], { pdbs }));
  assert.ok(d.kind === "Evict" && d.pods.length === 1);
  const none = decideDrain(input([web(1)], { pdbs: [{ ...pdbs[0]!, disruptionsAllowed: 0 }] }));
  assert.equal(none.kind, "Wait");
  assert.equal(none.reason.code, "PdbBlocked");
});

Deno.test("a refused eviction backs off 100 ms doubling to 10 s", () => {
  let b = nextBackoff(undefined, 0);
  assert.deepEqual(b, { failures: 1, notBefore: 100 });
  b = nextBackoff(b, 0);
  assert.equal(b.notBefore, 200);
  for (let i = 0; i < 10; i++) b = nextBackoff(b, 0);
  assert.equal(b.notBefore, 10_000);
  const pod = web(1);
  const d = decideDrain(
    input([pod], { backoff: { [pod.uid]: { failures: 2, notBefore: T0 + 200 } } }),
  );
  assert.ok(d.kind === "Wait" && d.until === T0 + 200 && d.reason.code === "PdbBlocked");
  const later = decideDrain(
    input([pod], { now: T0 + 200, backoff: { [pod.uid]: { failures: 2, notBefore: T0 + 200 } } }),
  );
  assert.equal(later.kind, "Evict");
});

Deno.test("at drainTimeout, uncordon gives up and force deletes with the grace period", () => {
  const pods = [web(1, { annotations: { "proxscale.io/do-not-disrupt": "true" } })];
  const late = { now: T0 + 600_000 };
  const up = decideDrain(input(pods, late));
  assert.equal(up.kind, "GiveUp");
  assert.equal(up.reason.code, "DrainTimeout");
  const force = decideDrain(
    input(pods, { ...late, drainTimeoutAction: "force", terminationGracePeriod: 60_000 }),
  );
  assert.ok(force.kind === "Force" && force.gracePeriod === 60_000 && force.pods.length === 1);
  const terminating = [{ ...pods[0]!, deleting: true }];
  const wait = decideDrain(
    input(terminating, { ...late, drainTimeoutAction: "force", terminationGracePeriod: 60_000 }),
  );
  assert.ok(wait.kind === "Wait" && wait.until === T0 + 660_000);
  const done = decideDrain(
    input(terminating, {
      now: T0 + 660_000,
      drainTimeoutAction: "force",
      terminationGracePeriod: 60_000,
    }),
  );
  assert.equal(done.kind, "Drained");
});
