/**
 * Focused tests of informer.ts against an in-memory list+watch stand-in (no socket): the list
 * and watch queries it sends, how watch events change the cache, bookmarks, relisting on 410
 * (as an ERROR event or as the HTTP status), skipping malformed objects, optional kinds, and
 * a stop that leaves no watch open. tests/kubernetes_informer_test.ts runs it against the fake
 * API server.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { err, ok, type Result } from "../../core/result.ts";
import { Informer, type InformerEvent, objectKey } from "./informer.ts";
import { watchServer } from "./testing/watch_client.ts";

const PATH = "/api/v1/namespaces/ns/configmaps";
const NO_WAIT = { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 };

const obj = (name: string, n: unknown, rv = "1") => ({
  metadata: { name, namespace: "ns", resourceVersion: rv },
  spec: { n },
});

/** The translator under test: an object's spec.n when it is a number. */
const translate = (o: unknown): Result<number, string> => {
  const n = (o as { spec?: { n?: unknown } }).spec?.n;
  return typeof n === "number" ? ok(n) : err("spec.n is not a number");
};

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function informer(srv: ReturnType<typeof watchServer>, extra: { optional?: boolean } = {}) {
  const inf = new Informer<number>({
    client: srv.client,
    path: PATH,
    resource: "configmaps",
    translate,
    labelSelector: "app=x",
    fieldSelector: "metadata.name!=y",
    backoff: NO_WAIT,
    pageSize: 50,
    watchTimeoutSeconds: [7, 7],
    ...extra,
  });
  const events: string[] = [];
  inf.on((e: InformerEvent<number>) => events.push(`${e.type} ${e.key}=${e.value}`));
  return { inf, events };
}

const watchCalls = (srv: ReturnType<typeof watchServer>) =>
  srv.calls.filter((c) => c.query.watch === "true");
const listCalls = (srv: ReturnType<typeof watchServer>) =>
  srv.calls.filter((c) => c.query.watch !== "true");

Deno.test("objectKey is namespace/name, name alone when cluster-scoped, undefined without a name", () => {
  assert.equal(objectKey(obj("a", 1)), "ns/a");
  assert.equal(objectKey({ metadata: { name: "n1" } }), "n1");
  assert.equal(objectKey({ metadata: { name: "" } }), undefined);
  assert.equal(objectKey({ kind: "Pod" }), undefined);
  assert.equal(objectKey(null), undefined);
});

Deno.test("a list fills the cache, then a watch starts from the list's resourceVersion with the same selectors", async () => {
  const srv = watchServer();
  srv.setList(PATH, [obj("a", 1), obj("b", 2)], "40");
  const { inf, events } = informer(srv);
  inf.start();
  await inf.synced();
  assert.equal(inf.hasSynced, true);
  assert.deepEqual(inf.list().sort(), [1, 2]);
  assert.equal(inf.get("ns/b"), 2);
  assert.deepEqual(events.sort(), ["add ns/a=1", "add ns/b=2"]);
  assert.deepEqual(listCalls(srv)[0]!.query, {
    limit: "50",
    labelSelector: "app=x",
    fieldSelector: "metadata.name!=y",
  });
  await waitFor("the watch", () => srv.openWatches(PATH) === 1);
  assert.deepEqual(watchCalls(srv)[0]!.query, {
    watch: "true",
    resourceVersion: "40",
    allowWatchBookmarks: "true",
    timeoutSeconds: "7",
    labelSelector: "app=x",
    fieldSelector: "metadata.name!=y",
  });
  await inf.stop();
  assert.equal(srv.openWatches(PATH), 0, "stop ends the watch");
});

Deno.test("watch events add, update and delete cache entries; a bookmark moves the resume point without a relist", async () => {
  const srv = watchServer();
  srv.setList(PATH, [obj("a", 1)], "10");
  const { inf, events } = informer(srv);
  inf.start();
  await waitFor("the watch", () => srv.openWatches(PATH) === 1);
  srv.emit(PATH, "ADDED", obj("c", 3, "11"));
  srv.emit(PATH, "MODIFIED", obj("a", 5, "12"));
  srv.emit(PATH, "DELETED", obj("c", 3, "13"));
  srv.emit(PATH, "DELETED", obj("never-seen", 9, "14"));
  srv.emit(PATH, "BOOKMARK", { metadata: { resourceVersion: "20" } });
  await waitFor("the events", () => events.length === 4);
  assert.deepEqual(events, ["add ns/a=1", "add ns/c=3", "update ns/a=5", "delete ns/c=3"]);
  assert.deepEqual(inf.keys(), ["ns/a"]);
  srv.closeWatches(PATH);
  await waitFor("the next watch", () => watchCalls(srv).length === 2);
  assert.equal(watchCalls(srv)[1]!.query.resourceVersion, "20");
  assert.equal(listCalls(srv).length, 1, "a clean close resumes the watch, it does not relist");
  await inf.stop();
});

