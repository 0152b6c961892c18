import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { fakeClusterCommandWith } from "./fake_cluster.ts";
import { redfishChecks } from "./diagnose_redfish.ts";
import { loadConfigFile } from "../adapters/config/load.ts";

Deno.test("fake-cluster --bare-metal serves a fake BMC and writes a Redfish Provider that diagnose passes", async () => {
  const dir = await Deno.makeTempDir();
  const io = captureIo();
  let stop = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  const done = fakeClusterCommandWith(() => stopped).run([
    "--kubeconfig",
    `${dir}/kc`,
    "--port",
    "0",
    "--pve-port",
    "0",
    "--hosts",
    "1",
    "--bare-metal",
    "2",
    "--write-config",
    `${dir}/ps.yaml`,
  ], io);
  try {
    while (io.stdout.length === 0 && io.stderr.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(
      io.stdout.join("\n"),
      /^redfish bmc: +https:\/\/127\.0\.0\.1:\d+ .*2 machines$/m,
      io.stderr.join("\n"),
    );
    const cfg = await loadConfigFile(`${dir}/ps.yaml`);
    assert.ok(cfg.ok, cfg.ok ? "" : JSON.stringify(cfg.error));
    const metal = cfg.value.providers.find((p) => p.name === "metal")!;
    assert.equal(metal.kind, "redfish");
    assert.deepEqual(metal.hosts.map((h) => h.name), ["metal-1", "metal-2"]);
    assert.ok(cfg.value.nodePools.some((p) => p.machineTemplate === "metal"));
    const checks = await redfishChecks(metal);
    assert.equal(checks.length, 8);
    assert.deepEqual(checks.filter((c) => !c.ok), []);
  } finally {
    stop();
    assert.equal(await done, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fake-cluster refuses a bad --bare-metal count", async () => {
  const io = captureIo();
  const code = await fakeClusterCommandWith(() => Promise.resolve()).run(
    ["--kubeconfig", "/nonexistent/kc", "--bare-metal", "65"],
    io,
  );
  assert.equal(code, 2);
  assert.match(io.stderr.join("\n"), /--bare-metal must be an integer/);
});
