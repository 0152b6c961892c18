import assert from "node:assert/strict";
import { readSecret, redact } from "./secret.ts";

const SECRET = "3f1c2d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f";

Deno.test("the token secret is read from a file, an env var or a Kubernetes Secret", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, `${SECRET}\n`);
    assert.deepEqual(await readSecret({ file: `${dir}/token` }), { ok: true, value: SECRET });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const env = await readSecret({ env: "PVE_SECRET" }, {
    getEnv: (n) => n === "PVE_SECRET" ? SECRET : undefined,
  });
  assert.deepEqual(env, { ok: true, value: SECRET });
  const kube = await readSecret(
    { secret: { namespace: "ops", name: "pve", key: "token" } },
    { readKubeSecret: (ref) => Promise.resolve(ref.key === "token" ? SECRET : undefined) },
  );
  assert.deepEqual(kube, { ok: true, value: SECRET });
});

Deno.test("a missing secret names its source and never a value", async () => {
  const missing = await readSecret({ file: "/nonexistent/proxscale-token" });
  assert.ok(!missing.ok);
  assert.match(missing.error.message, /file \/nonexistent\/proxscale-token: cannot be read/);
  const unset = await readSecret({ env: "NOPE" }, { getEnv: () => undefined });
  assert.ok(!unset.ok && /environment variable NOPE: is not set/.test(unset.error.message));
  const noReader = await readSecret({ secret: { namespace: "a", name: "b", key: "c" } });
  assert.ok(!noReader.ok && /Kubernetes Secret a\/b key c/.test(noReader.error.message));
  const empty = await readSecret({ env: "E" }, { getEnv: () => "  \n" });
  assert.ok(!empty.ok && /is empty/.test(empty.error.message));
});

Deno.test("redact scrubs the secret from any text", () => {
  assert.equal(
    redact(`Authorization: PVEAPIToken=a@pve!t=${SECRET}`, SECRET),
    "Authorization: PVEAPIToken=a@pve!t=[redacted]",
  );
});
