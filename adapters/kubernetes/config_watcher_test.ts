/**
 * Tests of config_watcher.ts against an in-memory list+watch stand-in (no socket): the four
 * collections it watches (the settings ConfigMap by name in its namespace), one Config once all
 * of them have listed, one debounced revalidation per burst of changes, problems naming the bad
 * object (and a fix bringing the Config back), and nothing delivered after stop.
 *
 * May import: this folder, adapters/config/, core/, npm:yaml.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { Config } from "../../core/model.ts";
import type { Result } from "../../core/result.ts";
import type { CrdProblem } from "../config/crd_source.ts";
import { manifestsFromConfig, type WrittenConfig } from "../config/crd_manifests.ts";
import { ConfigWatcher } from "./config_watcher.ts";
import { watchServer } from "./testing/watch_client.ts";

const example = parse(
  await Deno.readTextFile(new URL("../../config.example.yaml", import.meta.url)),
) as WrittenConfig;
const objects = manifestsFromConfig(example, "ops") as {
  kind: string;
  metadata: { name: string; resourceVersion?: string };
  spec?: Record<string, unknown>;
}[];
const PATHS = {
  Provider: "/apis/proxscale.io/v1alpha1/providers",
  MachineTemplate: "/apis/proxscale.io/v1alpha1/machinetemplates",
  NodePool: "/apis/proxscale.io/v1alpha1/nodepools",
  Tenant: "/apis/proxscale.io/v1alpha1/tenants",
  ConfigMap: "/api/v1/namespaces/ops/configmaps",
} as const;
const NO_WAIT = { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 };

/** A stand-in server holding the example's objects. */
function cluster() {
  const srv = watchServer();
  for (const [kind, path] of Object.entries(PATHS)) {
    srv.setList(path, objects.filter((o) => o.kind === kind), "5");
  }
  return srv;
}

function watcher(srv: ReturnType<typeof watchServer>) {
  const results: Result<Config, CrdProblem[]>[] = [];
  const w = new ConfigWatcher(srv.client, (c) => results.push(c), {
    namespace: "ops",
    debounceMs: 30,
    backoff: NO_WAIT,
  });
  return { w, results };
}

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const allWatching = (srv: ReturnType<typeof watchServer>) =>
  Object.values(PATHS).every((p) => srv.openWatches(p) === 1);

const generalWith = (spec: Record<string, unknown>, rv: string) => {
  const np = structuredClone(objects.find((o) => o.metadata.name === "general")!);
  np.spec = { ...np.spec, ...spec };
  np.metadata.resourceVersion = rv;
  return np;
};

Deno.test("it lists the four kinds and only the settings ConfigMap of its namespace", async () => {
  const srv = cluster();
  const { w } = watcher(srv);
  w.start();
  await waitFor("five watches", () => allWatching(srv));
  const lists: { path: string; query: Record<string, string> }[] = srv.calls.filter((c) =>
    c.query.watch !== "true"
  );
  assert.deepEqual(lists.map((c) => c.path).sort(), Object.values(PATHS).sort());
  const cm = lists.find((c) => c.path === PATHS.ConfigMap)!;
  assert.equal(cm.query.fieldSelector, "metadata.name=proxscale-settings");
  for (const c of lists.filter((c) => c.path !== PATHS.ConfigMap)) {
    assert.equal(c.query.fieldSelector, undefined, `${c.path} is listed whole`);
  }
  await w.stop();
});

Deno.test("one Config arrives once every collection has listed, matching the objects", async () => {
  const srv = cluster();
  const { w, results } = watcher(srv);
  w.start();
  await waitFor("the first Config", () => results.length === 1);
  await pause(80);
  assert.equal(results.length, 1, "the initial adds are not delivered one by one");
  const r = results[0]!;
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.providers.map((p) => p.name), ["homelab"]);
  assert.deepEqual(r.value.nodePools.map((p) => p.name).sort(), ["batch", "general"]);
  assert.deepEqual(w.current(), r);
  await w.stop();
});

Deno.test("a burst of changes is revalidated once; a bad object gives problems naming it, a fix brings the Config back", async () => {
  const srv = cluster();
  const { w, results } = watcher(srv);
  w.start();
  await waitFor("the first Config", () => results.length === 1);
  await waitFor("four watches", () => allWatching(srv));
  srv.emit(PATHS.NodePool, "MODIFIED", generalWith({ weight: 60 }, "6"));
  srv.emit(PATHS.NodePool, "MODIFIED", generalWith({ weight: "heavy" }, "7"));
  await waitFor("the revalidation", () => results.length === 2);
  await pause(80);
  assert.equal(results.length, 2, "two changes within the debounce give one result");
  const bad = results[1]!;
  assert.equal(bad.ok, false);
  assert.ok(
    !bad.ok && bad.error.some((p) => p.object.includes("general")),
    JSON.stringify(!bad.ok && bad.error),
  );
  srv.emit(PATHS.NodePool, "MODIFIED", generalWith({ weight: 70 }, "8"));
  await waitFor("the fixed Config", () => results.length === 3);
  const fixed = results[2]!;
  assert.ok(fixed.ok, JSON.stringify(!fixed.ok && fixed.error));
  assert.equal(fixed.value.nodePools.find((p) => p.name === "general")?.weight, 70);
  await w.stop();
});

Deno.test("a deleted NodePool drops out of the next Config", async () => {
  const srv = cluster();
  const { w, results } = watcher(srv);
  w.start();
  await waitFor("four watches", () => allWatching(srv) && results.length === 1);
  srv.emit(PATHS.NodePool, "DELETED", objects.find((o) => o.metadata.name === "batch"));
  await waitFor("the next Config", () => results.length === 2);
  const r = results[1]!;
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.nodePools.map((p) => p.name), ["general"]);
  await w.stop();
});

Deno.test("a change pending when stop is called is never delivered", async () => {
  const srv = cluster();
  const { w, results } = watcher(srv);
  w.start();
  await waitFor("four watches", () => allWatching(srv) && results.length === 1);
  srv.emit(PATHS.NodePool, "MODIFIED", generalWith({ weight: 61 }, "6"));
  await waitFor("the event in the cache", () => {
    const c = w.current();
    return c.ok && c.value.nodePools.some((p) => p.weight === 61);
  });
  await w.stop();
  assert.ok(Object.values(PATHS).every((p) => srv.openWatches(p) === 0), "no watch left open");
  await pause(80);
  assert.equal(results.length, 1);
});
