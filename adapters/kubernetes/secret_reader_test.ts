/**
 * Tests of secret_reader.ts against a recording KubeClient: the Secret GET it sends, the key it
 * decodes, and each failure's message naming what to fix without any secret value.
 *
 * May import: this folder, adapters/proxmox/secret.ts.
 */
import assert from "node:assert/strict";
import { SecretReadError } from "../proxmox/secret.ts";
import { kubeSecretReader } from "./secret_reader.ts";
import { type Answer, scriptedClient } from "./testing/recording_client.ts";

const REF = { namespace: "ops", name: "pve token", key: "token" };
const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

/** The reader's result for one scripted answer: the text, or the SecretReadError's message. */
async function read(answer: Answer, own?: string): Promise<string> {
  const { client } = scriptedClient([answer]);
  try {
    return `value ${await kubeSecretReader(client, own)(REF)}`;
  } catch (e) {
    assert.ok(e instanceof SecretReadError, String(e));
    return `error ${e.message}`;
  }
}

Deno.test("the reader GETs the escaped Secret path and decodes the key's UTF-8 text", async () => {
  const { client, requests } = scriptedClient([
    { status: 200, body: { data: { token: b64("sécret-1"), other: b64("x") } } },
  ]);
  assert.equal(await kubeSecretReader(client)(REF), "sécret-1");
  assert.deepEqual(requests, [{
    method: "GET",
    path: "/api/v1/namespaces/ops/secrets/pve%20token",
  }]);
});

Deno.test("a missing key or undecodable value names the key and the keys present, never a value", async () => {
  assert.equal(
    await read({ status: 200, body: { data: { user: b64("root"), pass: b64("hunter2") } } }),
    "error has no key token (keys: user, pass)",
  );
  assert.equal(await read({ status: 200, body: {} }), "error has no key token (keys: none)");
  assert.equal(
    await read({ status: 200, body: { data: { token: "%%%" } } }),
    "error key token is not base64-encoded UTF-8 text",
  );
  assert.equal(
    await read({ status: 200, body: { data: { token: btoa("\xff\xfe") } } }),
    "error key token is not base64-encoded UTF-8 text",
  );
});

Deno.test("API failures read as what to fix: missing, RBAC in or outside its namespace, unreachable", async () => {
  assert.equal(await read({ status: 404, reason: "NotFound" }), "error does not exist");
  assert.match(
    await read({ status: 403, reason: "Forbidden" }, "proxscale"),
    /^error forbidden: proxscale may read Secrets only in its own namespace proxscale; .* in ops/,
  );
  assert.match(
    await read({ status: 403, reason: "Forbidden" }, "ops"),
    /^error forbidden: proxscale's ServiceAccount lacks get on secrets in ops \(apply the RBAC/,
  );
  assert.match(await read({ status: 403, reason: "Forbidden" }), /lacks get on secrets in ops/);
  assert.equal(
    await read({ status: 500, reason: "InternalError", message: "etcd said token=abc" }),
    "error cannot be read (500 InternalError)",
  );
  assert.equal(
    await read({ status: 0, transport: "connection refused" }),
    "error cannot be read: API server unreachable (connection refused)",
  );
});
