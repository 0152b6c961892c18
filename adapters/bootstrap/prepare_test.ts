import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  BOOTSTRAP_TOKEN_PATTERN,
  formatBootstrapToken,
  K3S_NODE_GROUP,
  KUBEADM_NODE_GROUP,
} from "../../core/bootstrap_token.ts";
import { readIso } from "./iso9660_reader.ts";
import { type PrepareInput, prepareNodeBootstrap } from "./prepare.ts";
import { redact } from "./render.ts";
import { CA_HASH, claim, machineTemplate, pool } from "./testing/sample.ts";

const NOW = Date.UTC(2026, 8, 1, 12, 0, 0);

function prepareInput(template = machineTemplate({ mode: "nocloudIso", template: "kubeadm" })) {
  let i = 0;
  const input: PrepareInput = {
    template,
    pool,
    claim,
    cluster: { server: "10.0.0.10:6443", caCertHash: CA_HASH, k3sCaHash: "ab".repeat(32) },
    now: NOW,
    registrationTimeoutMs: 15 * 60_000,
    random: (n) => Uint8Array.from({ length: n }, () => (i++ * 53 + 7) % 256),
  };
  return input;
}

Deno.test("one call mints the token, its Secret, the seed and an ISO that carries them", () => {
  const r = prepareNodeBootstrap(prepareInput());
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const { token, secret, seed, iso, isoName } = r.value;
  const text = formatBootstrapToken(token);
  assert.match(text, BOOTSTRAP_TOKEN_PATTERN);
  assert.equal(secret.metadata.name, `bootstrap-token-${token.id}`);
  assert.equal(secret.stringData["token-secret"], token.secret);
  assert.equal(secret.stringData["auth-extra-groups"], KUBEADM_NODE_GROUP);
  assert.equal(secret.stringData.expiration, "2026-09-01T12:30:00Z", "registration timeout + 15m");
  assert.match(seed.userData, /# The join token expires at 2026-09-01T12:30:00Z/);
  const join = parse(parse(seed.userData).write_files[0].content);
  assert.equal(join.discovery.bootstrapToken.token, text);
  const files = readIso(iso);
  assert.ok(files.ok);
  const userData = files.value.rockRidge.find((f) => f.name === "user-data");
  assert.equal(new TextDecoder().decode(userData?.data), seed.userData);
  assert.equal(isoName, "proxscale-cidata-gpu-pool-7f3k2.iso");
});

Deno.test("nothing meant for PVE or logs carries the token: volume name, Secret metadata, redacted seed", () => {
  const r = prepareNodeBootstrap(prepareInput());
  assert.ok(r.ok);
  const { token, secret, seed, isoName, secrets } = r.value;
  const public_ = JSON.stringify({
    isoName,
    metadata: secret.metadata,
    shown: redact(seed.userData + seed.metaData + seed.networkConfig, secrets),
  });
  assert.ok(!public_.includes(token.secret));
  assert.ok(!public_.includes(formatBootstrapToken(token)));
  // meta-data and network-config never hold the token, so they can be logged as they are.
  assert.ok(!(seed.metaData + seed.networkConfig).includes(token.secret));
});

Deno.test("k3s templates get the k3s group; each call mints a different token", () => {
  const input = prepareInput(machineTemplate({ mode: "nocloudIso", template: "k3s" }));
  const a = prepareNodeBootstrap(input);
  const b = prepareNodeBootstrap(input);
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.secret.stringData["auth-extra-groups"], K3S_NODE_GROUP);
  assert.notEqual(a.value.token.secret, b.value.token.secret);
  assert.ok(a.value.seed.userData.includes(`K10${"ab".repeat(32)}::${a.value.token.id}.`));
});

Deno.test("modes without a seed ISO are refused as a value", () => {
  const r = prepareNodeBootstrap(prepareInput(machineTemplate({ mode: "none" })));
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "ModeWithoutSeed");
});
