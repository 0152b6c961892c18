/**
 * The fake at the size later tests use: 1,000 nodes and 30,000 pods seeded in-process,
 * listed and watched over a real socket. Speed is measured in fake_kube_bench.ts; this test
 * checks that the answers stay right at that size.
 */
import assert from "node:assert/strict";
import { call, openWatch, withKube } from "./testing/client.ts";

Deno.test("the store holds 1,000 nodes and 30,000 pods and serves full lists, selector lists and watches from the list RV", async () => {
  await withKube({ historyLimit: 100 }, async (k) => {
    for (let i = 0; i < 1000; i++) {
      const r = k.store.create("nodes", {
        metadata: { name: `n${i}` },
        status: { conditions: [{ type: "Ready", status: "True" }] },
      });
      assert.ok(r.ok);
    }
    for (let i = 0; i < 30_000; i++) {
      k.store.create("pods", {
        metadata: {
          name: `p${i}`,
          namespace: i % 2 ? "default" : "kube-system",
          labels: { app: `a${i % 50}` },
        },
        spec: { nodeName: `n${i % 1000}`, containers: [{ name: "c", image: "x" }] },
      });
    }
    const all = await call(k, "GET", "/api/v1/pods");
    assert.equal(all.json.items.length, 30_000);
    assert.equal(all.json.metadata.resourceVersion, k.store.resourceVersion());
    const onNode = await call(k, "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn7");
    assert.equal(onNode.json.items.length, 30);
    const byLabel = await call(k, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Da1");
    assert.equal(byLabel.json.items.length, 600);
    assert.equal((await call(k, "GET", "/api/v1/nodes")).json.items.length, 1000);

    const w = await openWatch(
      k,
      `/api/v1/pods?watch=true&resourceVersion=${all.json.metadata.resourceVersion}`,
    );
    k.store.delete("pods", "default", "p1", { gracePeriodSeconds: 0 });
    const e = await w.next();
    assert.deepEqual([e.type, e.object.metadata.name], ["DELETED", "p1"]);
    await w.close();
    const initial = await openWatch(k, "/api/v1/namespaces/kube-system/pods?watch=true");
    assert.equal((await initial.take(15_000)).length, 15_000);
    await initial.close();
  });
});
