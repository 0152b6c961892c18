/** Pod GC: pods of a deleted Node are removed after the quarantine and their controller replaces them. */
import assert from "node:assert/strict";
import { addNode, bind, livePods, run, until, withControllers } from "./testing/cluster.ts";

Deno.test("pods bound to a deleted Node are force-deleted after the quarantine and a ReplicaSet replaces them", async () => {
  await withControllers({ nodeMonitorGracePeriodMs: 300 }, async (k) => {
    const s = k.store;
    addNode(s, "gone");
    s.create("replicasets.apps", {
      metadata: { name: "api", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "api" } },
        template: {
          metadata: { labels: { app: "api" } },
          spec: { containers: [{ name: "c", image: "x" }] },
        },
      },
    });
    const [pod] = await until("a pod", () => livePods(s).length === 1 ? livePods(s) : undefined);
    bind(s, pod!, "gone");
    run(s, s.peek("pods", "default", pod!.metadata.name!)!);
    s.delete("nodes", undefined, "gone");
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.peek("pods", "default", pod!.metadata.name!), "kept during the quarantine");
    await until("pod removed", () => !s.peek("pods", "default", pod!.metadata.name!), 3000);
    assert.ok(Date.now() - t0 >= 250);
    await until("replacement", () => livePods(s).length === 1);
    assert.notEqual(livePods(s)[0]!.metadata.name, pod!.metadata.name);
  });
});