Deno.test("a 410 ERROR event relists, and objects gone from the new list are deleted", async () => {
  const srv = watchServer();
  srv.setList(PATH, [obj("a", 1), obj("b", 2)], "10");
  const { inf, events } = informer(srv);
  inf.start();
  await waitFor("the watch", () => srv.openWatches(PATH) === 1);
  srv.setList(PATH, [obj("b", 7)], "90");
  srv.emit(PATH, "ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old" });
  await waitFor("the relist", () => listCalls(srv).length === 2 && watchCalls(srv).length === 2);
  assert.equal(inf.stats.relists410, 1);
  assert.deepEqual(inf.keys(), ["ns/b"]);
  assert.deepEqual(events.slice(2), ["delete ns/a=1", "update ns/b=7"]);
  assert.equal(watchCalls(srv)[1]!.query.resourceVersion, "90");
  await inf.stop();
});

Deno.test("a watch answered with HTTP 410 relists too; other errors are counted and retried", async () => {
  const srv = watchServer();
  srv.setList(PATH, [obj("a", 1)], "10");
  srv.failNext(PATH, 500, "InternalError"); // the first list
  const { inf } = informer(srv);
  inf.start();
  await inf.synced();
  assert.equal(inf.stats.errors, 1);
  await waitFor("the first watch", () => srv.openWatches(PATH) === 1);
  srv.failNext(PATH, 410, "Gone");
  srv.closeWatches(PATH);
  await waitFor("the relist", () => inf.stats.relists410 === 1 && srv.openWatches(PATH) === 1);
  assert.equal(listCalls(srv).length, 3, "failed list, first list, relist after the 410");
  await inf.stop();
});

Deno.test("malformed objects are skipped from list and watch while the informer keeps running", async () => {
  const srv = watchServer();
  srv.setList(PATH, [obj("a", 1), obj("bad", "x"), { metadata: {} }], "10");
  const { inf, events } = informer(srv);
  inf.start();
  await waitFor("the watch", () => srv.openWatches(PATH) === 1);
  assert.deepEqual(inf.keys(), ["ns/a"]);
  assert.equal(inf.stats.skipped, 2);
  srv.emit(PATH, "ADDED", obj("worse", null, "11"));
  srv.emit(PATH, "WHATEVER", obj("z", 1, "12"));
  srv.emit(PATH, "ADDED", obj("good", 4, "13"));
  await waitFor("the good event", () => inf.get("ns/good") === 4);
  assert.equal(inf.stats.skipped, 4);
  assert.deepEqual(events, ["add ns/a=1", "add ns/good=4"]);
  await inf.stop();
});

Deno.test("an optional kind the server does not serve counts as synced with an empty cache", async () => {
  const srv = watchServer();
  srv.failNext(PATH, 404, "NotFound");
  srv.failNext(PATH, 404, "NotFound");
  const { inf } = informer(srv, { optional: true });
  inf.start();
  await inf.synced();
  assert.deepEqual(inf.list(), []);
  await waitFor("a later successful list", () => listCalls(srv).length === 3);
  await inf.stop();
});

Deno.test("a required kind answered 404 does not count as synced", async () => {
  const srv = watchServer();
  for (let i = 0; i < 3; i++) srv.failNext(PATH, 404, "NotFound");
  const { inf } = informer(srv);
  // When it syncs, how many lists had failed: a 404 counted as synced would show 1, not 3. (Read
  // when synced() resolves, not by polling hasSynced, which the fourth list may already have set.)
  let errorsAtSync = -1;
  const synced = inf.synced().then(() => {
    errorsAtSync = inf.stats.errors;
  });
  assert.equal(inf.hasSynced, false);
  inf.start();
  await waitFor("three failed lists", () => inf.stats.errors === 3);
  await synced;
  assert.equal(errorsAtSync, 3);
  await inf.stop();
});
