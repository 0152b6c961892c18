/**
 * Termination in a simulated world: random pods (workloads, critical, DaemonSet, static,
 * do-not-disrupt), eviction answers (accepted, refused by a PDB, failing, already gone), pods that
 * terminate slowly or never, both drainTimeout outcomes and replacements that come up or fail.
 * Whatever happens, the runner must never delete a VM under running pods, never evict a
 * do-not-disrupt pod, keep the tier order, stop at drainTimeout, and leave a consistent end state.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { terminate, type TerminationTarget } from "../daemon/termination.ts";
import { FakeClock, FakeCluster } from "../daemon/testing/termination_fakes.ts";
import type { Pod } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { EvictError } from "../daemon/termination.ts";
import { reason } from "../core/reason.ts";
import type { PlannedClaim } from "../core/provisioning.ts";
import { testPod } from "../core/testing/arbitraries.ts";

const podArb = fc.record({
  kind: fc.constantFrom("web", "web", "web", "critical", "daemon", "static"),
  doNotDisrupt: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
  /** How the eviction API answers this pod, in turn; the last answer repeats. */
  answers: fc.array(fc.constantFrom("evicted", "pdb", "pdb", "failed", "gone"), {
    minLength: 1,
    maxLength: 4,
  }),
});

const worldArb = fc.record({
  pods: fc.array(podArb, { maxLength: 6 }),
  terminationTime: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constant(Infinity)),
  action: fc.constantFrom("uncordon" as const, "force" as const),
  grace: fc.constantFrom(null, 30_000, 120_000),
  drainTimeout: fc.integer({ min: 1, max: 10 }).map((m) => m * 60_000),
  replacement: fc.constantFrom("none", "ready", "slow-ready", "failed"),
});

/** Tier order a drain must keep: workloads, then critical pods, then DaemonSet pods. */
function tierOf(p: Pod): number {
  if (p.ownerKind === "DaemonSet") return 2;
  return p.priorityClassName?.startsWith("system-") ? 1 : 0;
}

Deno.test("termination never deletes a VM under running pods and keeps the drain rules", async () => {
  await fc.assert(
    fc.asyncProperty(worldArb, async (w) => {
      const clock = new FakeClock();
      const pods = w.pods.map((p, i) =>
        testPod(`${p.kind}-${i}`, "n1", {
          ...(p.kind === "critical" ? { priorityClassName: "system-node-critical" } : {}),
          ...(p.kind === "daemon" ? { ownerKind: "DaemonSet" } : {}),
          ...(p.kind === "static" ? { ownerKind: "Node" } : {}),
          ...(p.doNotDisrupt ? { annotations: { "karpenter.sh/do-not-disrupt": "true" } } : {}),
        })
      );
      const fake = new FakeCluster(clock, pods);
      fake.terminationTime = w.terminationTime;
      fake.replacementStates = w.replacement === "failed"
        ? ["Pending", "Failed"]
        : w.replacement === "slow-ready"
        ? ["Pending", "Pending", "Pending", "Ready"]
        : ["Ready"];
      const answers = new Map(pods.map((p, i) => [p.uid, [...w.pods[i]!.answers]]));
      const problems: string[] = [];
      let drainStart: number | undefined;
      const listPods = fake.listPods.bind(fake);
      fake.listPods = (node) => {
        drainStart ??= clock.now();
        return listPods(node);
      };
      fake.evictAnswer = (pod): Result<"evicted" | "gone", EvictError> => {
        const here = fake.pods.filter((p) => p.nodeName === "n1" && p.ownerKind !== "Node");
        if (here.some((p) => tierOf(p) < tierOf(pod))) problems.push(`tier order: ${pod.name}`);
        if (pod.annotations?.["karpenter.sh/do-not-disrupt"]) problems.push(`evicted ${pod.name}`);
        if (pod.ownerKind === "Node") problems.push(`evicted static ${pod.name}`);
        const list = answers.get(pod.uid)!;
        const a = list.length > 1 ? list.shift()! : list[0]!;
        if (a === "evicted") return ok("evicted");
        if (a === "gone") {
          fake.pods = fake.pods.filter((p) => p.uid !== pod.uid);
          return ok("gone");
        }
        return err(
          a === "pdb"
            ? {
              kind: "PdbBlocked",
              message: "Cannot evict pod as it would violate the pod's disruption budget.",
            }
            : { kind: "Failed", message: "etcdserver: request timed out" },
        );
      };
      let vmAt: number | undefined;
      let terminatingAtVm = 0;
      const deleteVm = fake.deleteVm.bind(fake);
      fake.deleteVm = (t) => {
        vmAt = clock.now();
        terminatingAtVm = fake.pods.filter((p) => p.nodeName === "n1" && p.ownerKind !== "Node")
          .length;
        return deleteVm(t);
      };
      const deletePod = fake.deletePod.bind(fake);
      fake.deletePod = (p, g) => {
        if (w.action !== "force") problems.push(`force-deleted ${p.name} without "force"`);
        if (drainStart !== undefined && clock.now() < drainStart + w.drainTimeout) {
          problems.push(`force-deleted ${p.name} before drainTimeout`);
        }
        return deletePod(p, g);
      };

      const target: TerminationTarget = {
        nodeClaim: "n1-claim",
        node: "n1",
        nodePool: "general",
        drainTimeout: w.drainTimeout,
        terminationGracePeriod: w.grace,
        drainTimeoutAction: w.action,
        reason: reason("Drifted", "property"),
      };
      const out = await terminate(target, fake, clock, {
        replacements: w.replacement === "none" ? [] : [{ name: "r1" } as PlannedClaim],
      });

      assert.deepEqual(problems, []);
      assert.deepEqual(fake.violations, [], "VM deleted under running pods");
      const grace = w.grace ?? 30_000;
      const deleted = fake.calls.indexOf("delete-vm n1-claim");
      switch (out.kind) {
        case "ReplacementFailed":
          assert.equal(w.replacement, "failed");
          assert.ok(!fake.calls.some((c) => c.startsWith("evict") || c.startsWith("delete")));
          assert.deepEqual(fake.taints.get("n1"), []);
          break;
        case "GaveUp":
          assert.equal(w.action, "uncordon");
          assert.equal(deleted, -1);
          assert.deepEqual(fake.taints.get("n1"), []);
          assert.ok(fake.vms.has("n1-claim") && fake.finalizers.has("n1-claim"));
          assert.ok(clock.now() >= drainStart! + w.drainTimeout, "gave up early");
          assert.ok(clock.now() <= drainStart! + w.drainTimeout + 10_000, "gave up late");
          break;
        case "Terminated": {
          assert.ok(deleted >= 0);
          assert.ok(deleted < fake.calls.indexOf("delete-node n1"));
          assert.ok(fake.calls.indexOf("delete-node n1") < fake.calls.indexOf("release n1-claim"));
          // Pods still terminating at VM deletion: only forced ones past their grace period.
          if (terminatingAtVm > 0) {
            assert.equal(w.action, "force");
            assert.ok(vmAt! >= drainStart! + w.drainTimeout + grace, "VM deleted inside the grace");
          }
          break;
        }
        case "Failed":
          assert.fail(`unexpected port failure: ${out.reason.message}`);
      }
    }),
    { numRuns: 1000 },
  );
});
