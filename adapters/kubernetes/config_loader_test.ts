/**
 * Tests of config_loader.ts against a recording KubeClient: the reads it sends (three lists
 * and the settings ConfigMap by name), the Config built from their items, a missing settings
 * ConfigMap allowed, and every other failure reported against the object it was reading.
 *
 * May import: this folder, adapters/config/, npm:yaml.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { manifestsFromConfig, type WrittenConfig } from "../config/crd_manifests.ts";
import { loadConfigFromCluster } from "./config_loader.ts";
import { type Answer, recordingClient } from "./testing/recording_client.ts";

const example = parse(
  await Deno.readTextFile(new URL("../../config.example.yaml", import.meta.url)),
) as WrittenConfig;
const objects = manifestsFromConfig(example, "ops");
const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
const LISTS: Record<string, string> = {
  "/apis/proxscale.io/v1alpha1/providers": "Provider",
  "/apis/proxscale.io/v1alpha1/machinetemplates": "MachineTemplate",
  "/apis/proxscale.io/v1alpha1/nodepools": "NodePool",
};
const SETTINGS = "/api/v1/namespaces/ops/configmaps/proxscale-settings";

/** The cluster holding the example's objects, with `override` answers by path. */
function cluster(override: Record<string, Answer> = {}) {
  return recordingClient((r) => {
    if (override[r.path]) return override[r.path]!;
    const kind = LISTS[r.path];
    if (kind) return { status: 200, body: { items: ofKind(kind) } };
    if (r.path === SETTINGS) return { status: 200, body: ofKind("ConfigMap")[0] };
    return { status: 404, reason: "NotFound" };
  });
}

Deno.test("the objects of the three kinds and the settings ConfigMap become one Config", async () => {
  const { client, requests } = cluster();
  const r = await loadConfigFromCluster(client, "ops");
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(
    r.value.providers.map((p) => p.name),
    example.providers!.map((p) => p.name),
  );
  assert.deepEqual(
    r.value.nodePools.map((p) => p.name).sort(),
    example.nodePools!.map((p) => p.name).sort(),
  );
  assert.deepEqual(requests.map((q) => `${q.method} ${q.path}`), [
    ...Object.keys(LISTS).map((p) => `GET ${p}`),
    // No Tenant CRD here (404): the cluster simply has no tenants.
    "GET /apis/proxscale.io/v1alpha1/tenants",
    `GET ${SETTINGS}`,
  ]);
});

Deno.test("a missing settings ConfigMap is allowed; a refused one is a problem naming it", async () => {
  const none = await loadConfigFromCluster(
    cluster({ [SETTINGS]: { status: 404, reason: "NotFound" } }).client,
    "ops",
  );
  assert.ok(none.ok);
  const denied = await loadConfigFromCluster(
    cluster({ [SETTINGS]: { status: 403, reason: "Forbidden", message: "cannot get" } }).client,
    "ops",
  );
  assert.deepEqual(!denied.ok && denied.error, [{
    object: "ConfigMap/proxscale-settings",
    path: "",
    message: "403 Forbidden: cannot get",
  }]);
});

Deno.test("a list that fails stops the load with a problem naming the resource", async () => {
  const { client, requests } = cluster({
    "/apis/proxscale.io/v1alpha1/machinetemplates": {
      status: 404,
      reason: "NotFound",
      message: "the server could not find the requested resource",
    },
  });
  const r = await loadConfigFromCluster(client, "ops");
  assert.deepEqual(!r.ok && r.error, [{
    object: "machinetemplates.proxscale.io",
    path: "",
    message: "404 NotFound: the server could not find the requested resource",
  }]);
  assert.equal(requests.length, 2, "nothing read after the failed list");
});

Deno.test("objects that do not validate come back as problems, not a Config", async () => {
  const pools = ofKind("NodePool").map((o) => ({
    ...o,
    spec: { ...(o.spec as object), minNodes: -1 },
  }));
  const r = await loadConfigFromCluster(
    cluster({
      "/apis/proxscale.io/v1alpha1/nodepools": { status: 200, body: { items: pools } },
    }).client,
    "ops",
  );
  assert.ok(!r.ok);
  assert.ok(r.error.some((p) => p.object.startsWith("NodePool/") && /minNodes/.test(p.path)));
});
