import assert from "node:assert/strict";
import { call, openWatch, withKube } from "./testing/client.ts";

const CMS = "/api/v1/namespaces/default/configmaps";

Deno.test("sendInitialEvents sends current objects as ADDED, then a bookmark marking the end of initial events, then changes", async () => {
  await withKube({}, async (k) => {
    for (const n of ["a", "b"]) {
      k.store.create("configmaps", { metadata: { name: n, namespace: "default" } });
    }
    const rvBefore = k.store.resourceVersion();
    const w = await openWatch(
      k,
      `${CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=${rvBefore}`,
    );
    assert.equal(w.status, 200);
    const first = await w.take(3);
    assert.deepEqual(
      first.map((e) => `${e.type}:${e.object.metadata.name ?? ""}`).sort(),
      ["ADDED:a", "ADDED:b", "BOOKMARK:"],
    );
    const bookmark = first[2];
    assert.equal(bookmark.type, "BOOKMARK", "the bookmark comes after every initial ADDED");
    assert.deepEqual(bookmark.object.metadata.annotations, { "k8s.io/initial-events-end": "true" });
    assert.equal(bookmark.object.metadata.resourceVersion, rvBefore);
    k.store.create("configmaps", { metadata: { name: "c", namespace: "default" } });
    const live = await w.next();
    assert.equal(`${live.type}:${live.object.metadata.name}`, "ADDED:c");
    await w.close();
  });
});

Deno.test("watch-list options are validated with the apiserver's ListOptions messages", async () => {
  await withKube({}, async (k) => {
    const noMatch = await call(k, "GET", `${CMS}?watch=true&sendInitialEvents=true`);
    assert.equal(noMatch.status, 422);
    assert.equal(
      noMatch.json.message,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
    const matchOnly = await call(k, "GET", `${CMS}?watch=true&resourceVersionMatch=NotOlderThan`);
    assert.equal(
      matchOnly.json.message,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    );
    const onList = await call(k, "GET", `${CMS}?sendInitialEvents=true`);
    assert.equal(
      onList.json.message,
      'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
    );
  });
});
