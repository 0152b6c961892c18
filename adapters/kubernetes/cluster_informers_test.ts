/**
 * Tests of cluster_informers.ts against an in-memory list+watch stand-in (no socket): the
 * collections it lists, synced only once every required kind has listed (an optional kind a
 * server does not serve counts as empty), a snapshot of translated values, pods of one
 * Deployment sharing their repeated parts, and a stop that leaves no watch open.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { createClusterInformers } from "./cluster_informers.ts";
import { watchServer } from "./testing/watch_client.ts";

const NO_WAIT = { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 };
const REQUIRED = [
  "/api/v1/pods",
  "/api/v1/nodes",
  "/apis/policy/v1/poddisruptionbudgets",
  "/apis/proxscale.io/v1alpha1/nodeclaims",
];
const OPTIONAL = [
  "/apis/apps/v1/daemonsets",
  "/api/v1/persistentvolumeclaims",
  "/api/v1/persistentvolumes",
  "/apis/storage.k8s.io/v1/storageclasses",
  "/api/v1/namespaces",
];

const pod = (name: string) => ({
  metadata: {
    name,
    namespace: "default",
    uid: `uid-${name}`,
    creationTimestamp: "2026-12-07T06:00:00Z",
    labels: { app: "web", tier: "front" },
  },
  spec: {
    containers: [{ name: "a", resources: { requests: { cpu: "500m", memory: "256Mi" } } }],
    tolerations: [{ operator: "Exists" }],
  },
  status: { phase: "Pending" },
});

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("it lists every kind the core reads, and is synced once all have listed", async () => {
  const srv = watchServer();
  const inf = createClusterInformers(srv.client, { backoff: NO_WAIT });
  assert.equal(inf.hasSynced(), false);
  assert.equal(srv.calls.length, 0, "building does not start anything");
  inf.start();
  await inf.synced();
  assert.equal(inf.hasSynced(), true);
  const listed = new Set(srv.calls.filter((c) => c.query.watch !== "true").map((c) => c.path));
  assert.deepEqual([...listed].sort(), [...REQUIRED, ...OPTIONAL].sort());
  await inf.stop();
  for (const p of [...REQUIRED, ...OPTIONAL]) assert.equal(srv.openWatches(p), 0, p);
});

Deno.test("optional kinds answered 404 count as empty; a required kind failing keeps it unsynced", async () => {
  const srv = watchServer();
  for (const p of OPTIONAL) srv.failNext(p, 404, "NotFound");
  for (let i = 0; i < 5; i++) srv.failNext("/api/v1/nodes", 500, "InternalError");
  const inf = createClusterInformers(srv.client, { backoff: NO_WAIT });
  inf.start();
  await waitFor("the other kinds", () => inf.pods.hasSynced && inf.storageClasses.hasSynced);
  assert.equal(inf.daemonSets.hasSynced, true, "an optional 404 counts as synced");
  assert.equal(inf.nodes.hasSynced, false);
  assert.equal(inf.hasSynced(), false, "the daemon must not decide without Nodes");
  await inf.synced();
  assert.equal(inf.nodes.stats.errors, 5);
  assert.equal(inf.hasSynced(), true);
  await inf.stop();
});

Deno.test("the snapshot holds translated pods, and replicas share their repeated parts", async () => {
  const srv = watchServer();
  srv.setList("/api/v1/pods", [pod("web-1"), pod("web-2"), { metadata: {} }], "9");
  const inf = createClusterInformers(srv.client, { backoff: NO_WAIT });
  inf.start();
  await inf.synced();
  const snap = inf.snapshot();
  assert.deepEqual(snap.pods.map((p) => p.name).sort(), ["web-1", "web-2"]);
  assert.equal(inf.pods.stats.skipped, 1, "an unnamed item is skipped");
  const [a, b] = snap.pods;
  assert.deepEqual(a!.labels, { app: "web", tier: "front" });
  assert.equal(a!.labels, b!.labels, "equal labels are one shared object");
  assert.equal(a!.containers, b!.containers, "equal containers are one shared array");
  assert.deepEqual(
    Object.keys(snap).sort(),
    [
      "daemonSets",
      "namespaces",
      "nodeClaims",
      "nodes",
      "pdbs",
      "pods",
      "storageClasses",
      "volumeClaims",
      "volumes",
    ],
  );
  for (const [k, v] of Object.entries(snap)) if (k !== "pods") assert.deepEqual(v, [], k);
  srv.emit("/api/v1/pods", "DELETED", pod("web-1"));
  await waitFor("the delete", () => inf.snapshot().pods.length === 1);
  await inf.stop();
});

Deno.test("namespaces the RBAC does not allow to list (403) count as none, and never block a decision", async () => {
  const srv = watchServer();
  srv.failNext("/api/v1/namespaces", 403, "Forbidden");
  const inf = createClusterInformers(srv.client, { backoff: NO_WAIT });
  inf.start();
  await inf.synced();
  assert.equal(inf.hasSynced(), true);
  assert.deepEqual(inf.snapshot().namespaces, []);
  await inf.stop();
});
