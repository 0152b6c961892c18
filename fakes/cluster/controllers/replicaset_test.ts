/**
 * ReplicaSet controller behaviour: pods it creates, an evicted or deleted pod replaced, extra
 * pods removed unscheduled first, and orphans adopted.
 */
import assert from "node:assert/strict";
import { addNode, bind, livePods, run, until, withControllers } from "./testing/cluster.ts";

const rs = (replicas: number) => ({
  metadata: { name: "api", namespace: "default" },
  spec: {
    replicas,
    selector: { matchLabels: { app: "api" } },
    template: {
      metadata: { labels: { app: "api" } },
      spec: { containers: [{ name: "c", image: "api:1" }] },
    },
  },
});

Deno.test("a ReplicaSet replaces a pod that is evicted or deleted, and its status counts ready pods", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    assert.ok(s.create("replicasets.apps", rs(2)).ok);
    const first = await until("2 pods", () => livePods(s).length === 2 ? livePods(s) : undefined);
    const owner = s.peek("replicasets.apps", "default", "api")!;
    for (const p of first) {
      assert.match(p.metadata.name!, /^api-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(p.metadata.ownerReferences, [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "api",
        uid: owner.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }]);
      bind(s, p, "n1");
      run(s, s.peek("pods", "default", p.metadata.name!)!);
    }
    await until(
      "2 ready",
      () => s.peek("replicasets.apps", "default", "api")?.status?.readyReplicas === 2,
    );
    const victim = first[0]!.metadata.name!;
    const ev = s.evict("default", victim, {});
    assert.ok(ev.ok, JSON.stringify(ev));
    const after = await until("a replacement", () => {
      const live = livePods(s);
      return live.length === 2 && !live.some((p) => p.metadata.name === victim) ? live : undefined;
    });
    assert.equal(after.filter((p) => !p.spec.nodeName).length, 1, "the replacement is pending");
    // A plain delete is replaced too.
    const other = first[1]!.metadata.name!;
    s.delete("pods", "default", other, { gracePeriodSeconds: 0 });
    await until("replaced again", () => {
      const live = livePods(s);
      return live.length === 2 && !live.some((p) => p.metadata.name === other);
    });
    await until(
      "status",
      () => s.peek("replicasets.apps", "default", "api")?.status?.readyReplicas === undefined,
    );
  });
});

Deno.test("scaling a ReplicaSet down deletes unscheduled pods before running ones, and a matching orphan is adopted", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    s.create("pods", {
      metadata: { name: "stray", namespace: "default", labels: { app: "api" } },
      spec: { containers: [{ name: "c", image: "api:1" }] },
    });
    s.create("replicasets.apps", rs(3));
    await until("3 pods", () => livePods(s).length === 3);
    const stray = await until("stray adopted", () => {
      const p = s.peek("pods", "default", "stray");
      return p?.metadata.ownerReferences?.[0]?.name === "api" ? p : undefined;
    });
    assert.equal(stray.metadata.ownerReferences?.[0]?.controller, true);
    const runningOne = livePods(s).find((p) => p.metadata.name !== "stray")!;
    bind(s, runningOne, "n1");
    run(s, s.peek("pods", "default", runningOne.metadata.name!)!);
    s.patch("replicasets.apps", "default", "api", "merge", { spec: { replicas: 1 } });
    await until("1 pod left", () => livePods(s).length === 1);
    assert.equal(livePods(s)[0]!.metadata.name, runningOne.metadata.name);
  });
});
