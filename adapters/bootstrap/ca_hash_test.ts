import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { caCertHash, k3sCaHash, pemCertificates, subjectPublicKeyInfo } from "./ca_hash.ts";

async function sh(script: string, cwd: string): Promise<Uint8Array> {
  const r = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return r.stdout;
}

Deno.test("the kubeadm CA hash equals openssl's SHA-256 of the DER public key (RSA and EC)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-ca-" });
  try {
    for (const key of ["rsa:2048", "ec -pkeyopt ec_paramgen_curve:P-256"]) {
      await sh(
        `openssl req -x509 -newkey ${key} -nodes -days 1 -subj /CN=kubernetes -keyout ca.key -out ca.pem 2>/dev/null`,
        dir,
      );
      const expected = new TextDecoder().decode(
        await sh(
          "openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum",
          dir,
        ),
      ).split(" ")[0];
      const pem = await Deno.readTextFile(`${dir}/ca.pem`);
      const got = caCertHash(pem);
      assert.ok(got.ok);
      assert.equal(got.value, `sha256:${expected}`, key);
      assert.match(got.value, /^sha256:[0-9a-f]{64}$/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("k3s hashes a single-certificate /cacerts as served, a chain by its root's DER", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-ca-" });
  try {
    await sh(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=root -keyout root.key -out root.pem 2>/dev/null && " +
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=inter -keyout i.key -out i.csr 2>/dev/null && " +
        "printf 'basicConstraints=CA:TRUE\\n' > i.ext && " +
        "openssl x509 -req -in i.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1 -extfile i.ext -out inter.pem 2>/dev/null",
      dir,
    );
    const root = await Deno.readFile(`${dir}/root.pem`);
    const single = k3sCaHash(root);
    assert.ok(single.ok);
    assert.equal(single.value, createHash("sha256").update(root).digest("hex"));
    const bundle = new TextEncoder().encode(
      (await Deno.readTextFile(`${dir}/inter.pem`)) + new TextDecoder().decode(root),
    );
    const chained = k3sCaHash(bundle);
    assert.ok(chained.ok);
    const parsed = pemCertificates(new TextDecoder().decode(root));
    assert.ok(parsed.ok);
    const rootDer = parsed.value[0]!;
    assert.equal(chained.value, createHash("sha256").update(rootDer).digest("hex"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("text that is not a certificate is a value, not a throw", () => {
  assert.deepEqual(caCertHash("hello").ok, false);
  assert.equal(subjectPublicKeyInfo(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])).ok, false);
  assert.equal(subjectPublicKeyInfo(new Uint8Array([0x30, 0x82, 0xff])).ok, false);
  assert.equal(k3sCaHash(new TextEncoder().encode("nope")).ok, false);
  const corrupt = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
  assert.equal(caCertHash(corrupt).ok, false);
});
