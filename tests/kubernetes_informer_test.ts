/**
 * Informers against the fake API server over a real socket: they converge after dropped
 * watches (clean close and reset), 500s, and a 410 Gone; malformed objects in list and watch
 * responses are skipped with a logged reason while the informer keeps running; the watchdog
 * restarts a silent watch.
 */
import assert from "node:assert/strict";
import { makeInformer } from "@kubernetes/client-node";
import { Informer } from "../adapters/kubernetes/informer.ts";
import { podFromKube } from "../adapters/kubernetes/translate.ts";
import { memoryLog } from "../adapters/kubernetes/log.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import type { Pod } from "../core/model.ts";
import { clientNodeFor, eventually, podBody, withFake } from "./testing/kubernetes.ts";
import type { FakeKube } from "../fakes/fake_kube/server.ts";
import { createClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import { createNodeClaim } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";

const fast = { initialMs: 10, maxMs: 100, factor: 2, jitter: 0.5 };

/** Resets are only noticed by the watchdog (or client-node's 30 s timer): keep it short. */
function podInformer(client: KubeClient, log = memoryLog(), watchdogMs = 1000) {
  return new Informer<Pod>({
    client,
    path: "/api/v1/pods",
    resource: "pods",
    translate: podFromKube,
    backoff: fast,
    watchdogMs,
    log,
  });
}

function storeKeys(fake: FakeKube): string[] {
  const r = fake.store.list("pods", {});
  if (!r.ok) throw new Error(r.error.message);
  return (r.value.items as { metadata: { namespace: string; name: string } }[])
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
}
const same = (inf: Informer<Pod>, fake: FakeKube) =>
  JSON.stringify(inf.keys().sort()) === JSON.stringify(storeKeys(fake));

Deno.test("informer converges after dropped watches, 500s and a 410 Gone", async () => {
  await withFake(async (fake, client) => {
    for (let i = 0; i < 5; i++) fake.store.create("pods", podBody(`p${i}`) as never, {});
    const inf = podInformer(client);
    inf.start();
    try {
      await inf.synced();
      assert.equal(inf.list().length, 5);

      // Changes arrive through the watch.
      fake.store.create("pods", podBody("p5") as never, {});
      await eventually("watch delivers p5", () => inf.get("default/p5") !== undefined);

      // Clean close and abrupt reset: the informer reconnects and keeps converging.
      for (const mode of ["close", "reset"] as const) {
        const before = inf.stats.watches;
        await eventually(`a watch to drop (${mode})`, () => fake.faults.dropWatches(mode) > 0);
        await eventually(`reconnect after ${mode}`, () => inf.stats.watches > before);
        fake.store.delete("pods", "default", "p0", { gracePeriodSeconds: 0 });
        fake.store.create("pods", podBody(`after-${mode}`) as never, {});
        await eventually(`converged after ${mode}`, () => same(inf, fake));
      }

      // Watches fail with 500 while changes happen and history is compacted: the informer
      // backs off, reconnects with its old resourceVersion, gets 410 and relists.
      fake.faults.watchErrorRate = 1;
      const errorsBefore = inf.stats.errors;
      await eventually("a watch to reset", () => fake.faults.dropWatches("reset") > 0);
      await eventually("watch errors seen", () => inf.stats.errors > errorsBefore + 1);
      fake.store.delete("pods", "default", "p1", { gracePeriodSeconds: 0 });
      fake.store.create("pods", podBody("missed") as never, {});
      fake.store.compactHistory("pods");
      fake.faults.watchErrorRate = 0;
      await eventually("relisted after 410", () => inf.stats.relists410 > 0);
      await eventually("converged after 410", () => same(inf, fake));
      assert.equal(inf.get("default/p1"), undefined);
      assert.ok(inf.get("default/missed"));

      // Failing lists are retried too.
      fake.faults.errorRate = 1;
      fake.faults.pathFilter = /^\/api\/v1\/pods$/;
      fake.store.compactHistory("pods");
      await eventually("a watch to close", () => fake.faults.dropWatches("close") > 0);
      const listsBefore = inf.stats.lists;
      await eventually("list errors seen", () => inf.stats.errors > errorsBefore + 4);
      fake.store.create("pods", podBody("late") as never, {});
      fake.faults.errorRate = 0;
      await eventually("list succeeds again", () => inf.stats.lists > listsBefore);
      await eventually("converged after failing lists", () => same(inf, fake));
    } finally {
      await inf.stop();
    }
  });
});

Deno.test("malformed objects from the fake's list and watch are skipped with a reason", async () => {
  await withFake(async (fake, client) => {
    fake.store.create("pods", podBody("good") as never, {});
    fake.store.create(
      "pods",
      podBody("bad-cpu", {
        spec: { containers: [{ name: "c", resources: { requests: { cpu: "lots" } } }] },
      }) as never,
      {},
    );
    const log = memoryLog();
    const inf = podInformer(client, log);
    inf.start();
    try {
      await inf.synced();
      assert.deepEqual(inf.keys(), ["default/good"]);
      fake.store.create("pods", podBody("bad-type", { spec: { containers: "x" } }) as never, {});
      fake.store.create("pods", podBody("good-2") as never, {});
      await eventually(
        "keeps running after a malformed watch event",
        () => inf.get("default/good-2") !== undefined,
      );
      assert.equal(inf.get("default/bad-type"), undefined);
      const reasons = log.entries.filter((e) => e.reason === "MalformedObject");
      assert.equal(reasons.length, 2);
      assert.match(String(reasons[0]!.msg), /from the list: spec\.containers\[0\]\.resources\.cpu/);
      assert.equal(reasons[0]!.object, "default/bad-cpu");
      assert.match(String(reasons[1]!.msg), /from the watch: spec\.containers/);
    } finally {
      await inf.stop();
    }
  });
});

/**
 * A hand-written API server for shapes no real (or fake) server stores: items without
 * metadata, non-objects, events of unknown type. It serves one list and one watch stream.
 */
async function withRawServer(
  list: unknown,
  events: unknown[],
  fn: (client: KubeClient) => Promise<void>,
): Promise<void> {
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.searchParams.get("watch") !== "true") {
      return Response.json(list);
    }
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        streams.add(c);
        for (const e of events) c.enqueue(enc.encode(JSON.stringify(e) + "\n"));
        c.enqueue(enc.encode("this line is not JSON\n"));
      },
      cancel() {},
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const port = (server.addr as Deno.NetAddr).port;
  const kubeconfig = JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "raw",
      cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true },
    }],
    users: [{ name: "u", user: { token: "t" } }],
    contexts: [{ name: "raw", context: { cluster: "raw", user: "u" } }],
    "current-context": "raw",
  });
  try {
    await fn(kubeClientFromKubeconfig(kubeconfig));
  } finally {
    for (const c of streams) {
      try {
        c.close();
      } catch { /* client went away */ }
    }
    await server.shutdown();
  }
}

