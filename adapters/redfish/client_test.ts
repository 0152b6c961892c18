/**
 * The Redfish client against the fake BMC (fakes/fake_redfish): the contract the provider and
 * the host power code rely on, over real TLS.
 */
import { deepEqual, equal, match, ok as assert } from "node:assert/strict";
import { type FakeRedfish, startFakeRedfish } from "../../fakes/fake_redfish/server.ts";
import { CircuitBreakers } from "../proxmox/breaker.ts";
import { RedfishClient, type RedfishClientOptions } from "./client.ts";
import { findSystem, listSystems, readSystem, resetSystem, setBootOnce } from "./systems.ts";
import { ejectMedia, findCdMedia, insertMedia } from "./virtual_media.ts";

function clientFor(bmc: FakeRedfish, extra: Partial<RedfishClientOptions> = {}): RedfishClient {
  return new RedfishClient({
    endpoint: bmc.url,
    username: bmc.username,
    password: () => bmc.password,
    trust: { mode: "ca", ca: bmc.caPem },
    retry: { attempts: 3, baseMs: 1, maxMs: 5 },
    taskPollMs: 20,
    ...extra,
  });
}

async function until(
  what: string,
  f: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withBmc(
  opts: Parameters<typeof startFakeRedfish>[0],
  fn: (bmc: FakeRedfish) => Promise<void>,
): Promise<void> {
  const bmc = await startFakeRedfish(opts);
  try {
    await fn(bmc);
  } finally {
    await bmc.close();
  }
}

Deno.test("the client discovers Systems through the service root and logs in with a session token", async () => {
  await withBmc({ systems: [{ cpus: 32, memoryGiB: 128 }, {}] }, async (bmc) => {
    const c = clientFor(bmc);
    const paths = await listSystems(c);
    assert(paths.ok);
    equal(paths.value.length, 2);
    const s = await readSystem(c, paths.value[0]!);
    assert(s.ok);
    equal(s.value.cpus, 32);
    equal(s.value.memoryGiB, 128);
    equal(s.value.powerState, "Off");
    equal(s.value.uuid, bmc.model.system("node1")!.uuid);
    equal(c.authMode, "session");
    const authed = bmc.requests.filter((r) => r.path.includes("/Systems"));
    assert(authed.every((r) => r.auth === "session"), "every Systems request carries X-Auth-Token");
    equal(bmc.sessions.sessions.size, 1);
    await c.close();
    equal(bmc.sessions.sessions.size, 0, "close logs the session out");
  });
});

Deno.test("a pinned fingerprint is trusted, a wrong pin is refused before any credential is sent", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const good = clientFor(bmc, {
      trust: { mode: "fingerprint", fingerprints: [bmc.fingerprint] },
    });
    assert((await listSystems(good)).ok);
    await good.close();
    const seen = bmc.requests.length;
    const bad = clientFor(bmc, {
      trust: { mode: "fingerprint", fingerprints: ["AB:".repeat(31) + "AB"] },
    });
    const r = await listSystems(bad);
    assert(!r.ok);
    equal(r.error.kind, "tls");
    equal(bmc.requests.length, seen, "the fake saw no request");
    await bad.close();
  });
});

Deno.test("without a SessionService the client falls back to HTTP Basic", async () => {
  await withBmc({ systems: 1, sessions: false }, async (bmc) => {
    const c = clientFor(bmc);
    assert((await findSystem(c, "node1")).ok);
    equal(c.authMode, "basic");
    assert(bmc.requests.filter((r) => r.path.includes("Systems")).every((r) => r.auth === "basic"));
    await c.close();
  });
});

Deno.test("an expired session is replaced by a new login and the call succeeds", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const c = clientFor(bmc);
    assert((await findSystem(c, "node1")).ok);
    bmc.sessions.expireAll();
    const again = await findSystem(c, "node1");
    assert(again.ok);
    equal(
      bmc.requests.filter((r) => r.path.endsWith("/Sessions") && r.method === "POST").length,
      2,
    );
    await c.close();
  });
});

Deno.test("a wrong password is an auth error carrying the BMC's message", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const c = clientFor(bmc, { password: () => "wrong" });
    const r = await listSystems(c);
    assert(!r.ok);
    equal(r.error.kind, "auth");
    match(r.error.message, /user name or password is not valid/);
    await c.close();
  });
});

Deno.test("a read-only account may read but its Reset is refused with InsufficientPrivilege", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const c = clientFor(bmc, { username: "viewer", password: () => "viewer" });
    const s = await findSystem(c, "node1");
    assert(s.ok);
    const r = await resetSystem(c, s.value, "On");
    assert(!r.ok);
    equal(r.error.kind, "permission");
    equal(r.error.permanent, true);
    deepEqual(r.error.messageIds, ["Base.1.8.InsufficientPrivilege"]);
    equal(bmc.model.system("node1")!.powerState, "Off");
    await c.close();
  });
});

Deno.test("power on takes time (PoweringOn, then On); a second On is refused; ForceOff is immediate", async () => {
  await withBmc({ systems: 1, model: { powerOnDelayMs: 200 } }, async (bmc) => {
    const c = clientFor(bmc);
    const s = await findSystem(c, "node1");
    assert(s.ok);
    assert((await resetSystem(c, s.value, "On")).ok);
    const mid = await readSystem(c, s.value.path);
    assert(mid.ok);
    equal(mid.value.powerState, "PoweringOn");
    await until("On", async () => {
      const r = await readSystem(c, s.value.path);
      return r.ok && r.value.powerState === "On";
    });
    const twice = await resetSystem(c, s.value, "On");
    assert(!twice.ok);
    equal(twice.error.kind, "conflict");
    match(twice.error.message, /already powered on/);
    assert((await resetSystem(c, s.value, "ForceOff")).ok);
    const off = await readSystem(c, s.value.path);
    assert(off.ok);
    equal(off.value.powerState, "Off");
    await c.close();
  });
});

