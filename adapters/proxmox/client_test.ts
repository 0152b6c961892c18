import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { connectPveClient, PveClient, type PveClientOptions } from "./client.ts";
import { sendJson, startTestServer, testCerts, type TestServer } from "./testing/tls_fixture.ts";
import type { Handler } from "./testing/tls_fixture.ts";

const SECRET = "3f1c2d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f";
const UPID = "UPID:pve1:0002F3A1:01C4D5E6:6650A1B2:qmstart:101:proxscale@pve!test:";

async function withServer(
  handler: Handler,
  body: (srv: TestServer, client: (o?: Partial<PveClientOptions>) => PveClient) => Promise<void>,
): Promise<void> {
  const { a } = await testCerts();
  const srv = await startTestServer(a, handler);
  const clients: PveClient[] = [];
  try {
    await body(srv, (o = {}) => {
      const c = new PveClient({
        endpoint: srv.url,
        tokenId: "proxscale@pve!test",
        tokenSecret: SECRET,
        tls: { fingerprint: a.fingerprint },
        timeoutMs: 2000,
        retry: { attempts: 3, baseMs: 1, maxMs: 5 },
        task: { pollMinMs: 1, pollMaxMs: 5, deadlineMs: 2000 },
        ...o,
      });
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
}

const ok = (res: ServerResponse, data: unknown) => sendJson(res, 200, "OK", { data });

Deno.test("a PVE error reads the reason phrase when the body has no message (PVE < 8.3)", async () => {
  await withServer(
    (_q, res) => sendJson(res, 500, "VM 101 is running - destroy failed", { data: null }),
    async (_s, mk) => {
      const r = await mk().deleteVm("pve1", 101);
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "vmRunning");
      assert.equal(r.error.status, 500);
      assert.equal(r.error.endpoint, "DELETE /nodes/pve1/qemu/101");
      assert.equal(r.error.pveMessage, "VM 101 is running - destroy failed");
    },
  );
});

Deno.test("a 400 carries the errors map and is classified by its text", async () => {
  await withServer((_q, res) =>
    sendJson(res, 400, "Parameter verification failed.", {
      data: null,
      errors: { vmid: "VM 218 already exists" },
      message: "Parameter verification failed.\n",
    }), async (_s, mk) => {
    const r = await mk().nextid(218);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "alreadyExists");
    assert.deepEqual(r.error.errors, { vmid: "VM 218 already exists" });
    assert.match(
      r.error.message,
      /GET \/cluster\/nextid failed: 400 Parameter verification failed\. \(vmid: VM 218 already exists\)/,
    );
  });
});

Deno.test("lock timeouts, locks, quorum and missing VMs get their own kinds", async () => {
  const texts: [string, string][] = [
    ["can't lock file '/var/lock/qemu-server/lock-203.conf' - got timeout", "lockTimeout"],
    ["VM is locked (clone)", "locked"],
    ["cluster not ready - no quorum?", "noQuorum"],
    ["Configuration file 'nodes/pve1/qemu-server/117.conf' does not exist", "notFound"],
  ];
  let i = 0;
  await withServer((_q, res) => {
    const [text] = texts[i++ % texts.length]!;
    sendJson(res, 500, text, { data: null, message: `${text}\n` });
  }, async (_s, mk) => {
    const c = mk({ retry: { attempts: 1, baseMs: 1, maxMs: 1 } });
    for (const [, kind] of texts) {
      const r = await c.vmConfig("pve1", 117);
      assert.ok(!r.ok);
      assert.equal(r.error.kind, kind);
    }
  });
});

Deno.test("malformed answers become typed errors naming the endpoint", async () => {
  const cases: [string, (res: ServerResponse) => void, RegExp][] = [
    ["non-JSON", (res) => {
      res.writeHead(200, "OK", { "Content-Type": "text/html", "Content-Length": "15" });
      res.end("<html>hi</html>");
    }, /not JSON/],
    ["missing data", (res) => sendJson(res, 200, "OK", { result: "100" }), /no "data" envelope/],
    ["wrong types", (res) => ok(res, { vmid: "one hundred" }), /unexpected response/],
    ["truncated", (res) => {
      res.writeHead(200, "OK", { "Content-Type": "application/json", "Content-Length": "100" });
      res.write('{"data":"1');
      setTimeout(() => res.socket?.destroy(), 5);
    }, /truncated response/],
    ["reset", (res) => res.socket?.destroy(), /connection failed/],
  ];
  let current = cases[0]![1];
  await withServer((_q, res) => current(res), async (srv, mk) => {
    const c = mk({ retry: { attempts: 1, baseMs: 1, maxMs: 1 } });
    for (const [name, handler, pattern] of cases) {
      current = handler;
      const r = await c.nextid();
      assert.ok(!r.ok, name);
      assert.equal(r.error.endpoint, "GET /cluster/nextid", name);
      assert.match(r.error.message, /GET \/cluster\/nextid/, name);
      assert.match(r.error.message, pattern, name);
      assert.ok(!r.error.message.includes(SECRET), name);
    }
    assert.equal(srv.seen.length, cases.length);
  });
});

Deno.test("wrong value types deep in a listing are caught with their path", async () => {
  await withServer(
    (_q, res) =>
      ok(res, [
        { type: "qemu", vmid: 101, node: "pve1" },
        { type: "qemu", vmid: "x", node: "pve1" },
        {
          type: "sdn",
          sdn: "z",
        },
      ]),
    async (_s, mk) => {
      const r = await mk({ retry: { attempts: 1, baseMs: 1, maxMs: 1 } }).resourcesVm();
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "malformed");
      assert.match(r.error.message, /GET \/cluster\/resources.*data\[1\]/);
    },
  );
});