Deno.test("items without metadata or of the wrong type are skipped; valid ones still arrive", async () => {
  const good = (name: string, rv: string) => ({
    metadata: { name, namespace: "default", resourceVersion: rv },
    spec: { containers: [] },
  });
  const list = {
    kind: "PodList",
    metadata: { resourceVersion: "10" },
    items: [good("a", "5"), { spec: { containers: [] } }, "not an object", null, {
      metadata: { name: "wrong", namespace: "default" },
      spec: { containers: [{ resources: { requests: { memory: ["1Gi"] } } }] },
    }],
  };
  const events = [
    { type: "ADDED", object: { kind: "Pod", spec: {} } },
    { type: "ADDED", object: 42 },
    { type: "WEIRD", object: good("w", "11") },
    { type: "MODIFIED", object: { metadata: { name: "m", namespace: "default" }, spec: 7 } },
    { type: "ADDED", object: good("b", "12") },
  ];
  await withRawServer(list, events, async (client) => {
    const log = memoryLog();
    const inf = podInformer(client, log);
    inf.start();
    try {
      await inf.synced();
      await eventually(
        "b arrives after the malformed events",
        () => inf.get("default/b") !== undefined,
      );
      assert.deepEqual(inf.keys().sort(), ["default/a", "default/b"]);
      const skipped = log.entries.filter((e) => e.reason === "MalformedObject").map((e) => e.msg);
      assert.equal(skipped.length, 8, skipped.join("\n"));
      assert.ok(skipped.some((m) => /from the list: no metadata\.name/.test(String(m))));
      assert.ok(
        skipped.some((m) => /from the watch: unknown watch event type "WEIRD"/.test(String(m))),
      );
      assert.ok(skipped.some((m) => /from the watch: spec: /.test(String(m))));
      assert.equal(inf.stats.skipped, 8);
    } finally {
      await inf.stop();
    }
  });
});

