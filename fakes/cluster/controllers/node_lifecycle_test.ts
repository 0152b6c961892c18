/**
 * Node lifecycle behaviour: a node whose heartbeats stop becomes Unknown with the unreachable
 * taints, a node reporting Ready=False gets the not-ready taints, and pods there are evicted
 * after their tolerationSeconds.
 */
import assert from "node:assert/strict";
import { formatMicroTime, type KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { addNode, bind, run, until, withControllers } from "./testing/cluster.ts";

function renew(s: KubeStore, node: string): void {
  const cur = s.peek("leases.coordination.k8s.io", "kube-node-lease", node);
  const spec = {
    holderIdentity: node,
    leaseDurationSeconds: 40,
    renewTime: formatMicroTime(s.now()),
  };
  const r = cur
    ? s.update("leases.coordination.k8s.io", { ...structuredClone(cur), spec }, {
      namespace: "kube-node-lease",
    })
    : s.create("leases.coordination.k8s.io", {
      metadata: { name: node, namespace: "kube-node-lease" },
      spec,
    });
  assert.ok(r.ok, JSON.stringify(r));
}

function podOn(s: KubeStore, name: string, node: string, tolerations?: object[]): void {
  const r = s.create("pods", {
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "x" }], ...(tolerations ? { tolerations } : {}) },
  });
  assert.ok(r.ok);
  bind(s, r.value.object, node);
  run(s, s.peek("pods", "default", name)!);
}

const taintKeys = (n: KObj | undefined) =>
  (n?.spec?.taints ?? []).map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`)
    .sort();

Deno.test("a node whose Lease stops being renewed goes Unknown with the unreachable taints, and its pods are evicted after tolerationSeconds", async () => {
  await withControllers(
    { nodeMonitorGracePeriodMs: 300, defaultTolerationSeconds: 1 },
    async (k) => {
      const s = k.store;
      addNode(s, "alive");
      addNode(s, "dying");
      renew(s, "alive");
      renew(s, "dying");
      podOn(s, "defaulted", "dying"); // admission gave it 1 s for unreachable
      assert.equal(
        s.peek("pods", "default", "defaulted")!.spec.tolerations.find((t: { key: string }) =>
          t.key === "node.kubernetes.io/unreachable"
        ).tolerationSeconds,
        1,
      );
      podOn(s, "forever", "dying", [{
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
      }]);
      podOn(s, "elsewhere", "alive");
      const keepAlive = setInterval(() => renew(s, "alive"), 50);
      try {
        const t0 = Date.now();
        const node = await until("dying is Unknown", () => {
          const n = s.peek("nodes", undefined, "dying");
          const ready = n?.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
          return ready?.status === "Unknown" ? n : undefined;
        }, 3000);
        assert.ok(Date.now() - t0 >= 200, "not before the grace period");
        const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
        assert.equal(ready.reason, "NodeStatusUnknown");
        assert.equal(ready.message, "Kubelet stopped posting node status.");
        await until(
          "unreachable taints",
          () =>
            JSON.stringify(taintKeys(s.peek("nodes", undefined, "dying"))) ===
              JSON.stringify([
                "node.kubernetes.io/unreachable:NoExecute",
                "node.kubernetes.io/unreachable:NoSchedule",
              ]),
        );
        // Still there half a second later: it tolerates the taint for 1 s.
        await new Promise((r) => setTimeout(r, 500));
        assert.ok(!s.peek("pods", "default", "defaulted")?.metadata.deletionTimestamp);
        const gone = await until("defaulted evicted", () => {
          const p = s.peek("pods", "default", "defaulted");
          return !p || p.metadata.deletionTimestamp ? true : undefined;
        }, 3000);
        assert.ok(gone);
        assert.ok(
          s.peek("pods", "default", "forever"),
          "a toleration without seconds keeps the pod",
        );
        assert.ok(!s.peek("pods", "default", "forever")!.metadata.deletionTimestamp);
        assert.ok(!s.peek("pods", "default", "elsewhere")!.metadata.deletionTimestamp);
        const alive = s.peek("nodes", undefined, "alive")!;
        assert.equal(
          alive.status.conditions.find((c: { type: string }) => c.type === "Ready").status,
          "True",
        );
        assert.deepEqual(taintKeys(alive), []);
      } finally {
        clearInterval(keepAlive);
      }
    },
  );
});

Deno.test("a node reporting Ready=False gets the not-ready taints, and they go when it is Ready again", async () => {
  await withControllers({ nodeMonitorGracePeriodMs: 10_000 }, async (k) => {
    const s = k.store;
    addNode(s, "n1", { ready: "False" });
    await until(
      "not-ready taints",
      () =>
        JSON.stringify(taintKeys(s.peek("nodes", undefined, "n1"))) ===
          JSON.stringify([
            "node.kubernetes.io/not-ready:NoExecute",
            "node.kubernetes.io/not-ready:NoSchedule",
          ]),
    );
    const n = s.peek("nodes", undefined, "n1")!;
    s.update("nodes", {
      ...structuredClone(n),
      status: { conditions: [{ ...n.status.conditions[0], status: "True" }] },
    }, { subresource: "status" });
    await until("taints gone", () => taintKeys(s.peek("nodes", undefined, "n1")).length === 0);
  });
});
