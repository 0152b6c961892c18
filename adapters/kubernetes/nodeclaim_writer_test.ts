/**
 * Tests of nodeclaim_writer.ts against a recording KubeClient: the idempotent create, status
 * written as a resourceVersion-guarded merge patch with metav1 condition times, the server-side
 * apply request, and delete.
 *
 * May import: this folder, core/, adapters/proxmox/testing/.
 */
import assert from "node:assert/strict";
import { ok } from "../../core/result.ts";
import type { Condition, ConditionType } from "../../core/model.ts";
import { claim } from "../proxmox/testing/fixtures.ts";
import {
  applyNodeClaimStatus,
  createNodeClaim,
  deleteNodeClaim,
  setNodeClaimStatus,
} from "./nodeclaim_writer.ts";
import { nodeClaimToKube } from "./translate.ts";
import { scriptedClient } from "./testing/recording_client.ts";

const COLLECTION = "/apis/proxscale.io/v1alpha1/nodeclaims";
const ONE = `${COLLECTION}/${claim.name}`;
const T1 = Date.parse("2026-12-07T06:00:00.900Z");
const cond = (
  type: ConditionType,
  status: "True" | "False" | "Unknown",
  reason = "R",
): Condition => ({
  type,
  status,
  reason,
  message: `${type} is ${status}`,
  lastTransitionTime: T1,
});

Deno.test("create POSTs the claim as proxscale's field manager; AlreadyExists reads the existing one", async () => {
  const made = scriptedClient([{ status: 201, body: { ok: 1 } }]);
  assert.deepEqual(
    await createNodeClaim(made.client, claim),
    ok({ created: true, object: { ok: 1 } }),
  );
  assert.deepEqual(made.requests, [{
    method: "POST",
    path: COLLECTION,
    query: { fieldManager: "proxscale" },
    body: nodeClaimToKube(claim),
  }]);
  const dup = scriptedClient([
    { status: 409, reason: "AlreadyExists" },
    { status: 200, body: { existing: 1 } },
  ]);
  assert.deepEqual(
    await createNodeClaim(dup.client, claim),
    ok({ created: false, object: { existing: 1 } }),
  );
  assert.deepEqual(dup.requests[1], { method: "GET", path: ONE });
  // A 409 Conflict is not an AlreadyExists: returned as the error, nothing read.
  const other = scriptedClient([{ status: 409, reason: "Conflict" }]);
  assert.equal((await createNodeClaim(other.client, claim)).ok, false);
  assert.equal(other.requests.length, 1);
});

Deno.test("status keeps a condition's transition time while its status holds, and moves it on change", async () => {
  const stored = {
    metadata: { resourceVersion: "9", generation: 3 },
    status: {
      vmid: 100,
      conditions: [
        {
          type: "Launched",
          status: "True",
          reason: "Launched",
          message: "m",
          lastTransitionTime: "2026-12-07T05:00:00Z",
        },
        {
          type: "Ready",
          status: "Unknown",
          reason: "Waiting",
          message: "m",
          lastTransitionTime: "2026-12-07T05:00:00Z",
        },
      ],
    },
  };
  const { client, requests } = scriptedClient([{ status: 200, body: stored }, { status: 200 }]);
  const r = await setNodeClaimStatus(
    client,
    claim.name,
    {
      host: "pve2",
      conditions: [cond("Launched", "True"), cond("Ready", "True"), cond("Drifted", "False", "")],
    },
    () => T1,
  );
  assert.deepEqual(r, ok({ changed: true }));
  assert.deepEqual(requests[1], {
    method: "PATCH",
    path: `${ONE}/status`,
    contentType: "application/merge-patch+json",
    body: {
      metadata: { resourceVersion: "9" },
      status: {
        vmid: 100,
        host: "pve2",
        conditions: [
          { ...cond4kube("Launched", "True"), lastTransitionTime: "2026-12-07T05:00:00Z" },
          { ...cond4kube("Ready", "True"), lastTransitionTime: "2026-12-07T06:00:00Z" },
          // An empty reason is not allowed by the CRD.
          {
            ...cond4kube("Drifted", "False"),
            reason: "Unknown",
            lastTransitionTime: "2026-12-07T06:00:00Z",
          },
        ],
      },
    },
  });
});

/** A condition as written for generation 3, before its transition time is settled. */
function cond4kube(type: string, status: string) {
  return { type, status, reason: "R", message: `${type} is ${status}`, observedGeneration: 3 };
}

Deno.test("a status update that changes nothing sends no patch", async () => {
  const stored = { metadata: { resourceVersion: "9" }, status: { vmid: 100, host: "pve1" } };
  const { client, requests } = scriptedClient([{ status: 200, body: stored }]);
  assert.deepEqual(
    await setNodeClaimStatus(client, claim.name, { vmid: 100, host: "pve1" }),
    ok({ changed: false }),
  );
  assert.equal(requests.length, 1);
});

Deno.test("apply sends the whole status as a forced server-side apply; delete treats 404 as done", async () => {
  const { client, requests } = scriptedClient([
    { status: 200 },
    { status: 200 },
    { status: 404, reason: "NotFound" },
  ]);
  assert.deepEqual(await applyNodeClaimStatus(client, claim.name, { vmid: 7 }), ok(undefined));
  assert.deepEqual(requests[0], {
    method: "PATCH",
    path: `${ONE}/status`,
    query: { fieldManager: "proxscale", force: "true" },
    contentType: "application/apply-patch+yaml",
    body: {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "NodeClaim",
      metadata: { name: claim.name },
      status: { vmid: 7 },
    },
  });
  assert.deepEqual(await deleteNodeClaim(client, claim.name), ok({ existed: true }));
  assert.deepEqual(await deleteNodeClaim(client, claim.name), ok({ existed: false }));
  assert.deepEqual(requests[1], { method: "DELETE", path: ONE });
});
