/**
 * Closed switches on a standalone daemon (the real `proxscale run` process against the fake
 * cluster): by default it binds loopback only; bound to the any-address (0.0.0.0, which is not
 * loopback yet is reached here only through 127.0.0.x) its /status, /pause and /resume refuse
 * a request without the bearer token of --http-token-file with 401, accept it with the token,
 * and refuse everyone when no token file is given; /metrics, /healthz and /readyz stay open.
 * `proxscale pause` and `status` send the token from --token-file.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cli/command.ts";
import { pauseCommand, resumeCommand } from "../cli/pause.ts";
import { statusCommand } from "../cli/status.ts";
import { startPlainCluster, startRunProcess } from "./testing/run_process.ts";

async function call(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

async function cli(cmd: typeof statusCommand, args: string[]) {
  const io = captureIo();
  const code = await cmd.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/** Whether a TCP connection to host:port is accepted. */
async function accepts(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("standalone daemon: loopback by default; on 0.0.0.0 the switch needs the token, with it pauses; without a token file it stays closed", async () => {
  const cluster = await startPlainCluster(31);
  const dir = await Deno.makeTempDir({ prefix: "proxscale-http-switch-" });
  const tokenFile = `${dir}/http-token`;
  const TOKEN = "k7Qz1-switch-token-9f";
  await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
  try {
    // 1. Default: bound to 127.0.0.1 only (127.0.0.2 is loopback too, but not the bound one).
    let d = await startRunProcess(cluster, dir);
    try {
      assert.match(d.stdout(), /"http_address":"127\.0\.0\.1"/);
      assert.ok(await accepts("127.0.0.1", d.port));
      assert.equal(await accepts("127.0.0.2", d.port), false, "not bound beyond 127.0.0.1");
      const paused = await call(`http://127.0.0.1:${d.port}/pause`, { method: "POST" });
      assert.equal(paused.status, 200, paused.body);
      assert.equal(JSON.parse(paused.body).paused, true);
    } finally {
      await d.stop();
    }

    // 2. The any-address with a token file.
    d = await startRunProcess(cluster, dir, [
      "--http-address=0.0.0.0",
      `--http-token-file=${tokenFile}`,
    ]);
    try {
      const base = `http://127.0.0.1:${d.port}`;
      assert.match(d.stdout(), /"http_address":"0\.0\.0\.0"/);
      assert.ok(await accepts("127.0.0.2", d.port), "the any-address listens on every interface");
      const anon = await call(`${base}/pause`, { method: "POST" });
      assert.equal(anon.status, 401, anon.body);
      const wrong = await call(`${base}/pause`, {
        method: "POST",
        headers: { authorization: "Bearer not-the-token" },
      });
      assert.equal(wrong.status, 401);
      assert.equal((await call(`${base}/status`)).status, 401);
      assert.equal((await call(`${base}/resume`, { method: "POST" })).status, 401);
      // Still running, not paused: the refused POST changed nothing.
      const st = await call(`${base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(st.status, 200, st.body);
      assert.equal(JSON.parse(st.body).maintenance.paused, false);
      for (const path of ["/metrics", "/healthz"]) {
        const r = await call(`${base}${path}`);
        assert.equal(r.status, 200, `${path}: ${r.body}`);
        assert.ok(!r.body.includes(TOKEN));
      }
      assert.notEqual((await call(`${base}/readyz`)).status, 401);

      const withToken = await call(`${base}/pause`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(withToken.status, 200, withToken.body);
      assert.equal(JSON.parse(withToken.body).paused, true);

      // The CLI: without --token-file it is refused; with it, it resumes and pauses.
      const refused = await cli(resumeCommand, ["--url", base]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /answered 401/);
      const resumed = await cli(resumeCommand, ["--url", base, "--token-file", tokenFile]);
      assert.equal(resumed.code, 0, resumed.err);
      const pausedAgain = await cli(pauseCommand, ["--url", base, "--token-file", tokenFile]);
      assert.equal(pausedAgain.code, 0, pausedAgain.err);
      assert.match(pausedAgain.out, /^paused:/);
      const status = await cli(statusCommand, ["--url", base, "--token-file", tokenFile, "--json"]);
      assert.equal(status.code, 0, status.err);
      assert.equal(JSON.parse(status.out).maintenance.paused, true);
      const noToken = await cli(statusCommand, ["--url", base]);
      assert.equal(noToken.code, 1);
      assert.match(noToken.err, /answered 401/);
      assert.ok(!d.stdout().includes(TOKEN), "the token is never logged");
    } finally {
      await d.stop();
    }

    // 3. The any-address without a token file: closed to everyone.
    d = await startRunProcess(cluster, dir, ["--http-address=0.0.0.0"]);
    try {
      const base = `http://127.0.0.1:${d.port}`;
      const anon = await call(`${base}/pause`, { method: "POST" });
      assert.equal(anon.status, 401);
      assert.match(anon.body, /no --http-token-file/);
      const guess = await call(`${base}/pause`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(guess.status, 401);
      assert.equal((await call(`${base}/status`)).status, 401);
      assert.equal((await call(`${base}/metrics`)).status, 200);
    } finally {
      await d.stop();
    }
  } finally {
    await cluster.close();
    await Deno.remove(dir, { recursive: true });
  }
});
