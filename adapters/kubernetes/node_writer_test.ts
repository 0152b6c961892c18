/**
 * Tests of node_writer.ts against a recording KubeClient: the exact requests each Node write
 * sends (path, patch Content-Type, body), how a taint edit is computed from the Node read and
 * redone on 409, and which answers count as done.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import {
  deleteNode,
  setNodeLabels,
  setNodeUnschedulable,
  updateNodeTaints,
} from "./node_writer.ts";
import { recordingClient, scriptedClient } from "./testing/recording_client.ts";

const MERGE = "application/merge-patch+json";
const NOW = Date.parse("2026-12-07T05:30:00.750Z");
const fast = { backoff: { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 }, random: () => 0 };

Deno.test("labels and cordon are one merge patch each, on the escaped node path", async () => {
  const { client, requests } = scriptedClient([{ status: 200 }, { status: 200 }, { status: 200 }]);
  assert.deepEqual(await setNodeLabels(client, "n/1", { a: "x", b: null }), ok(undefined));
  assert.deepEqual(await setNodeUnschedulable(client, "n1", true), ok(undefined));
  assert.deepEqual(await setNodeUnschedulable(client, "n1", false), ok(undefined));
  assert.deepEqual(requests, [
    {
      method: "PATCH",
      path: "/api/v1/nodes/n%2F1",
      contentType: MERGE,
      body: { metadata: { labels: { a: "x", b: null } } },
    },
    {
      method: "PATCH",
      path: "/api/v1/nodes/n1",
      contentType: MERGE,
      body: { spec: { unschedulable: true } },
    },
    // Uncordon removes the field, as kubectl does, rather than writing false.
    {
      method: "PATCH",
      path: "/api/v1/nodes/n1",
      contentType: MERGE,
      body: { spec: { unschedulable: null } },
    },
  ]);
});

Deno.test("a taint edit writes the whole list back, guarded by the resourceVersion it read", async () => {
  const node = {
    metadata: { resourceVersion: "41" },
    spec: {
      taints: [
        { key: "keep", value: "1", effect: "NoSchedule" },
        {
          key: "proxscale.io/unregistered",
          effect: "NoExecute",
          timeAdded: "2026-01-01T00:00:00Z",
        },
        { key: "swap", value: "old", effect: "NoSchedule" },
      ],
    },
  };
  const { client, requests } = scriptedClient([{ status: 200, body: node }, { status: 200 }]);
  const r = await updateNodeTaints(client, "n1", {
    add: [
      { key: "swap", value: "new", effect: "NoSchedule" },
      { key: "proxscale.io/disrupted", effect: "NoExecute" },
    ],
    remove: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }],
  }, () => NOW);
  assert.deepEqual(r, ok({ changed: true }));
  assert.deepEqual(requests[0], { method: "GET", path: "/api/v1/nodes/n1" });
  assert.deepEqual(requests[1], {
    method: "PATCH",
    path: "/api/v1/nodes/n1",
    contentType: MERGE,
    body: {
      metadata: { resourceVersion: "41" },
      spec: {
        taints: [
          { key: "keep", value: "1", effect: "NoSchedule" },
          { key: "swap", value: "new", effect: "NoSchedule" },
          // Only a NoExecute taint is stamped, to the whole second as the API server keeps it.
          { key: "proxscale.io/disrupted", effect: "NoExecute", timeAdded: "2026-12-07T05:30:00Z" },
        ],
      },
    },
  });
});

Deno.test("a taint edit that changes nothing sends no write; removing the last taint sends null", async () => {
  const node = {
    metadata: { resourceVersion: "7" },
    spec: { taints: [{ key: "a", value: "1", effect: "NoSchedule" }] },
  };
  const same = scriptedClient([{ status: 200, body: node }]);
  const r = await updateNodeTaints(same.client, "n1", {
    add: [{ key: "a", value: "1", effect: "NoSchedule" }],
    remove: [{ key: "absent", effect: "NoExecute" }],
  });
  assert.deepEqual(r, ok({ changed: false }));
  assert.equal(same.requests.length, 1, "only the read");
  const last = scriptedClient([{ status: 200, body: node }, { status: 200 }]);
  await updateNodeTaints(last.client, "n1", { remove: [{ key: "a", effect: "NoSchedule" }] });
  assert.deepEqual(last.requests[1]?.body, {
    metadata: { resourceVersion: "7" },
    spec: { taints: null },
  });
});

Deno.test("a 409 on the taint write re-reads the Node and recomputes from the fresh list", async () => {
  const v1 = { metadata: { resourceVersion: "1" }, spec: {} };
  const v2 = {
    metadata: { resourceVersion: "2" },
    spec: { taints: [{ key: "other", effect: "NoSchedule" }] },
  };
  const { client, requests } = scriptedClient([
    { status: 200, body: v1 },
    { status: 409, reason: "Conflict", message: "the object has been modified" },
    { status: 200, body: v2 },
    { status: 200 },
  ]);
  const r = await updateNodeTaints(
    client,
    "n1",
    { add: [{ key: "t", effect: "NoSchedule" }] },
    () => NOW,
    fast,
  );
  assert.deepEqual(r, ok({ changed: true }));
  assert.deepEqual(requests.map((q) => q.method), ["GET", "PATCH", "GET", "PATCH"]);
  assert.deepEqual(requests[3]?.body, {
    metadata: { resourceVersion: "2" },
    spec: { taints: [{ key: "other", effect: "NoSchedule" }, { key: "t", effect: "NoSchedule" }] },
  });
});

Deno.test("deleting a node sends its uid precondition; a gone node counts as deleted, a 403 does not", async () => {
  const { client, requests } = recordingClient((_, i) =>
    [
      { status: 200 },
      { status: 404, reason: "NotFound" },
      { status: 403, reason: "Forbidden", message: "no" },
    ][i]!
  );
  assert.deepEqual(await deleteNode(client, "n1", { uid: "u-1" }), ok({ existed: true }));
  assert.deepEqual(await deleteNode(client, "n1"), ok({ existed: false }));
  assert.deepEqual(
    await deleteNode(client, "n1"),
    err({ kind: "Status", code: 403, reason: "Forbidden", message: "no", causes: [] }),
  );
  assert.deepEqual(requests[0], {
    method: "DELETE",
    path: "/api/v1/nodes/n1",
    body: { preconditions: { uid: "u-1" } },
  });
  assert.deepEqual(requests[1], { method: "DELETE", path: "/api/v1/nodes/n1" });
});
