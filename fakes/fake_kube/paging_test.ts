import assert from "node:assert/strict";
import { decodeContinue, encodeContinue } from "./paging.ts";
import { call, withKube } from "./testing/client.ts";

const CMS = "/api/v1/namespaces/default/configmaps";

Deno.test("limit and continue page through a list in key order with remainingItemCount", async () => {
  await withKube({}, async (k) => {
    for (const n of ["e", "b", "d", "a", "c"]) {
      k.store.create("configmaps", { metadata: { name: n, namespace: "default" } });
    }
    const one = await call(k, "GET", `${CMS}?limit=2`);
    assert.deepEqual(one.json.items.map((i: { metadata: { name: string } }) => i.metadata.name), [
      "a",
      "b",
    ]);
    assert.equal(one.json.metadata.remainingItemCount, 3);
    const token = one.json.metadata.continue;
    assert.match(token, /^[A-Za-z0-9_-]+$/, "the token is base64url without padding");
    const decoded = decodeContinue(token);
    assert.deepEqual(decoded, {
      v: "meta.k8s.io/v1",
      rv: Number(one.json.metadata.resourceVersion),
      start: "default/b\u0000",
    });
    const two = await call(k, "GET", `${CMS}?limit=2&continue=${token}`);
    assert.deepEqual(
      two.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["c", "d"],
    );
    assert.equal(two.json.metadata.resourceVersion, one.json.metadata.resourceVersion);
    const three = await call(k, "GET", `${CMS}?limit=2&continue=${two.json.metadata.continue}`);
    assert.deepEqual(three.json.items.map((i: { metadata: { name: string } }) => i.metadata.name), [
      "e",
    ]);
    assert.equal(three.json.metadata.continue, undefined, "the last page has no token");
    assert.equal(three.json.metadata.remainingItemCount, undefined);
    const filtered = await call(k, "GET", `${CMS}?limit=1&fieldSelector=metadata.name!=a`);
    assert.ok(filtered.json.metadata.continue);
    assert.equal(
      filtered.json.metadata.remainingItemCount,
      undefined,
      "no remaining count when a selector filtered the list",
    );
  });
});

Deno.test("a continue token older than the compacted history is 410 Expired with a token that continues at the latest version", async () => {
  await withKube({}, async (k) => {
    for (const n of ["a", "b", "c"]) {
      k.store.create("configmaps", { metadata: { name: n, namespace: "default" } });
    }
    const one = await call(k, "GET", `${CMS}?limit=1`);
    k.store.create("configmaps", { metadata: { name: "d", namespace: "default" } });
    k.store.compactHistory("configmaps");
    const gone = await call(k, "GET", `${CMS}?limit=1&continue=${one.json.metadata.continue}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.json.reason, "Expired");
    assert.match(
      gone.json.message,
      /^The provided continue parameter is too old to display a consistent list result\./,
    );
    const fresh = decodeContinue(gone.json.metadata.continue);
    assert.deepEqual(fresh, { v: "meta.k8s.io/v1", rv: -1, start: "default/a\u0000" });
    const rest = await call(k, "GET", `${CMS}?limit=5&continue=${gone.json.metadata.continue}`);
    assert.deepEqual(
      rest.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["b", "c", "d"],
    );
    assert.equal(rest.json.metadata.resourceVersion, k.store.resourceVersion());
  });
});

Deno.test("bad continue tokens and continue with a resourceVersion are 400", async () => {
  await withKube({}, async (k) => {
    const bad = await call(k, "GET", `${CMS}?limit=1&continue=%25%25`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /^invalid continue token: /);
    const withRv = await call(
      k,
      "GET",
      `${CMS}?limit=1&resourceVersion=5&continue=${encodeContinue(5, "default/a")}`,
    );
    assert.equal(withRv.status, 400);
    assert.equal(
      withRv.json.message,
      "specifying resource version is not allowed when using continue",
    );
  });
});

Deno.test("Table lists page too, carrying continue in the Table's metadata", async () => {
  await withKube({}, async (k) => {
    for (const n of ["a", "b", "c"]) {
      k.store.create("configmaps", { metadata: { name: n, namespace: "default" } });
    }
    const t = await call(k, "GET", `${CMS}?limit=2`, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    });
    assert.equal(t.json.kind, "Table");
    assert.equal(t.json.rows.length, 2);
    assert.ok(t.json.metadata.continue);
    assert.equal(t.json.metadata.remainingItemCount, 1);
  });
});

Deno.test("a list with resourceVersion=0 ignores limit, as the watch cache serves it whole", async () => {
  await withKube({}, async (k) => {
    for (const n of ["a", "b", "c"]) {
      k.store.create("configmaps", { metadata: { name: n, namespace: "default" } });
    }
    const r = await call(k, "GET", `${CMS}?limit=1&resourceVersion=0`);
    assert.equal(r.json.items.length, 3);
    assert.equal(r.json.metadata.continue, undefined);
  });
});
