import assert from "node:assert/strict";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { LeaderElector } from "../adapters/kubernetes/leader_elector.ts";
import type { LeaderConfig } from "../core/leader.ts";
import { type FrontDoor, startFrontDoor } from "./front_door.ts";
import { startFakeKubeThread } from "./testing/fake_kube_thread.ts";

/** Short timings with the defaults' ratios (15 s / 10 s / 2 s). */
const cfg: LeaderConfig = {
  leaseDuration: 2000,
  renewDeadline: 1500,
  retryPeriod: 250,
  jitterFactor: 1.2,
};

/** Keeps this thread busy, as a long decision does: no timer, no message, no socket runs. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* deciding */ }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Polls /healthz from a thread of its own and writes each answer's arrival time (epoch ms) and
 * latency into shared memory, so the answers that came while this thread was busy can be read.
 */
function startProber(
  port: number,
): { arrivals(): { at: number; ms: number; status: number }[]; stop(): void } {
  const shared = new SharedArrayBuffer(8 * 3 * 2000);
  const view = new Float64Array(shared);
  const code = `
    self.onmessage = async (e) => {
      const { port, shared } = e.data;
      const view = new Float64Array(shared);
      for (let i = 0; i < 2000; i++) {
        const t0 = Date.now();
        const r = await fetch("http://127.0.0.1:" + port + "/healthz");
        await r.text();
        view[3 * i + 1] = Date.now() - t0;
        view[3 * i + 2] = r.status;
        view[3 * i] = Date.now();
        await new Promise((r) => setTimeout(r, 20));
      }
    };`;
  const url = URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  worker.postMessage({ port, shared });
  return {
    arrivals: () => {
      const out: { at: number; ms: number; status: number }[] = [];
      for (let i = 0; i < 2000 && view[3 * i]! > 0; i++) {
        out.push({ at: view[3 * i]!, ms: view[3 * i + 1]!, status: view[3 * i + 2]! });
      }
      return out;
    },
    stop: () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

Deno.test("the front door answers /healthz while the main thread is busy, and hands other paths to it", async () => {
  const door = await startFrontDoor({
    http: { hostname: "127.0.0.1", port: 0 },
    handler: (req) => Promise.resolve(new Response(`main saw ${new URL(req.url).pathname}`)),
  });
  assert.ok(door.ok, !door.ok ? door.error.message : "");
  const d: FrontDoor = door.value;
  const prober = startProber(d.port);
  try {
    d.health.tick();
    d.health.setCachesSynced(true);
    await until("the prober's first answer", () => prober.arrivals().length > 0);
    const from = Date.now();
    busy(1_500);
    const to = Date.now();
    const during = prober.arrivals().filter((a) => a.at > from + 100 && a.at < to - 100);
    assert.ok(during.length >= 5, `probes answered during the busy stretch: ${during.length}`);
    assert.ok(during.every((a) => a.ms < 1_000 && a.status === 200), JSON.stringify(during));

    const other = await fetch(`http://127.0.0.1:${d.port}/metrics`);
    assert.equal(await other.text(), "main saw /metrics");
    const ready = await fetch(`http://127.0.0.1:${d.port}/readyz`);
    assert.match(await ready.text(), /\[\+\]caches synced/);
  } finally {
    prober.stop();
    await d.close();
  }
});

Deno.test("a busy main thread keeps the Lease held by the front door; an in-process elector loses it", async () => {
  const kube = await startFakeKubeThread();
  const client = kubeClientFromKubeconfig(kube.kubeconfig);
  let door: FrontDoor | undefined;
  const inProcess = new LeaderElector({
    client,
    namespace: "default",
    name: "in-process",
    identity: "a",
    config: cfg,
  });
  try {
    const started = await startFrontDoor({
      http: { hostname: "127.0.0.1", port: 0 },
      handler: () => Promise.resolve(new Response("")),
      lease: { kc: client.kc, namespace: "default", name: "proxscale", identity: "a", config: cfg },
    });
    assert.ok(started.ok);
    door = started.value;
    door.elector.start();
    inProcess.start();
    await until("both lead", () => door!.elector.isLeader() && inProcess.isLeader());

    busy(2 * cfg.renewDeadline);
    assert.ok(door.elector.isLeader(), "the front door renewed while this thread was busy");
    assert.ok(!inProcess.isLeader(), "the in-process elector could not renew in time");
    assert.deepEqual(await kube.lease("default", "proxscale"), { holder: "a", transitions: 0 });

    await door.close();
    assert.ok(!door.elector.isLeader());
    assert.equal((await kube.lease("default", "proxscale"))?.holder, "", "released on close");
  } finally {
    await door?.close();
    await inProcess.stop();
    kube.close();
  }
});

Deno.test("a main thread hung past the stall limit gives the Lease up and fails /healthz", async () => {
  const kube = await startFakeKubeThread();
  const client = kubeClientFromKubeconfig(kube.kubeconfig);
  const started = await startFrontDoor({
    http: { hostname: "127.0.0.1", port: 0 },
    handler: () => Promise.resolve(new Response("")),
    lease: { kc: client.kc, namespace: "default", name: "proxscale", identity: "a", config: cfg },
    mainStallLimitMs: 500,
  });
  assert.ok(started.ok);
  const door = started.value;
  const prober = startProber(door.port);
  try {
    door.health.tick();
    door.elector.start();
    await until("it leads", () => door.elector.isLeader());
    const from = Date.now();
    busy(1_500);
    assert.ok(!door.elector.isLeader(), "a hung daemon does not act on its Lease");
    const late = prober.arrivals().filter((a) => a.at > from + 800 && a.at < from + 1_400);
    assert.ok(late.length > 0 && late.every((a) => a.status === 503), JSON.stringify(late));
    await until(
      "the Lease released",
      async () => (await kube.lease("default", "proxscale"))?.holder === "",
    );
    // Back on its event loop the thread still does not lead: the Lease was given up for good.
    await sleep(3 * cfg.retryPeriod);
    assert.ok(!door.elector.isLeader());
    const res = await fetch(`http://127.0.0.1:${door.port}/healthz`);
    await res.text();
    assert.equal(res.status, 200, "alive again once the thread is back");
  } finally {
    prober.stop();
    await door.close();
    kube.close();
  }
});

Deno.test("a port already taken is an error value, not a thrown one", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await startFrontDoor({
      http: { hostname: "127.0.0.1", port: (taken.addr as Deno.NetAddr).port },
      handler: () => Promise.resolve(new Response("")),
    });
    assert.ok(!r.ok);
    assert.equal(r.error.name, "AddrInUse");
  } finally {
    taken.close();
  }
});
