/**
 * Tests of eviction.ts against a recording KubeClient: the Eviction request, the table of
 * answers (evicted, gone, replaced, budget refusal, other failure), retries until the deadline,
 * and the forced delete only when asked.
 *
 * May import: this folder, core/result.ts.
 */
import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import { Evictor } from "./eviction.ts";
import { type Answer, scriptedClient } from "./testing/recording_client.ts";

const POD = { namespace: "web", name: "api-0", uid: "uid-1" };
const EVICT_PATH = "/api/v1/namespaces/web/pods/api-0/eviction";
const noWait = {
  backoff: { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 },
  minIntervalMs: 0,
  random: () => 0,
};
const pdb: Answer = {
  status: 429,
  reason: "TooManyRequests",
  message: "Cannot evict pod as it would violate the pod's disruption budget.",
  causes: ["The disruption budget api-pdb needs 2 healthy pods and has 2 currently"],
};

Deno.test("an eviction POSTs a policy/v1 Eviction with the uid precondition and grace period", async () => {
  const { client, requests } = scriptedClient([{ status: 201 }]);
  const r = await new Evictor(client, noWait).evict(POD, { gracePeriodSeconds: 30 });
  assert.deepEqual(r, ok({ result: "evicted", attempts: 1 }));
  assert.deepEqual(requests, [{
    method: "POST",
    path: EVICT_PATH,
    body: {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "api-0", namespace: "web" },
      deleteOptions: { preconditions: { uid: "uid-1" }, gracePeriodSeconds: 30 },
    },
  }]);
  const bare = scriptedClient([{ status: 201 }]);
  await new Evictor(bare.client, noWait).evict({ namespace: "web", name: "api-0" });
  assert.deepEqual((bare.requests[0]?.body as { deleteOptions: unknown }).deleteOptions, {});
});

Deno.test("404 means the pod is gone and 409 that another pod has its name: both end the eviction", async () => {
  for (
    const [answer, result] of [
      [{ status: 404, reason: "NotFound" }, "gone"],
      [{ status: 409, reason: "Conflict" }, "replaced"],
    ] as const
  ) {
    const { client, requests } = scriptedClient([answer]);
    assert.deepEqual(await new Evictor(client, noWait).evict(POD), ok({ result, attempts: 1 }));
    assert.equal(requests.length, 1);
  }
});

Deno.test("budget refusals (429, and 500 for several PDBs) are retried and reported each time", async () => {
  const multi: Answer = {
    status: 500,
    reason: "InternalError",
    message:
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
  };
  const { client, requests } = scriptedClient([pdb, multi, { status: 201 }]);
  const blocked: string[] = [];
  const evictor = new Evictor(client, { ...noWait, onBlocked: (_, m) => blocked.push(m) });
  assert.deepEqual(await evictor.evict(POD), ok({ result: "evicted", attempts: 3 }));
  assert.equal(requests.length, 3);
  assert.deepEqual(blocked, [`${pdb.message} ${pdb.causes![0]}`, multi.message]);
});

Deno.test("at the deadline a refusal ends Blocked with the budget's words, or Failed with the API error", async () => {
  const blocked = scriptedClient([pdb]);
  assert.deepEqual(
    await new Evictor(blocked.client, noWait).evict(POD, { deadlineMs: 0 }),
    err({ kind: "Blocked", attempts: 1, message: `${pdb.message} ${pdb.causes![0]}` }),
  );
  assert.equal(blocked.requests.length, 1, "no delete without force");
  const failing = scriptedClient([{ status: 403, reason: "Forbidden", message: "rbac" }]);
  assert.deepEqual(
    await new Evictor(failing.client, noWait).evict(POD, { deadlineMs: 0 }),
    err({
      kind: "Failed",
      attempts: 1,
      error: { kind: "Status", code: 403, reason: "Forbidden", message: "rbac", causes: [] },
    }),
  );
});

Deno.test("with force, a pod still refused at the deadline is deleted with 1 s of grace and its uid", async () => {
  const { client, requests } = scriptedClient([pdb, { status: 200 }]);
  const r = await new Evictor(client, noWait).evict(POD, { deadlineMs: 0, force: true });
  assert.deepEqual(r, ok({ result: "forced", attempts: 1 }));
  assert.deepEqual(requests[1], {
    method: "DELETE",
    path: "/api/v1/namespaces/web/pods/api-0",
    body: { gracePeriodSeconds: 1, preconditions: { uid: "uid-1" } },
  });
  // The forced delete reads its own answers: gone, replaced, or a failure.
  const gone = scriptedClient([pdb, { status: 404 }]);
  assert.deepEqual(
    await new Evictor(gone.client, noWait).evict(POD, { deadlineMs: 0, force: true }),
    ok({ result: "gone", attempts: 1 }),
  );
  const denied = scriptedClient([pdb, { status: 403, reason: "Forbidden" }]);
  const d = await new Evictor(denied.client, noWait).evict(POD, { deadlineMs: 0, force: true });
  assert.equal(!d.ok && d.error.kind, "Failed");
});

Deno.test("an aborted signal stops before any request", async () => {
  const { client, requests } = scriptedClient([]);
  const ac = new AbortController();
  ac.abort();
  assert.deepEqual(
    await new Evictor(client, noWait).evict(POD, { signal: ac.signal }),
    err({ kind: "Failed", attempts: 0, error: { kind: "Transport", message: "aborted" } }),
  );
  assert.equal(requests.length, 0);
});
