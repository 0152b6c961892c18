import assert from "node:assert/strict";
import { parse } from "yaml";
import { captureIo } from "./command.ts";
import { fakeKubeCommandWith } from "./fake_kube.ts";

Deno.test("fake-kube writes a kubeconfig that reaches the running server, then stops cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/kubeconfig`;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  let reached = 0;
  const io = captureIo();
  const running = fakeKubeCommandWith(async () => {
    const cfg = parse(await Deno.readTextFile(file));
    const server = cfg.clusters[0].cluster.server as string;
    assert.equal(cfg.clusters[0].cluster["insecure-skip-tls-verify"], true);
    const res = await fetch(`${server}/api/v1/namespaces/default`, {
      headers: { authorization: `Bearer ${cfg.users[0].user.token}` },
    });
    reached = res.status;
    await res.body?.cancel();
    stop();
    await stopped;
  }).run(["--port", "0", "--http", "--kubeconfig", file, "--seed", "3"], io);
  assert.equal(await running, 0);
  assert.equal(reached, 200);
  assert.match(
    io.stderr.join("\n"),
    /fake-kube: serving http:\/\/127\.0\.0\.1:\d+; kubeconfig written to/,
  );
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fake-kube rejects a bad port with exit code 2", async () => {
  const io = captureIo();
  const code = await fakeKubeCommandWith(() => Promise.resolve()).run(["--port", "x"], io);
  assert.equal(code, 2);
  assert.match(io.stderr.join("\n"), /--port must be 0-65535/);
});
