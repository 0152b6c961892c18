import assert from "node:assert/strict";
import { createHealthState } from "../adapters/telemetry/health.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import { createRedactor } from "../adapters/telemetry/redact.ts";
import { parsePrometheus, sampleValue } from "../adapters/telemetry/testing/prometheus_text.ts";
import { httpHandler, type HttpServerOptions, isLoopbackHost, startHttpServer } from "./http.ts";

async function serve(opts: HttpServerOptions, fn: (base: string) => Promise<void>) {
  const server = await startHttpServer({ hostname: "127.0.0.1", port: 0, ...opts });
  try {
    await fn(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.shutdown();
  }
}

async function get(url: string) {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

Deno.test("/metrics is scraped over a socket with names, labels and values", async () => {
  const metrics = createMetrics({ redactor: createRedactor() });
  metrics.claimLaunched("general", "PodsPending");
  metrics.setPoolUsage("general", { cpu: 4000, memory: 8 * 1024 ** 3, nodes: 1 }, { cpu: 16_000 });
  metrics.observeProviderRequest("POST /nodes/pve1/qemu/9000/clone", 200, 250);
  metrics.setQueueJobs({ active: 1 });
  metrics.setLeader(true);
  const health = createHealthState({ now: () => 0, maxTickAgeMs: 30_000 });
  await serve({
    metrics,
    health,
    extraMetrics: () => 'bullmq_job_count{queue="proxscale",state="waiting"} 2\n',
  }, async (base) => {
    const r = await get(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    const s = parsePrometheus(r.body);
    assert.equal(
      sampleValue(s, "proxscale_nodeclaims_created_total", {
        nodepool: "general",
        reason: "PodsPending",
      }),
      1,
    );
    assert.equal(sampleValue(s, "proxscale_nodepool_usage", { resource: "cpu" }), 4);
    assert.equal(sampleValue(s, "proxscale_nodepool_limit", { resource: "cpu" }), 16);
    assert.equal(
      sampleValue(s, "proxscale_provider_request_duration_seconds_sum", {
        endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
        code: "200",
      }),
      0.25,
    );
    assert.equal(sampleValue(s, "proxscale_queue_jobs", { state: "active" }), 1);
    assert.equal(sampleValue(s, "proxscale_leader"), 1);
    assert.equal(sampleValue(s, "bullmq_job_count", { state: "waiting" }), 2);
  });
  await metrics.shutdown();
});

Deno.test("/healthz fails when the loop stops ticking and recovers on the next tick", async () => {
  let now = 1_000_000;
  const health = createHealthState({ now: () => now, maxTickAgeMs: 30_000 });
  const metrics = createMetrics({ redactor: createRedactor() });
  await serve({ metrics, health }, async (base) => {
    assert.equal((await get(`${base}/healthz`)).status, 200, "grace period after start");
    now += 31_000;
    const dead = await get(`${base}/healthz`);
    assert.equal(dead.status, 503);
    assert.match(dead.body, /^\[-\]loop started, no loop tick yet, 31s ago \(limit 30s\)/);
    health.tick();
    now += 10_000;
    const alive = await get(`${base}/healthz`);
    assert.equal(alive.status, 200);
    assert.match(alive.body, /\[\+\]loop last loop tick 10s ago/);
  });
  await metrics.shutdown();
});

Deno.test("/readyz is ready only when caches are synced and PVE is reachable", async () => {
  const health = createHealthState({ now: () => 0, maxTickAgeMs: 30_000 });
  const metrics = createMetrics({ redactor: createRedactor() });
  await serve({ metrics, health }, async (base) => {
    const cold = await get(`${base}/readyz`);
    assert.equal(cold.status, 503);
    assert.match(cold.body, /\[-\]caches/);
    assert.match(cold.body, /\[-\]pve/);
    health.setCachesSynced(true);
    assert.equal((await get(`${base}/readyz`)).status, 503, "PVE still unreachable");
    health.setPveReachable(true);
    const ready = await get(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body, "[+]caches synced\n[+]pve reachable\nok\n");
    health.setPveReachable(false, "connect ECONNREFUSED 10.0.0.5:8006");
    const lost = await get(`${base}/readyz`);
    assert.equal(lost.status, 503);
    assert.match(lost.body, /\[-\]pve connect ECONNREFUSED/);
  });
  await metrics.shutdown();
});

Deno.test("unknown paths are 404, writes are 405, a failing collect is a scrubbed 500", async () => {
  const redactor = createRedactor();
  redactor.registerSecret("hunter2-redis-password");
  const errors: string[] = [];
  await serve({
    metrics: {
      collect: () => Promise.reject(new Error("redis AUTH hunter2-redis-password rejected")),
    },
    health: {
      liveness: () => ({ name: "loop", ok: true, detail: "" }),
      readiness: () => [{ name: "redis", ok: false, detail: "auth hunter2-redis-password" }],
    },
    redactor,
    onError: (msg) => errors.push(msg),
  }, async (base) => {
    assert.equal((await get(`${base}/nope`)).status, 404);
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
    const m = await get(`${base}/metrics`);
    assert.equal(m.status, 500);
    assert.equal(m.body, "metrics collection failed: Error: redis AUTH <redacted> rejected\n");
    const r = await get(`${base}/readyz`);
    assert.ok(!r.body.includes("hunter2"), r.body);
  });
  assert.deepEqual(errors, ["metrics collection failed"]);
});

Deno.test("status and switch routes: open on loopback, token-only beyond it, closed without a token; probes and metrics always open", async () => {
  const health = {
    liveness: () => ({ name: "loop", ok: true, detail: "" }),
    readiness: () => [{ name: "caches", ok: true, detail: "" }],
  };
  const routes = {
    "/status": () => new Response("{}"),
    "/pause": (req: Request) =>
      new Response(req.method === "POST" ? "paused" : "state", { status: 200 }),
  };
  const metrics = { collect: () => Promise.resolve("# none\n") };
  const cases: {
    hostname: string;
    token?: string;
    auth?: string;
    want: number;
  }[] = [
    { hostname: "127.0.0.1", want: 200 },
    { hostname: "127.0.0.1", token: "s3cret", want: 401 },
    { hostname: "127.0.0.1", token: "s3cret", auth: "Bearer s3cret", want: 200 },
    { hostname: "::1", want: 200 },
    { hostname: "0.0.0.0", want: 401 },
    { hostname: "0.0.0.0", auth: "Bearer anything", want: 401 },
    { hostname: "0.0.0.0", token: "s3cret", want: 401 },
    { hostname: "0.0.0.0", token: "s3cret", auth: "Bearer wrong!", want: 401 },
    { hostname: "0.0.0.0", token: "s3cret", auth: "Bearer s3cre", want: 401 },
    { hostname: "0.0.0.0", token: "s3cret", auth: "Basic s3cret", want: 401 },
    { hostname: "0.0.0.0", token: "s3cret", auth: "Bearer s3cret", want: 200 },
    { hostname: "::", token: "s3cret", want: 401 },
  ];
  for (const c of cases) {
    const handler = httpHandler({
      hostname: c.hostname,
      ...(c.token ? { routeToken: c.token } : {}),
      metrics,
      health,
      routes,
    });
    const headers: Record<string, string> = c.auth ? { authorization: c.auth } : {};
    const asked: [string, string][] = [["POST", "/pause"], ["GET", "/pause"], ["GET", "/status"]];
    for (const [method, path] of asked) {
      const res = await handler(new Request(`http://x${path}`, { method, headers }));
      const body = await res.text();
      assert.equal(res.status, c.want, `${method} ${path} ${JSON.stringify(c)}: ${body}`);
      if (c.want === 401) {
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="proxscale"');
        assert.ok(!body.includes("s3cret"), body);
      }
    }
    for (const path of ["/metrics", "/healthz", "/readyz"]) {
      const res = await handler(new Request(`http://x${path}`));
      await res.body?.cancel();
      assert.equal(res.status, 200, `${path} ${JSON.stringify(c)}`);
    }
  }
});

Deno.test("loopback is 127.0.0.0/8 and ::1; the any-address is not", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "::ffff:10.0.0.1", "128.0.0.1"]) {
    assert.ok(!isLoopbackHost(h), h);
  }
});

Deno.test("the server binds loopback unless told otherwise", async () => {
  const server = await startHttpServer({
    port: 0,
    metrics: { collect: () => Promise.resolve("") },
    health: {
      liveness: () => ({ name: "loop", ok: true, detail: "" }),
      readiness: () => [],
    },
  });
  try {
    assert.equal(server.hostname, "127.0.0.1");
  } finally {
    await server.shutdown();
  }
});