Deno.test("a server that never answers times out instead of hanging", async () => {
  await withServer(() => {/* never answers */}, async (_s, mk) => {
    const r = await mk({ timeoutMs: 100, retry: { attempts: 1, baseMs: 1, maxMs: 1 } }).version();
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "timeout");
    assert.match(r.error.message, /GET \/version: no complete answer within 100 ms/);
  });
});

Deno.test("GET is retried with backoff after a 5xx; POST create is sent exactly once", async () => {
  let n = 0;
  await withServer((req, res) => {
    n++;
    if (req.method === "GET" && n < 3) {
      return sendJson(res, 503, "Service Unavailable", { data: null });
    }
    if (req.method === "POST") return sendJson(res, 502, "Bad Gateway", { data: null });
    ok(res, { version: "8.4.1", release: "8.4" });
  }, async (srv, mk) => {
    const events: string[] = [];
    const c = mk({
      observe: (e) => events.push(`${e.endpoint} #${e.attempt} ${e.status} ${e.kind ?? ""}`),
    });
    const v = await c.version();
    assert.ok(v.ok && v.value.version === "8.4.1");
    assert.equal(srv.seen.filter((s) => s.method === "GET").length, 3);
    assert.deepEqual(events, [
      "GET /version #1 503 transient",
      "GET /version #2 503 transient",
      "GET /version #3 200 ",
    ]);
    const created = await c.createVm("pve1", { vmid: 1000, name: "a" });
    assert.ok(!created.ok);
    assert.equal(created.error.kind, "transient");
    assert.equal(created.error.ambiguous, true, "a 5xx on create may have been carried out");
    assert.equal(srv.seen.filter((s) => s.method === "POST").length, 1);
  });
});

Deno.test("PUT config is retried only when guarded by a digest", async () => {
  await withServer((_q, res) => res.socket?.destroy(), async (srv, mk) => {
    const c = mk();
    const guarded = await c.updateConfig("pve1", 101, { cores: 2, digest: "abc" });
    assert.ok(!guarded.ok);
    assert.equal(srv.seen.length, 3);
    const unguarded = await c.updateConfig("pve1", 101, { cores: 2 });
    assert.ok(!unguarded.ok);
    assert.equal(srv.seen.length, 4);
  });
});

