import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BOOTSTRAP_TOKEN_PATTERN,
  bootstrapSecretManifest,
  bootstrapTokenTtl,
  formatBootstrapToken,
  generateBootstrapToken,
  isValidAuthExtraGroup,
  K3S_NODE_GROUP,
  KUBEADM_NODE_GROUP,
  parseBootstrapToken,
  type RandomBytes,
  rfc3339,
} from "./bootstrap_token.ts";

/** A seeded xorshift32 byte source: deterministic per seed, covering all 256 byte values. */
function seeded(seed: number): RandomBytes {
  let x = seed >>> 0 || 0x9e3779b9;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

Deno.test("every generated token matches [a-z0-9]{6}.[a-z0-9]{16} for any seed", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
      const t = generateBootstrapToken(seeded(seed));
      const text = formatBootstrapToken(t);
      assert.match(text, BOOTSTRAP_TOKEN_PATTERN);
      const back = parseBootstrapToken(text);
      assert.ok(back.ok);
      assert.deepEqual(back.value, t);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("bytes of 252 and above are discarded so that the modulo is unbiased", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 40, maxLength: 200 }), (
      bytes,
    ) => {
      const usable = bytes.filter((b) => b < 252);
      fc.pre(usable.length >= 22);
      let at = 0;
      // Serve the array, then fail loudly if the generator asks for more than it needs.
      const source: RandomBytes = (n) => {
        const chunk = bytes.slice(at, at + n);
        at += n;
        if (chunk.length === 0) throw new Error("asked past the end");
        return Uint8Array.from(chunk);
      };
      const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
      const expected = usable.slice(0, 22).map((b) => alphabet[b % 36]).join("");
      const t = generateBootstrapToken(source);
      assert.equal(t.id + t.secret, expected);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("a random source that never yields a usable byte is reported as broken", () => {
  assert.throws(
    () => generateBootstrapToken((n) => new Uint8Array(n).fill(255)),
    /no usable bytes/,
  );
});

Deno.test("malformed tokens are refused without echoing them", () => {
  for (
    const bad of ["abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef0123456789abcdef"]
  ) {
    const r = parseBootstrapToken(bad);
    assert.ok(!r.ok);
    assert.ok(!r.error.message.includes(bad));
  }
});

Deno.test("the token Secret carries both usages, the kubeadm group and an RFC 3339 expiry", () => {
  const token = { id: "k3x9qa", secret: "0f1e2d3c4b5a6978" };
  const now = Date.UTC(2026, 8, 1, 12, 0, 0, 250);
  const s = bootstrapSecretManifest(token, now, 30 * 60_000, { nodeClaim: "general-7f3k2" });
  assert.equal(s.apiVersion, "v1");
  assert.equal(s.kind, "Secret");
  assert.equal(s.type, "bootstrap.kubernetes.io/token");
  assert.equal(s.metadata.name, "bootstrap-token-k3x9qa");
  assert.equal(s.metadata.namespace, "kube-system");
  assert.deepEqual(s.stringData, {
    "token-id": "k3x9qa",
    "token-secret": "0f1e2d3c4b5a6978",
    expiration: "2026-09-01T12:30:00Z",
    "usage-bootstrap-authentication": "true",
    "usage-bootstrap-signing": "true",
    "auth-extra-groups": KUBEADM_NODE_GROUP,
    description: "proxscale join token for NodeClaim general-7f3k2",
  });
  // The secret half only ever sits in the credential field.
  const elsewhere = JSON.stringify({ ...s, stringData: { ...s.stringData, "token-secret": "" } });
  assert.ok(!elsewhere.includes(token.secret));
  const k3s = bootstrapSecretManifest(token, now, 60_000, { group: K3S_NODE_GROUP });
  assert.equal(k3s.stringData["auth-extra-groups"], K3S_NODE_GROUP);
  assert.equal(k3s.stringData.expiration, "2026-09-01T12:01:00Z");
});

Deno.test("expiry is now plus the TTL to the second, for any instant", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4_000_000_000_000 }),
      fc.integer({ min: 60_000, max: 86_400_000 }),
      (now, ttl) => {
        const s = bootstrapSecretManifest({ id: "abcdef", secret: "0123456789abcdef" }, now, ttl);
        const exp = s.stringData.expiration;
        assert.match(exp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const parsed = Date.parse(exp);
        assert.ok(parsed <= now + ttl && now + ttl - parsed < 1000);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("default TTL is the registration timeout plus 15 minutes", () => {
  assert.equal(bootstrapTokenTtl(15 * 60_000), 30 * 60_000);
  assert.equal(bootstrapTokenTtl(10 * 60_000, 5 * 60_000), 15 * 60_000);
  assert.equal(rfc3339(0), "1970-01-01T00:00:00Z");
});

Deno.test("the shipped groups satisfy the authenticator's auth-extra-groups rule", () => {
  assert.ok(isValidAuthExtraGroup(KUBEADM_NODE_GROUP));
  assert.ok(isValidAuthExtraGroup(K3S_NODE_GROUP));
  assert.ok(!isValidAuthExtraGroup("system:bootstrappers:"));
  assert.ok(!isValidAuthExtraGroup("system:nodes"));
});
