/** NoExecute taint eviction: untolerated pods go at once, with DisruptionTarget set first. */
import assert from "node:assert/strict";
import { addNode, bind, run, until, withControllers } from "./testing/cluster.ts";
import { tolerationSecondsFor } from "./taint_eviction.ts";

Deno.test("a NoExecute taint a pod does not tolerate deletes it at once with a DisruptionTarget condition; a tolerating pod stays", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    const seen: string[] = [];
    const w = s.watch("pods", { namespace: "default" }, (e) => {
      const o = e.object as {
        metadata: { name: string };
        status?: { conditions?: { type: string; reason?: string }[] };
      };
      const c = o.status?.conditions?.find((c) => c.type === "DisruptionTarget");
      if (c) seen.push(`${o.metadata.name}:${c.reason}`);
    });
    assert.ok(w.ok);
    for (
      const [name, tolerations] of [
        ["victim", []],
        ["tolerant", [{
          key: "maintenance",
          operator: "Equal",
          value: "now",
          effect: "NoExecute",
        }]],
      ] as const
    ) {
      const r = s.create("pods", {
        metadata: { name, namespace: "default" },
        spec: { containers: [{ name: "c", image: "x" }], tolerations },
      });
      assert.ok(r.ok);
      bind(s, r.value.object, "n1");
      run(s, s.peek("pods", "default", name)!);
    }
    s.patch("nodes", undefined, "n1", "merge", {
      spec: { taints: [{ key: "maintenance", value: "now", effect: "NoExecute" }] },
    });
    await until("victim deleted", () => {
      const p = s.peek("pods", "default", "victim");
      return !p || p.metadata.deletionTimestamp;
    });
    assert.ok(seen.includes("victim:DeletionByTaintManager"));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!s.peek("pods", "default", "tolerant")!.metadata.deletionTimestamp);
    w.value.stop();
  });
});

Deno.test("the time a pod may stay is the smallest tolerationSeconds of the matching tolerations", () => {
  const taints = [
    { key: "a", effect: "NoExecute" },
    { key: "b", effect: "NoExecute" },
  ];
  assert.equal(
    tolerationSecondsFor([
      { key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
      { key: "b", operator: "Exists", tolerationSeconds: 10 },
    ], taints),
    10,
  );
  assert.equal(tolerationSecondsFor([{ operator: "Exists" }], taints), Infinity);
  assert.equal(tolerationSecondsFor([{ key: "a", operator: "Exists" }], taints), 0);
  assert.equal(
    tolerationSecondsFor([{ operator: "Exists", tolerationSeconds: -5 }], taints),
    0,
  );
});