Deno.test("the circuit breaker opens per host after repeated failures and answers at once", async () => {
  await withServer((req, res) => {
    if (req.url?.includes("/nodes/pve2/")) return ok(res, []);
    sendJson(res, 595, "No route to host", { data: null });
  }, async (srv, mk) => {
    let now = 1_000_000;
    const c = mk({
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
      breaker: { failureThreshold: 3, cooldownMs: 10_000 },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      const r = await c.qemuList("pve1");
      assert.ok(!r.ok && r.error.kind === "nodeUnreachable");
    }
    const blocked = await c.qemuList("pve1");
    assert.ok(!blocked.ok && blocked.error.kind === "circuitOpen");
    assert.match(blocked.error.message, /circuit breaker for host pve1 is open/);
    assert.equal(srv.seen.length, 3);
    assert.ok(c.hostTripped("pve1"));
    assert.ok((await c.qemuList("pve2")).ok, "another host is unaffected");
    now += 10_001;
    const probe = await c.qemuList("pve1");
    assert.ok(!probe.ok && probe.error.kind === "nodeUnreachable", "one probe after the cooldown");
  });
});

Deno.test("a wrong token gives a clear auth error without the secret", async () => {
  await withServer((_q, res) => {
    res.writeHead(401, "Authentication failed!", { Connection: "close" });
    res.end();
  }, async (srv, mk) => {
    const r = await mk().version();
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "auth");
    assert.equal(r.error.status, 401);
    assert.match(r.error.message, /401 Authentication failed!.*token id or secret was rejected/);
    assert.ok(!JSON.stringify(r.error).includes(SECRET));
    assert.equal(srv.seen.length, 1, "auth failures are not retried");
    assert.equal(srv.seen[0]?.authorization, `PVEAPIToken=proxscale@pve!test=${SECRET}`);
  });
});

Deno.test("a wrong pinned fingerprint refuses TLS, names both, and sends no credentials", async () => {
  const { a, b } = await testCerts();
  await withServer((_q, res) => ok(res, { version: "8.4.1" }), async (srv, mk) => {
    const r = await mk({ tls: { fingerprint: b.fingerprint } }).version();
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "tls");
    assert.ok(r.error.message.includes(a.fingerprint), "names the server's fingerprint");
    assert.ok(r.error.message.includes(b.fingerprint), "names the pinned fingerprint");
    assert.equal(srv.seen.length, 0, "no request reached the server");
    const lower = await mk({ tls: { fingerprint: [b.fingerprint, a.fingerprint.toLowerCase()] } })
      .version();
    assert.ok(lower.ok, "a list of pins, compared case-insensitively");
  });
});

Deno.test("CA mode verifies the chain; default mode refuses a private CA; insecure warns", async () => {
  const { a, b } = await testCerts();
  await withServer((_q, res) => ok(res, { version: "8.4.1" }), async (srv, mk) => {
    assert.ok((await mk({ tls: { caPem: a.caPem } }).version()).ok);
    const wrongCa = await mk({ tls: { caPem: b.cert } }).version();
    assert.ok(!wrongCa.ok && wrongCa.error.kind === "tls", JSON.stringify(wrongCa));
    const system = await mk({ tls: {} }).version();
    assert.ok(!system.ok && system.error.kind === "tls");
    const warnings: string[] = [];
    const insecure = mk({ tls: { insecureSkipVerify: true }, warn: (m) => warnings.push(m) });
    assert.ok((await insecure.version()).ok);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /TLS verification is off/);
    assert.equal(srv.seen.length, 2, "refused connections never sent a request");
  });
});

