/**
 * Garbage collector behaviour: deleting an owner deletes its dependents (Background), keeps
 * them without the reference (Orphan), or waits for them (Foreground).
 */
import assert from "node:assert/strict";
import type { KubeStore } from "../../fake_kube/store.ts";
import { livePods, podsOf, until, withControllers } from "./testing/cluster.ts";

function deploy(s: KubeStore, name: string, replicas = 2): void {
  const r = s.create("deployments.apps", {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "x" }] },
      },
    },
  });
  assert.ok(r.ok);
}

const rsCount = (s: KubeStore, app: string) => {
  const r = s.list("replicasets.apps", { namespace: "default", labelSelector: `app=${app}` });
  return r.ok ? r.value.items.length : -1;
};

Deno.test("deleting a Deployment deletes its ReplicaSet and their pods", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    deploy(s, "web");
    await until("2 pods", () => livePods(s, "default", "app=web").length === 2);
    assert.equal(rsCount(s, "web"), 1);
    assert.ok(s.delete("deployments.apps", "default", "web").ok);
    await until("ReplicaSet gone", () => rsCount(s, "web") === 0);
    await until("pods gone", () => podsOf(s, "default", "app=web").length === 0);
  });
});

Deno.test("an Orphan delete keeps the ReplicaSet and pods and removes the owner reference", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    deploy(s, "keep");
    await until("2 pods", () => livePods(s, "default", "app=keep").length === 2);
    assert.ok(s.delete("deployments.apps", "default", "keep", { propagationPolicy: "Orphan" }).ok);
    await until("Deployment gone", () => !s.peek("deployments.apps", "default", "keep"));
    const rs = s.list("replicasets.apps", { namespace: "default", labelSelector: "app=keep" });
    assert.ok(rs.ok);
    assert.equal(rs.value.items.length, 1);
    assert.equal(rs.value.items[0]!.metadata.ownerReferences, undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(livePods(s, "default", "app=keep").length, 2);
  });
});

Deno.test("a Foreground delete keeps the Deployment, marked, until its dependents are gone", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    deploy(s, "fg");
    await until("2 pods", () => livePods(s, "default", "app=fg").length === 2);
    const r = s.delete("deployments.apps", "default", "fg", { propagationPolicy: "Foreground" });
    assert.ok(r.ok);
    const marked = s.peek("deployments.apps", "default", "fg");
    assert.ok(marked?.metadata.deletionTimestamp);
    assert.deepEqual(marked.metadata.finalizers, ["foregroundDeletion"]);
    await until(
      "all gone",
      () =>
        !s.peek("deployments.apps", "default", "fg") && rsCount(s, "fg") === 0 &&
        podsOf(s, "default", "app=fg").length === 0,
    );
  });
});

Deno.test("a dependent with one of two owners left keeps the live one and loses the reference to the gone one", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    const a = s.create("configmaps", { metadata: { name: "a", namespace: "default" } });
    const b = s.create("configmaps", { metadata: { name: "b", namespace: "default" } });
    assert.ok(a.ok && b.ok);
    const ref = (o: typeof a.value.object) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: o.metadata.name,
      uid: o.metadata.uid,
    });
    s.create("secrets", {
      metadata: {
        name: "dep",
        namespace: "default",
        ownerReferences: [ref(a.value.object), ref(b.value.object)],
      },
    });
    s.delete("configmaps", "default", "a");
    await until(
      "reference dropped",
      () => s.peek("secrets", "default", "dep")?.metadata.ownerReferences?.length === 1,
    );
    assert.equal(s.peek("secrets", "default", "dep")!.metadata.ownerReferences![0].name, "b");
    s.delete("configmaps", "default", "b");
    await until("dependent deleted", () => !s.peek("secrets", "default", "dep"));
  });
});