Deno.test("a one-time CD boot override is honoured at the next power-on only", async () => {
  await withBmc({ systems: 1, model: { powerOnDelayMs: 50 } }, async (bmc) => {
    const c = clientFor(bmc);
    const s = await findSystem(c, "node1");
    assert(s.ok);
    bmc.model.patchBoot("node1", { BootSourceOverrideTarget: "None" }); // ETag moves on
    assert((await setBootOnce(c, s.value, "Cd")).ok, "a stale ETag is re-read and retried once");
    const patched = bmc.requests.filter((r) => r.method === "PATCH").map((r) => r.status);
    deepEqual(patched, [412, 204]);
    assert((await resetSystem(c, s.value, "On")).ok);
    await until("booted", () => bmc.model.system("node1")!.powerState === "On");
    equal(bmc.model.system("node1")!.bootedFrom, "Cd");
    const after = await readSystem(c, s.value.path);
    assert(after.ok);
    equal(after.value.boot.enabled, "Disabled");
    assert((await resetSystem(c, after.value, "ForceRestart")).ok);
    await until("rebooted", () => bmc.model.system("node1")!.boots === 2);
    equal(bmc.model.system("node1")!.bootedFrom, "Hdd");
    await c.close();
  });
});

Deno.test("InsertMedia runs as a Task the client follows; the BMC fetched the image once; EjectMedia empties the slot", async () => {
  const iso = new Uint8Array([1, 2, 3, 4, 5]);
  let hits = 0;
  const img = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    hits++;
    return new Response(iso);
  });
  try {
    await withBmc({ systems: 1, model: { taskDelayMs: 100 } }, async (bmc) => {
      const c = clientFor(bmc);
      const s = await findSystem(c, "node1");
      assert(s.ok);
      const cd = await findCdMedia(c, s.value);
      assert(cd.ok);
      const url = `http://127.0.0.1:${img.addr.port}/seed.iso?t=1`;
      assert((await insertMedia(c, cd.value, url)).ok);
      assert(bmc.requests.some((r) => r.path.includes("/TaskService/Tasks/") && r.status === 202));
      const m = bmc.model.system("node1")!.media;
      equal(m.inserted, true);
      equal(m.fetches.length, 1);
      deepEqual([...m.fetches[0]!.bytes], [...iso]);
      equal(hits, 1);
      const now = await findCdMedia(c, s.value);
      assert(now.ok);
      equal(now.value.image, url);
      assert((await ejectMedia(c, now.value)).ok);
      equal(bmc.model.system("node1")!.media.inserted, false);
      await c.close();
    });
  } finally {
    await img.shutdown();
  }
});

Deno.test("an image the BMC cannot fetch fails the insert task with the BMC's message", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const c = clientFor(bmc);
    const s = await findSystem(c, "node1");
    assert(s.ok);
    const cd = await findCdMedia(c, s.value);
    assert(cd.ok);
    const r = await insertMedia(c, cd.value, "http://127.0.0.1:1/none.iso");
    assert(!r.ok);
    equal(r.error.kind, "taskFailed");
    match(r.error.message, /could not be read/);
    await c.close();
  });
});

Deno.test("a slow task past its deadline is a taskDeadline failure", async () => {
  const img = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response("x"),
  );
  try {
    await withBmc({ systems: 1 }, async (bmc) => {
      bmc.faults.slowTaskMs = 2000;
      const c = clientFor(bmc, { taskDeadlineMs: 150 });
      const s = await findSystem(c, "node1");
      assert(s.ok);
      const cd = await findCdMedia(c, s.value);
      assert(cd.ok);
      const r = await insertMedia(c, cd.value, `http://127.0.0.1:${img.addr.port}/a.iso`);
      assert(!r.ok);
      equal(r.error.kind, "taskDeadline");
      await c.close();
    });
  } finally {
    await img.shutdown();
  }
});

Deno.test("a transient 5xx is retried for reads; a BMC that keeps failing opens its breaker", async () => {
  await withBmc({ systems: 1 }, async (bmc) => {
    const c = clientFor(bmc);
    assert((await findSystem(c, "node1")).ok);
    bmc.faults.failNext(1, 500, { pathPrefix: "/redfish/v1/Systems" });
    assert((await findSystem(c, "node1")).ok, "one 500 is retried");
    let t = 0;
    const breakers = new CircuitBreakers({ failureThreshold: 3, cooldownMs: 60_000, now: () => t });
    const c2 = clientFor(bmc, { breakers, now: () => t });
    bmc.faults.failNext(100, 503);
    const r = await listSystems(c2);
    assert(!r.ok);
    equal(r.error.kind, "server");
    match(r.error.message, /internal service error/);
    const seen = bmc.requests.length;
    const r2 = await listSystems(c2);
    assert(!r2.ok);
    equal(r2.error.kind, "circuitOpen");
    equal(bmc.requests.length, seen, "an open breaker sends nothing");
    assert(c2.unhealthy);
    t += 61_000;
    bmc.faults.clear();
    assert((await listSystems(c2)).ok, "after the cooldown a probe goes out and closes it");
    await c.close();
    await c2.close();
  });
});
