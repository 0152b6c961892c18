/**
 * Tests of the sharing of repeated pod parts: equal parts become one frozen object, different
 * ones stay apart, the pod reads the same, and the tables stay bounded.
 *
 * May import: core/, adapters/.
 */
import assert from "node:assert/strict";
import type { Pod } from "../../core/model.ts";
import { podFromKube } from "./translate.ts";
import { Interner, internPod } from "./intern.ts";

function replica(i: number, app = "web"): Pod {
  const r = podFromKube(JSON.parse(JSON.stringify({
    metadata: {
      name: `${app}-${i}`,
      namespace: "shop",
      uid: `uid-${i}`,
      labels: { app, "pod-template-hash": "abc" },
      ownerReferences: [{ kind: "ReplicaSet", name: `${app}-abc`, controller: true }],
    },
    spec: {
      nodeName: `node-${i % 2}`,
      containers: [{ name: "c", resources: { requests: { cpu: "100m", memory: "128Mi" } } }],
      tolerations: [{
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      }],
    },
  })));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

Deno.test("replicas of one owner share their labels, requests, tolerations and strings", () => {
  const t = new Interner();
  const a = internPod(replica(1), t);
  const b = internPod(replica(2), t);
  assert.equal(a.labels, b.labels);
  assert.equal(a.containers, b.containers);
  assert.equal(a.tolerations, b.tolerations);
  assert.notEqual(a.uid, b.uid);
  assert.deepEqual(a, { ...replica(1) }, "the pod reads exactly as translated");
});

Deno.test("pods whose parts differ keep their own copies", () => {
  const t = new Interner();
  const a = internPod(replica(1, "web"), t);
  const b = internPod(replica(1, "api"), t);
  assert.notEqual(a.labels, b.labels);
  assert.deepEqual(b.labels, { app: "api", "pod-template-hash": "abc" });
});

Deno.test("a shared part cannot be changed through one pod", () => {
  const t = new Interner();
  const a = internPod(replica(1), t);
  const b = internPod(replica(2), t);
  assert.throws(() => {
    (a.labels as Record<string, string>).app = "changed";
  }, TypeError);
  assert.throws(() => {
    (a.tolerations![0] as { key?: string }).key = "x";
  }, TypeError);
  assert.equal(b.labels!.app, "web");
});

Deno.test("the tables start again empty past their limit", () => {
  const t = new Interner(10);
  for (let i = 0; i < 25; i++) t.str(`s${i}`);
  assert.ok(t.size.strings <= 10);
  for (let i = 0; i < 25; i++) t.value({ k: `v${i}` });
  assert.ok(t.size.values <= 10);
  assert.deepEqual(t.value({ k: "v0" }), { k: "v0" });
});
