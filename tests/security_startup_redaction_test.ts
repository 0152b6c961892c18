/**
 * The shipped start-up path registers every secret it reads with the process-wide redaction
 * guard before anything can log: `proxscale run` (in this process) reads the PVE token secret
 * from the environment, then stops at a later start-up check (the PVE refuses the token id);
 * afterwards the guard scrubs the secret from any error text. A start that skipped the
 * registration would leave the secret readable in the described error.
 */
import assert from "node:assert/strict";
import { runCommand } from "../cli/run.ts";
import { defaultRedactor, describeError, REDACTED } from "../adapters/telemetry/redact.ts";
import { startPlainCluster, yamlConfig } from "./testing/run_process.ts";

const SECRET = "c0ffee-STARTUP-REDACTION-token-91a7";
const ENV = "PROXSCALE_STARTUP_REDACTION_TOKEN";

Deno.test("proxscale run registers the PVE token secret with the redaction guard at start-up", async () => {
  assert.ok(!defaultRedactor.contains(SECRET), "the guard does not know the secret yet");
  const cluster = await startPlainCluster(3);
  const dir = await Deno.makeTempDir();
  try {
    // The fake PVE does not know this token id: the start stops at the PVE check, after the
    // secrets were read (the secret itself is never sent anywhere that would accept it).
    const yaml = yamlConfig(cluster)
      .replace(/tokenId: "[^"]*"/, 'tokenId: "intruder@pve!nope"')
      .replace("env: PROXSCALE_PVE_TOKEN", `env: ${ENV}`);
    await Deno.writeTextFile(`${dir}/config.yaml`, yaml);
    await Deno.writeTextFile(`${dir}/kubeconfig`, cluster.kube.kubeconfig());
    Deno.env.set(ENV, SECRET);
    const errs: string[] = [];
    const code = await runCommand.run(
      [`--config=${dir}/config.yaml`, `--kubeconfig=${dir}/kubeconfig`, "--http-port=0"],
      { out: () => {}, err: (t) => errs.push(t) },
    );
    assert.equal(code, 1, errs.join("\n"));
    assert.match(errs.join("\n"), /pve/i, "it stopped at the PVE check, after reading secrets");
    assert.ok(defaultRedactor.contains(`token=${SECRET}`), "the guard knows the secret");
    const described = describeError(new Error(`PVEAPIToken=intruder@pve!nope=${SECRET}`));
    assert.ok(!described.includes(SECRET), described);
    assert.ok(described.includes(REDACTED), described);
  } finally {
    Deno.env.delete(ENV);
    await Deno.remove(dir, { recursive: true });
    await cluster.close();
  }
});
