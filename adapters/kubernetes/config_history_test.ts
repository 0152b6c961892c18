import assert from "node:assert/strict";
import { startFakeKube } from "../../fakes/fake_kube/server.ts";
import { kubeClientFromKubeconfig } from "./kubeconfig.ts";
import {
  configDigest,
  configObjects,
  HISTORY_LIMIT,
  lastWriter,
  readHistory,
  recordGeneration,
} from "./config_history.ts";

const NS = "proxscale-system";

const pool = (nodes: number, manager = "kubectl", time = "2026-12-07T10:00:00Z") => ({
  apiVersion: "proxscale.io/v1alpha1",
  kind: "NodePool",
  metadata: {
    name: "general",
    uid: `u-${nodes}`,
    resourceVersion: String(nodes),
    managedFields: [{ manager, operation: "Apply", time }],
  },
  spec: { machineTemplate: "worker", limits: { nodes } },
  status: { observedGeneration: nodes },
});

async function withKube(body: (k: ReturnType<typeof kubeClientFromKubeconfig>) => Promise<void>) {
  const fake = await startFakeKube({ seed: 5 });
  try {
    fake.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    await body(kubeClientFromKubeconfig(fake.kubeconfig()));
  } finally {
    await fake.close();
  }
}

Deno.test("the digest ignores server metadata and status; the history keeps only configuration kinds", () => {
  const a = configObjects([pool(3), { kind: "NodeClaim", metadata: { name: "x" } }]);
  assert.deepEqual(a.map((o) => o.kind), ["NodePool"]);
  const b = configObjects([{
    ...pool(3),
    metadata: { ...pool(3).metadata, uid: "other" },
    status: {},
  }]);
  assert.equal(configDigest(a), configDigest(b));
  assert.notEqual(configDigest(a), configDigest(configObjects([pool(4)])));
  assert.equal(
    lastWriter([pool(3, "kubectl"), pool(4, "proxscale-rollback", "2026-12-07T11:00:00Z")]),
    "proxscale-rollback",
  );
});

Deno.test("a configuration is recorded once per digest, numbered, with who and when", async () => {
  await withKube(async (kube) => {
    const t = () => Date.UTC(2026, 11, 7, 12);
    const first = await recordGeneration(kube, NS, [pool(3)], t);
    assert.deepEqual(first.ok && first.value, {
      generation: 1,
      digest: configDigest(configObjects([pool(3)])),
      recorded: true,
    });
    const same = await recordGeneration(kube, NS, [pool(3)], t);
    assert.ok(same.ok && same.value.generation === 1 && !same.value.recorded);
    const next = await recordGeneration(kube, NS, [pool(4, "alice")], t);
    assert.ok(next.ok && next.value.generation === 2 && next.value.recorded);
    const h = await readHistory(kube, NS);
    assert.ok(h.ok);
    assert.deepEqual(h.value.map((e) => [e.generation, e.by, e.appliedAt]), [
      [1, "kubectl", "2026-12-07T12:00:00.000Z"],
      [2, "alice", "2026-12-07T12:00:00.000Z"],
    ]);
    assert.deepEqual(h.value[1]!.objects[0]!.spec, {
      machineTemplate: "worker",
      limits: { nodes: 4 },
    });
  });
});

Deno.test(`the history keeps the last ${HISTORY_LIMIT} generations, and two writers lose none`, async () => {
  await withKube(async (kube) => {
    for (let n = 1; n <= HISTORY_LIMIT + 5; n++) {
      const r = await recordGeneration(kube, NS, [pool(n)]);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    }
    const h = await readHistory(kube, NS);
    assert.ok(h.ok);
    assert.equal(h.value.length, HISTORY_LIMIT);
    assert.equal(h.value[0]!.generation, 6);
    assert.equal(h.value.at(-1)!.generation, HISTORY_LIMIT + 5);
    // Two replicas recording different configurations at once: both land, numbered in turn.
    const [a, b] = await Promise.all([
      recordGeneration(kube, NS, [pool(100)]),
      recordGeneration(kube, NS, [pool(101)]),
    ]);
    assert.ok(a.ok && b.ok);
    assert.deepEqual([a.value.generation, b.value.generation].sort(), [26, 27]);
  });
});