Deno.test("the watchdog relists when a watch stays silent", async () => {
  await withFake(async (fake, client) => {
    fake.store.create("pods", podBody("only") as never, {});
    const log = memoryLog();
    const inf = podInformer(client, log, 300);
    inf.start();
    try {
      await inf.synced();
      // Nothing changes, no bookmarks (the fake sends them once a minute): the watch is silent.
      await eventually("watchdog fires", () => inf.stats.watchdogRestarts > 0);
      await eventually("relisted by the watchdog", () => inf.stats.lists > 1);
      assert.ok(log.entries.some((e) => e.reason === "WatchSilent"));
      assert.deepEqual(inf.keys(), ["default/only"]);
    } finally {
      await inf.stop();
    }
  });
});

Deno.test("the informer factory serves pods, nodes, PDBs and NodeClaims as core types", async () => {
  await withFake(async (fake, client) => {
    for (const k of KINDS) {
      const r = fake.store.create(
        "customresourcedefinitions.apiextensions.k8s.io",
        crdObject(k) as never,
        {},
      );
      if (!r.ok) throw new Error(r.error.message);
    }
    fake.store.create("pods", podBody("p") as never, {});
    fake.store.create("nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1" },
      status: {
        allocatable: { cpu: "2", memory: "4Gi" },
        conditions: [{ type: "Ready", status: "True" }],
      },
    } as never, {});
    fake.store.create("poddisruptionbudgets.policy", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "pdb", namespace: "default" },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } },
    } as never, {});
    const informers = createClusterInformers(client, { backoff: fast });
    informers.start();
    try {
      await informers.synced();
      assert.ok(informers.hasSynced());
      const created = await createNodeClaim(client, {
        name: "general-abcde",
        nodePool: "general",
        machineTemplate: "worker",
        provider: "homelab",
        shape: { name: "2c-4Gi", cpu: 2000, memory: 4 * 2 ** 30 },
        createdAt: 0,
        labels: {},
        taints: [],
        startupTaints: [],
        conditions: [],
      });
      assert.ok(created.ok);
      await eventually("the NodeClaim arrives", () => informers.nodeClaims.list().length === 1);
      const s = informers.snapshot();
      assert.deepEqual(s.pods.map((p) => p.name), ["p"]);
      assert.deepEqual(s.nodes.map((n) => [n.name, n.ready, n.allocatable.cpu]), [[
        "n1",
        true,
        2000,
      ]]);
      assert.equal(s.pdbs[0]!.name, "pdb");
      assert.equal(s.nodeClaims[0]!.shape.memory, 4 * 2 ** 30);
      assert.equal(s.nodeClaims[0]!.labels["proxscale.io/nodepool"], "general");
    } finally {
      await informers.stop();
    }
  });
});

Deno.test("client-node's own informer loses the whole list to one item without metadata; ours keeps the rest", async () => {
  const list = {
    kind: "PodList",
    metadata: { resourceVersion: "5" },
    items: [{ spec: { containers: [] } }, {
      metadata: { name: "a", namespace: "default" },
      spec: { containers: [] },
    }],
  };
  await withRawServer(list, [], async (client) => {
    const { kc, core } = clientNodeFor(client);
    const theirs = makeInformer(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
    await assert.rejects(() => theirs.start(), TypeError);
    assert.deepEqual(theirs.list(), []);
    await theirs.stop();
    const ours = podInformer(client);
    ours.start();
    try {
      await ours.synced();
      assert.deepEqual(ours.keys(), ["default/a"]);
    } finally {
      await ours.stop();
    }
  });
});

Deno.test("an optional kind the API server does not serve counts as synced and empty; a required one never syncs", async () => {
  await withFake(async (_fake, client) => {
    const make = (optional: boolean) =>
      new Informer<Pod>({
        client,
        path: "/apis/example.com/v1/gadgets",
        resource: "gadgets",
        translate: podFromKube,
        backoff: fast,
        optional,
      });
    const optional = make(true);
    const required = make(false);
    optional.start();
    required.start();
    try {
      await eventually("the optional informer to sync", () => optional.hasSynced);
      assert.deepEqual(optional.list(), []);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(required.hasSynced, false, "a kind decisions need is never assumed empty");
    } finally {
      await optional.stop();
      await required.stop();
    }
  });
});
