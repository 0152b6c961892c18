/**
 * Launches that retrying cannot heal back off, with the real daemon on the fake cluster: the
 * MachineTemplate pins the cluster CA from a file that does not exist, so every launch fails
 * before any VM is made. Without backoff a NodeClaim was created, failed and deleted on every
 * pass; now the pool's claims are created further and further apart (the pause doubles, capped),
 * the NodePool carries LaunchFailing=True and a Warning Event says why, and once the
 * configuration is fixed (hot reload) a launch starts at once and succeeds.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";
import { backoffDelay } from "../core/launch_backoff.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BACKOFF = { base: 1_000, max: 4_000, maxClaimsPerHour: 100 };

const unreadableCa = (c: Config): Config => ({
  ...c,
  settings: { ...c.settings, launchBackoff: BACKOFF },
  machineTemplates: c.machineTemplates.map((t) => ({
    ...t,
    bootstrap: { ...t.bootstrap, caCertHashFrom: "/nonexistent/proxscale-test/ca.crt" },
  })),
});

/** The demo configuration with the CA pin removed: the cluster connection's CA is used. */
const fixed = (c: Config): Config => ({
  ...c,
  machineTemplates: c.machineTemplates.map((t) => {
    const { caCertHashFrom: _drop, ...bootstrap } = t.bootstrap;
    return { ...t, bootstrap };
  }),
});

type Obj = {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

Deno.test("an unreadable cluster CA backs the pool off exponentially, with a condition and Event, and a fix resumes at once", async () => {
  const cluster = await startDemoCluster({ seed: 31, tune: unreadableCa });
  const queue = new MemoryJobQueue<JobData>();
  const created: number[] = [];
  cluster.kube.store.onWrite((def, type) => {
    if (def.kind === "NodeClaim" && type === "ADDED") created.push(Date.now());
  });
  // The NodePool as an object too, so its status can carry the condition.
  const np = cluster.kube.store.create("nodepools.proxscale.io", {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodePool",
    metadata: { name: "general" },
    spec: { machineTemplate: "worker" },
  });
  assert.ok(np.ok, JSON.stringify(np));
  try {
    const h = await cluster.spawn({ queue, tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    await sleep(16_000);
    const n = created.length;
    const gaps = created.slice(1).map((t, i) => t - created[i]!);
    const text = `claims created at +${created.map((t) => t - created[0]!).join(", +")} ms`;
    // Without backoff: one claim per pass cycle (dozens in 16 s). With it: 1, 2, 4, 4... s apart.
    assert.ok(n >= 3 && n <= 7, text);
    gaps.forEach((g, i) => {
      assert.ok(g >= backoffDelay(i + 1, BACKOFF) - 100, `gap ${i + 1} is ${g} ms: ${text}`);
    });
    const pool = cluster.kube.store.get("nodepools.proxscale.io", "", "general") as
      | { ok: true; value: Obj }
      | { ok: false };
    assert.ok(pool.ok);
    const cond = pool.value.status?.conditions?.find((c) => c.type === "LaunchFailing");
    assert.equal(cond?.status, "True", JSON.stringify(pool.value.status));
    assert.match(cond?.message ?? "", /BootstrapFailed/);
    const events = cluster.kube.store.list("events");
    assert.ok(
      events.ok && events.value.items.some((e) => {
        const ev = e as { reason?: string; type?: string; involvedObject?: { kind?: string } };
        return ev.reason === "LaunchFailing" && ev.type === "Warning" &&
          ev.involvedObject?.kind === "NodePool";
      }),
      "a Warning Event on the NodePool",
    );

    // The operator fixes the configuration: the next pass launches, whatever the backoff said.
    const fixedAt = Date.now();
    h.daemon.setConfig(fixed(cluster.config));
    const end = Date.now() + 3_000;
    while (Date.now() < end && !created.some((t) => t > fixedAt)) await sleep(50);
    assert.ok(created.some((t) => t > fixedAt), "a claim within 3 s of the fix");
    const launched = () => {
      const l = cluster.kube.store.list("nodeclaims.proxscale.io");
      return l.ok &&
        (l.value.items as unknown as Obj[]).some((c) =>
          c.status?.conditions?.some((x) => x.type === "Launched" && x.status === "True")
        );
    };
    const until = Date.now() + 15_000;
    while (Date.now() < until && !launched()) await sleep(100);
    assert.ok(launched(), "the launch after the fix succeeds");
  } finally {
    await cluster.close();
    await queue.close();
  }
});
