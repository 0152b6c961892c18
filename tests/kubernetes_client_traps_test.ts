/**
 * The client-node traps the adapter is built around, shown against the fake: generated patch
 * methods default to JSON Patch, MicroTime needs six fractional digits, client-node's own
 * informer stays stopped after an error while ours recovers, and its list objects are typed
 * while watch objects are raw.
 */
import assert from "node:assert/strict";
import { makeInformer, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { kubeErrorFrom } from "../adapters/kubernetes/client.ts";
import { microTime } from "../adapters/kubernetes/leader_elector.ts";
import { Informer } from "../adapters/kubernetes/informer.ts";
import { podFromKube } from "../adapters/kubernetes/translate.ts";
import type { Pod } from "../core/model.ts";
import { clientNodeFor, eventually, podBody, withFake } from "./testing/kubernetes.ts";

Deno.test("a client-node generated patch without Content-Type is JSON Patch and fails; with it, it works", async () => {
  await withFake(async (fake, client) => {
    fake.store.create(
      "nodes",
      { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } } as never,
      {},
    );
    const body = { metadata: { labels: { a: "b" } } };
    const { core } = clientNodeFor(client);
    let failure: unknown;
    try {
      await core.patchNode({ name: "n1", body });
    } catch (e) {
      failure = e;
    }
    const e = kubeErrorFrom(failure);
    assert.ok(e.kind === "Status" && e.code === 400, JSON.stringify(e));
    await core.patchNode(
      { name: "n1", body },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const n = fake.store.get("nodes", undefined, "n1");
    assert.ok(n.ok && n.value.metadata.labels?.a === "b");
  });
});

Deno.test("a Lease renewTime with three fractional digits is refused; six are accepted", async () => {
  await withFake(async (_fake, client) => {
    const lease = (renewTime: string, name: string) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "default" },
      spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime },
    });
    const path = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const t = Date.parse("2026-11-26T03:40:32.278Z");
    const short = await client.requestJson("POST", path, {
      body: lease(new Date(t).toISOString(), "short"),
    });
    assert.ok(!short.ok && short.error.kind === "Status" && short.error.code === 400);
    const six = await client.requestJson("POST", path, { body: lease(microTime(t), "six") });
    assert.ok(six.ok, JSON.stringify(six));
  });
});

Deno.test("client-node's informer stops for good on a watch error; ours recovers", async () => {
  await withFake(async (fake, client) => {
    fake.store.create("pods", podBody("first") as never, {});
    const { kc, core } = clientNodeFor(client);
    const theirs = makeInformer(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
    const errors: unknown[] = [];
    const seen: V1Pod[] = [];
    theirs.on("error", (e) => errors.push(e));
    theirs.on("add", (p) => seen.push(p));
    const ours = new Informer<Pod>({
      client,
      path: "/api/v1/pods",
      resource: "pods",
      translate: podFromKube,
      backoff: { initialMs: 10, maxMs: 50, factor: 2, jitter: 0 },
      watchdogMs: 1000,
    });
    await theirs.start();
    ours.start();
    try {
      await ours.synced();
      await eventually("client-node listed", () => seen.length === 1);
      // Objects from client-node's list are typed (Date), not raw JSON.
      assert.ok(seen[0]!.metadata!.creationTimestamp instanceof Date);

      // Every watch now fails with 500; the current streams are closed.
      fake.faults.watchErrorRate = 1;
      await eventually("streams closed", () => fake.faults.dropWatches("close") > 0);
      await eventually("client-node reports the error", () => errors.length > 0);
      await eventually("ours retries", () => ours.stats.errors > 1);
      fake.faults.watchErrorRate = 0;
      fake.store.create("pods", podBody("second") as never, {});
      await eventually("ours sees the new pod", () => ours.get("default/second") !== undefined);
      // Theirs stopped at the first error and will never see it (hence proxscale's wrapper).
      assert.equal(theirs.list().some((p) => p.metadata?.name === "second"), false);
    } finally {
      await theirs.stop();
      await ours.stop();
    }
  });
});
