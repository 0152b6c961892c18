/**
 * Tests of bootstrap_secrets.ts against a recording KubeClient: the token Secret's create,
 * read and delete by name, and the expiry sweep that deletes only proxscale's expired Secrets
 * and never lists Secrets.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import {
  createBootstrapTokenSecret,
  deleteExpiredBootstrapTokenSecrets,
  readBootstrapTokenSecret,
} from "./bootstrap_secrets.ts";
import { type Answer, recordingClient, scriptedClient } from "./testing/recording_client.ts";

const SECRETS = "/api/v1/namespaces/kube-system/secrets";
const NOW = Date.parse("2026-12-07T06:00:00Z");
const tokenSecret = (managed: boolean, expiration?: string) => ({
  metadata: { labels: managed ? { "app.kubernetes.io/managed-by": "proxscale" } : {} },
  data: expiration === undefined ? {} : { expiration: btoa(expiration) },
});

Deno.test("a token Secret is POSTed to kube-system and expires on a whole second", async () => {
  const { client, requests } = scriptedClient([{ status: 201 }]);
  const r = await createBootstrapTokenSecret(
    client,
    { id: "abc123", secret: "0123456789abcdef" },
    NOW + 400,
    60_000,
  );
  assert.deepEqual(r, ok({ name: "bootstrap-token-abc123", expiresAt: NOW + 60_000 }));
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.method, "POST");
  assert.equal(requests[0]?.path, SECRETS);
  const body = requests[0]?.body as { metadata: { name: string; namespace: string } };
  assert.equal(body.metadata.name, "bootstrap-token-abc123");
  assert.equal(body.metadata.namespace, "kube-system");
  const clash = scriptedClient([{ status: 409, reason: "AlreadyExists" }]);
  const c = await createBootstrapTokenSecret(clash.client, { id: "abc123", secret: "x" }, NOW, 1);
  assert.equal(!c.ok && c.error.kind === "Status" && c.error.code, 409);
});

Deno.test("reading a token Secret tells whether it exists, is proxscale's, and when it expires", async () => {
  const { client, requests } = scriptedClient([
    { status: 200, body: tokenSecret(true, "2026-12-07T05:00:00Z") },
    { status: 200, body: tokenSecret(false, "not a time") },
    { status: 200, body: { metadata: {}, data: { expiration: "%%" } } },
    { status: 404, reason: "NotFound" },
  ]);
  assert.deepEqual(
    await readBootstrapTokenSecret(client, "abc123"),
    ok({ exists: true, managed: true, expiresAt: Date.parse("2026-12-07T05:00:00Z") }),
  );
  assert.deepEqual(
    await readBootstrapTokenSecret(client, "abc123"),
    ok({ exists: true, managed: false, expiresAt: undefined }),
  );
  assert.deepEqual(
    await readBootstrapTokenSecret(client, "abc123"),
    ok({ exists: true, managed: false, expiresAt: undefined }),
  );
  assert.deepEqual(await readBootstrapTokenSecret(client, "abc123"), ok({ exists: false }));
  assert.deepEqual(requests[0], { method: "GET", path: `${SECRETS}/bootstrap-token-abc123` });
});

Deno.test("the sweep deletes only proxscale's expired Secrets, by name, and reports the gone ids", async () => {
  const secrets: Record<string, Answer> = {
    "bootstrap-token-old111": { status: 200, body: tokenSecret(true, "2026-12-07T05:59:59Z") },
    "bootstrap-token-now222": { status: 200, body: tokenSecret(true, "2026-12-07T06:00:00Z") },
    "bootstrap-token-new333": { status: 200, body: tokenSecret(true, "2026-12-07T06:00:01Z") },
    "bootstrap-token-usr444": { status: 200, body: tokenSecret(false, "2026-01-01T00:00:00Z") },
    "bootstrap-token-bad555": { status: 200, body: tokenSecret(true) },
  };
  const { client, requests } = recordingClient((r) => {
    const name = r.path.slice(SECRETS.length + 1);
    if (r.method === "DELETE") {
      return name === "bootstrap-token-now222" ? { status: 404 } : { status: 200 };
    }
    return secrets[name] ?? { status: 404, reason: "NotFound" };
  });
  const r = await deleteExpiredBootstrapTokenSecrets(client, NOW, [
    "old111",
    "old111",
    "now222",
    "new333",
    "usr444",
    "bad555",
    "gon666",
    "../etc",
  ]);
  assert.deepEqual(
    r,
    ok({ deleted: ["bootstrap-token-old111"], gone: ["old111", "now222", "gon666"] }),
  );
  assert.deepEqual(requests.map((q) => `${q.method} ${q.path.slice(SECRETS.length + 1)}`), [
    "GET bootstrap-token-old111",
    "DELETE bootstrap-token-old111",
    "GET bootstrap-token-now222",
    // Deleted by someone else in between: gone, but not deleted by this sweep.
    "DELETE bootstrap-token-now222",
    "GET bootstrap-token-new333",
    "GET bootstrap-token-usr444",
    "GET bootstrap-token-bad555",
    "GET bootstrap-token-gon666",
  ]);
  assert.ok(requests.every((q) => q.path !== SECRETS), "never a list");
});

Deno.test("the sweep stops at the first API failure and returns it", async () => {
  const { client, requests } = scriptedClient([
    { status: 200, body: tokenSecret(true, "2026-12-07T05:00:00Z") },
    { status: 403, reason: "Forbidden", message: "no delete" },
  ]);
  assert.deepEqual(
    await deleteExpiredBootstrapTokenSecrets(client, NOW, ["old111", "old222"]),
    err({ kind: "Status", code: 403, reason: "Forbidden", message: "no delete", causes: [] }),
  );
  assert.equal(requests.length, 2);
});