Deno.test("tasks are awaited by UPID: OK and WARNINGS succeed, other exits are typed", async () => {
  let polls = 0;
  let exit = "OK";
  await withServer((req, res) => {
    if (req.method === "POST") return ok(res, UPID);
    polls++;
    if (polls % 3 !== 0) return ok(res, { status: "running", upid: UPID });
    ok(res, { status: "stopped", exitstatus: exit, upid: UPID });
  }, async (srv, mk) => {
    const c = mk();
    const started = await c.runTask(c.power("pve1", 101, "start"), "POST start");
    assert.ok(started.ok && started.value.exitstatus === "OK");
    assert.ok(srv.seen.some((s) => s.url.startsWith("/api2/json/nodes/pve1/tasks/UPID%3Apve1")));
    exit = "WARNINGS: 2";
    assert.ok((await c.waitTask(UPID)).ok);
    exit = "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout";
    const failed = await c.waitTask(UPID, { endpoint: "POST start" });
    assert.ok(!failed.ok);
    assert.equal(failed.error.kind, "lockTimeout");
    assert.equal(failed.error.upid, UPID);
    exit = "something odd";
    const odd = await c.waitTask(UPID);
    assert.ok(!odd.ok && odd.error.kind === "taskFailed");
  });
});

Deno.test("a task past its deadline is reported with its UPID, not as failed", async () => {
  await withServer((_q, res) => ok(res, { status: "running" }), async (_s, mk) => {
    const r = await mk().waitTask(UPID, { deadlineMs: 30 });
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "taskDeadline");
    assert.equal(r.error.upid, UPID);
  });
});

Deno.test("form bodies escape = ; & + and send booleans as 1/0", async () => {
  let body = "";
  await withServer((_q, res, b) => {
    body = b;
    ok(res, null);
  }, async (_s, mk) => {
    const r = await mk().updateConfig("pve1", 101, {
      ipconfig0: "ip=dhcp",
      tags: "a;b",
      description: "x+y & z",
      onboot: true,
      digest: "d",
    });
    assert.ok(r.ok);
    const p = new URLSearchParams(body);
    assert.equal(p.get("ipconfig0"), "ip=dhcp");
    assert.equal(p.get("tags"), "a;b");
    assert.equal(p.get("description"), "x+y & z");
    assert.equal(p.get("onboot"), "1");
    assert.ok(!/[;]|ip=dhcp/.test(body), "no raw ; or = inside values");
  });
});

Deno.test("a client built from a Provider reads its secret from the named source", async () => {
  const { a } = await testCerts();
  const srv = await startTestServer(a, (_q, res) => ok(res, { version: "8.4.1" }));
  const provider = {
    name: "lab",
    endpoint: srv.url,
    tokenId: "proxscale@pve!test",
    tokenSecret: { env: "PVE_TOKEN" },
    tls: { fingerprint: a.fingerprint, insecureSkipVerify: false },
    hosts: [],
    vmidRange: { lower: 100, upper: 200 },
    managedTag: "proxscale",
    placement: "leastAllocated" as const,
  };
  try {
    const missing = await connectPveClient(provider, { getEnv: () => undefined });
    assert.ok(
      !missing.ok && /environment variable PVE_TOKEN: is not set/.test(missing.error.message),
    );
    const c = await connectPveClient(provider, { getEnv: () => SECRET });
    assert.ok(c.ok);
    try {
      assert.ok((await c.value.version()).ok);
      assert.equal(srv.seen[0]?.authorization, `PVEAPIToken=proxscale@pve!test=${SECRET}`);
    } finally {
      c.value.close();
    }
  } finally {
    await srv.close();
  }
});

Deno.test("a peer that never completes the TLS handshake times out, typed, without leaks", async () => {
  const net = await import("node:net");
  const held = new Set<import("node:net").Socket>();
  const server = net.createServer((s) => {
    held.add(s);
    s.on("error", () => {});
    s.on("close", () => held.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const c = new PveClient({
    endpoint: `https://127.0.0.1:${port}`,
    tokenId: "proxscale@pve!test",
    tokenSecret: SECRET,
    tls: { fingerprint: "AA:".repeat(31) + "AA" },
    timeoutMs: 150,
    retry: { attempts: 1, baseMs: 1, maxMs: 1 },
  });
  try {
    const r = await c.version();
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "timeout");
    assert.equal(r.error.ambiguous, false, "nothing was sent");
  } finally {
    c.close();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
