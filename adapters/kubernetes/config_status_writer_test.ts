/**
 * Tests of config_status_writer.ts against a recording KubeClient: the status patch of a
 * configuration object (observedGeneration, NodePool totals in Kubernetes quantities, merged
 * conditions) guarded by the resourceVersion read, and no write when nothing changed.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { GiB } from "../../core/quantity.ts";
import { ok } from "../../core/result.ts";
import { setConfigStatus } from "./config_status_writer.ts";
import { scriptedClient } from "./testing/recording_client.ts";

const NOW = Date.parse("2026-12-07T06:00:00Z");
const usage = { cpu: 6500, memory: 12 * GiB, nodes: 3 };

Deno.test("a NodePool's status carries its generation, node count and totals as quantities", async () => {
  const stored = { metadata: { resourceVersion: "5", generation: 4 }, status: { other: "kept" } };
  const { client, requests } = scriptedClient([{ status: 200, body: stored }, { status: 200 }]);
  const r = await setConfigStatus(client, "nodepools", "general", { nodes: 3, usage }, () => NOW);
  assert.deepEqual(r, ok({ changed: true }));
  assert.deepEqual(requests, [
    { method: "GET", path: "/apis/proxscale.io/v1alpha1/nodepools/general" },
    {
      method: "PATCH",
      path: "/apis/proxscale.io/v1alpha1/nodepools/general/status",
      contentType: "application/merge-patch+json",
      body: {
        metadata: { resourceVersion: "5" },
        status: {
          other: "kept",
          observedGeneration: 4,
          nodes: 3,
          resources: { cpu: "6500m", memory: "12Gi", nodes: 3 },
        },
      },
    },
  ]);
});

Deno.test("node totals are written only on NodePools; other kinds get generation and conditions", async () => {
  const stored = { metadata: { resourceVersion: "2", generation: 1 } };
  const { client, requests } = scriptedClient([{ status: 200, body: stored }, { status: 200 }]);
  await setConfigStatus(client, "providers", "lab", {
    nodes: 3,
    usage,
    conditions: [{
      type: "Ready",
      status: "True",
      reason: "Reachable",
      message: "PVE answers",
      lastTransitionTime: NOW,
    }],
  }, () => NOW);
  assert.deepEqual(requests[1]?.body, {
    metadata: { resourceVersion: "2" },
    status: {
      observedGeneration: 1,
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "Reachable",
        message: "PVE answers",
        lastTransitionTime: "2026-12-07T06:00:00Z",
        observedGeneration: 1,
      }],
    },
  });
});

Deno.test("a status already up to date is not written again", async () => {
  const stored = {
    metadata: { resourceVersion: "9", generation: 2 },
    status: { observedGeneration: 2, nodes: 3 },
  };
  const { client, requests } = scriptedClient([{ status: 200, body: stored }]);
  assert.deepEqual(
    await setConfigStatus(client, "nodepools", "general", { nodes: 3 }),
    ok({ changed: false }),
  );
  assert.equal(requests.length, 1);
});
