/**
 * Tests of tls_agent.ts: the pinning decision made on the socket before any request is written
 * (a pin in any case or among several matches; a wrong pin refuses with both fingerprints and
 * no request reaches the server), and the fingerprint's normal form.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import https from "node:https";
import {
  FingerprintMismatch,
  normalizeFingerprint,
  PveAgent,
  type TrustMode,
} from "./tls_agent.ts";
import { sendJson, startTestServer, testCerts } from "./testing/tls_fixture.ts";

/** One GET through a fresh agent; the status code, or the error the agent gave. */
async function get(url: string, trust: TrustMode): Promise<number | Error> {
  const agent = new PveAgent(trust, { handshakeTimeoutMs: 5000 });
  try {
    return await new Promise<number | Error>((resolve) => {
      const req = https.request(`${url}/api2/json/version`, {
        agent,
        headers: { Authorization: "PVEAPIToken=x@pve!t=secret" },
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", (e) => resolve(e));
      req.end();
    });
  } finally {
    agent.destroy();
  }
}

Deno.test("normalizeFingerprint trims and upper-cases", () => {
  assert.equal(normalizeFingerprint("  ab:cd:ef \n"), "AB:CD:EF");
});

Deno.test("a pin written in lower case, or one among several, lets the request through", async () => {
  const { a, b } = await testCerts();
  const server = await startTestServer(a, (_q, res) => sendJson(res, 200, "OK", { data: {} }));
  try {
    const lower = a.fingerprint.toLowerCase();
    assert.equal(await get(server.url, { mode: "fingerprint", fingerprints: [lower] }), 200);
    assert.equal(
      await get(server.url, { mode: "fingerprint", fingerprints: [b.fingerprint, lower] }),
      200,
    );
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

Deno.test("a wrong pin refuses after the handshake, names both fingerprints and sends no request", async () => {
  const { a, b } = await testCerts();
  const server = await startTestServer(a, (_q, res) => sendJson(res, 200, "OK", { data: {} }));
  try {
    const got = await get(server.url, { mode: "fingerprint", fingerprints: [b.fingerprint] });
    assert.ok(got instanceof FingerprintMismatch, String(got));
    assert.equal(got.actual, normalizeFingerprint(a.fingerprint));
    assert.deepEqual(got.expected, [normalizeFingerprint(b.fingerprint)]);
    assert.match(got.message, /no credentials were sent/);
    assert.ok(got.message.includes(got.actual) && got.message.includes(got.expected[0]!));
    assert.deepEqual(server.seen, [], "the server saw no request, so no token");
  } finally {
    await server.close();
  }
});

Deno.test("CA mode trusts the right CA; system mode refuses a private CA; insecure accepts", async () => {
  const { a } = await testCerts();
  const server = await startTestServer(a, (_q, res) => sendJson(res, 200, "OK", { data: {} }));
  try {
    const url = server.url.replace("127.0.0.1", "localhost");
    assert.equal(await get(url, { mode: "ca", ca: a.caPem }), 200);
    assert.ok((await get(url, { mode: "system" })) instanceof Error);
    assert.equal(await get(url, { mode: "insecure" }), 200);
    assert.equal(server.seen.length, 2, "only the trusted connections carried a request");
  } finally {
    await server.close();
  }
});
