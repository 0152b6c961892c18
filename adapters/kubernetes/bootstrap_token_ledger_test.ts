/**
 * Tests of bootstrap_token_ledger.ts against a recording KubeClient: recording a token patches
 * the ledger ConfigMap or creates it (and patches again when another replica won the race),
 * forgetting sends nulls, and reading keeps only well-formed token ids.
 *
 * May import: this folder, core/result.ts.
 */
import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import {
  forgetMintedTokens,
  readMintedTokens,
  recordMintedToken,
  TOKEN_LEDGER_CONFIGMAP,
} from "./bootstrap_token_ledger.ts";
import { scriptedClient } from "./testing/recording_client.ts";

const CMS = "/api/v1/namespaces/proxscale/configmaps";
const LEDGER = `${CMS}/${TOKEN_LEDGER_CONFIGMAP}`;
const EXP = "2026-12-07T06:30:00Z";
const MERGE = "application/merge-patch+json";

Deno.test("recording a token is one merge patch of the ledger when it exists", async () => {
  const { client, requests } = scriptedClient([{ status: 200 }]);
  assert.deepEqual(await recordMintedToken(client, "proxscale", "abc123", EXP), ok(undefined));
  assert.deepEqual(requests, [{
    method: "PATCH",
    path: LEDGER,
    contentType: MERGE,
    body: { data: { abc123: EXP } },
  }]);
});

Deno.test("a missing ledger is created with the token; losing the create race patches again", async () => {
  const { client, requests } = scriptedClient([
    { status: 404, reason: "NotFound" },
    { status: 409, reason: "AlreadyExists" },
    { status: 200 },
  ]);
  assert.deepEqual(await recordMintedToken(client, "proxscale", "abc123", EXP), ok(undefined));
  assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`), [
    `PATCH ${LEDGER}`,
    `POST ${CMS}`,
    `PATCH ${LEDGER}`,
  ]);
  assert.deepEqual(requests[1]?.body, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: TOKEN_LEDGER_CONFIGMAP,
      namespace: "proxscale",
      labels: { "app.kubernetes.io/managed-by": "proxscale" },
    },
    data: { abc123: EXP },
  });
});

Deno.test("recording fails with the API error when the patch or the create is refused", async () => {
  const forbidden = { status: 403, reason: "Forbidden", message: "no" };
  const denied = {
    kind: "Status" as const,
    code: 403,
    reason: "Forbidden",
    message: "no",
    causes: [],
  };
  const a = scriptedClient([forbidden]);
  assert.deepEqual(await recordMintedToken(a.client, "proxscale", "abc123", EXP), err(denied));
  assert.equal(a.requests.length, 1, "no create after a refusal other than 404");
  const b = scriptedClient([{ status: 404 }, forbidden]);
  assert.deepEqual(await recordMintedToken(b.client, "proxscale", "abc123", EXP), err(denied));
});

Deno.test("forgetting sends a null per id, nothing for no ids, and a missing ledger is fine", async () => {
  const { client, requests } = scriptedClient([{ status: 200 }, { status: 404 }]);
  assert.deepEqual(await forgetMintedTokens(client, "proxscale", []), ok(undefined));
  assert.equal(requests.length, 0);
  assert.deepEqual(
    await forgetMintedTokens(client, "proxscale", ["abc123", "def456"]),
    ok(undefined),
  );
  assert.deepEqual(requests[0], {
    method: "PATCH",
    path: LEDGER,
    contentType: MERGE,
    body: { data: { abc123: null, def456: null } },
  });
  assert.deepEqual(await forgetMintedTokens(client, "proxscale", ["abc123"]), ok(undefined));
  const failing = scriptedClient([{ status: 500, reason: "InternalError" }]);
  assert.equal((await forgetMintedTokens(failing.client, "proxscale", ["abc123"])).ok, false);
});

Deno.test("reading lists only well-formed token ids; no ledger or no data is an empty list", async () => {
  const { client } = scriptedClient([
    { status: 200, body: { data: { abc123: EXP, "ABC123": EXP, abc12: EXP, "x.y": EXP } } },
    { status: 404, reason: "NotFound" },
    { status: 200, body: { metadata: {} } },
    { status: 500, reason: "InternalError" },
  ]);
  assert.deepEqual(await readMintedTokens(client, "proxscale"), ok(["abc123"]));
  assert.deepEqual(await readMintedTokens(client, "proxscale"), ok([]));
  assert.deepEqual(await readMintedTokens(client, "proxscale"), ok([]));
  assert.equal((await readMintedTokens(client, "proxscale")).ok, false);
});
