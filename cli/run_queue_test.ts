import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { parseRunArgs, type RunSettings } from "../adapters/deploy/run_options.ts";
import { resolveRedis } from "./run_queue.ts";

function settings(args: string[]): RunSettings {
  const r = parseRunArgs(args);
  assert.ok(r.ok && r.value !== "help");
  return r.value as RunSettings;
}

Deno.test("with --crds the settings ConfigMap's queue.redis is used, and --redis-url overrides it", async () => {
  const kube = await startFakeKube({ seed: 1 });
  try {
    kube.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "ops" },
    });
    const client = KubeClient.fromKubeconfig(kube.kubeconfig());
    const crds = settings(["--crds", "--namespace=ops"]);
    assert.equal((await resolveRedis(crds, client)).ok, true);
    assert.deepEqual(await resolveRedis(crds, client), { ok: true, value: undefined });
    kube.store.create("configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "proxscale-settings", namespace: "ops" },
      data: {
        "config.yaml":
          "queue:\n  redis:\n    url: redis://redis.ops:6379\n    password: { env: PROXSCALE_REDIS }\n",
      },
    }, { namespace: "ops" });
    const fromMap = await resolveRedis(crds, client);
    assert.deepEqual(fromMap, {
      ok: true,
      value: { url: "redis://redis.ops:6379", password: { env: "PROXSCALE_REDIS" } },
    });
    const flagged = await resolveRedis(
      settings(["--crds", "--namespace=ops", "--redis-url=rediss://other:6380"]),
      client,
    );
    assert.deepEqual(flagged, {
      ok: true,
      value: { url: "rediss://other:6380", password: { env: "PROXSCALE_REDIS" } },
    });
  } finally {
    await kube.close();
  }
});

Deno.test("a bad queue section in the settings ConfigMap stops the start with its place", async () => {
  const kube = await startFakeKube({ seed: 2 });
  try {
    kube.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "ops" },
    });
    kube.store.create("configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "proxscale-settings", namespace: "ops" },
      data: { "config.yaml": "queue:\n  redis:\n    url: http://not-redis\n" },
    }, { namespace: "ops" });
    const r = await resolveRedis(
      settings(["--crds", "--namespace=ops"]),
      KubeClient.fromKubeconfig(kube.kubeconfig()),
    );
    assert.ok(!r.ok);
    assert.match(r.error, /ConfigMap ops\/proxscale-settings: queue: .*redis:\/\//);
  } finally {
    await kube.close();
  }
});
