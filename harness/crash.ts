/**
 * Crash scenarios for the daemon: start a real daemon against the demo cluster, kill it dead at
 * a named step of a launch or a deletion, start a fresh instance against the same fakes (and
 * the same queue when it survives a restart, i.e. Redis), and wait until the cluster converges.
 * The result says whether any VM leaked or a claim got two VMs.
 *
 * Launch steps: a deployment needs one VM; the kill comes at the step. Deletion steps: the
 * cluster first converges on one VM running pods, then the NodePool's labels change so the
 * claim drifts and is replaced (replacement first, then drain, then the VM is deleted); the kill
 * comes mid-drain or right after the VM was destroyed.
 *
 * May import: core/, adapters/, daemon/, sim/.
 */
import type { JobQueue } from "../daemon/ports/queue.ts";
import type { JobData } from "../daemon/context.ts";
import type { Config } from "../core/model.ts";
import { MiB } from "../core/quantity.ts";
import { type CrashPoint, type DemoCluster, startDemoCluster } from "./cluster.ts";

/** Launch crash points, in the order a launch passes them. */
export const LAUNCH_POINTS: CrashPoint[] = [
  "after-claim-created",
  "after-vmid-reserve",
  "after-clone",
  "after-start",
  "after-launch",
  "after-registration",
];
/** Deletion crash points. */
export const DELETE_POINTS: CrashPoint[] = ["mid-drain", "after-vm-deleted"];

/** What a crash scenario ended with. */
export type CrashOutcome = {
  point: CrashPoint;
  crashed: boolean;
  converged: boolean;
  leaked: number;
  duplicates: number;
  liveVms: number;
  claims: number;
  pendingPods: number;
  log: string[];
};

/** Opens a queue for one daemon instance; `generation` counts restarts from 0. */
export type QueueFactory = (generation: number) => Promise<JobQueue<JobData>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return false;
}

function state(c: DemoCluster) {
  const list = c.kube.store.list("nodeclaims.proxscale.io");
  const claims = list.ok ? list.value.items : [];
  const names = new Set(claims.map((o) => o.metadata.name));
  const live = c.world.liveVms();
  const per = new Map<string, number>();
  let leaked = 0;
  for (const v of live) {
    if (!v.claim || !names.has(v.claim)) leaked++;
    else per.set(v.claim, (per.get(v.claim) ?? 0) + 1);
  }
  const duplicates = [...per.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
  const nodes = c.kube.store.list("nodes");
  return {
    leaked,
    duplicates,
    live: live.length,
    claims: claims.length,
    nodes: nodes.ok ? nodes.value.items.length : 0,
    pending: c.world.pendingPods(),
    deleting: claims.filter((o) => o.metadata.deletionTimestamp).length,
  };
}

/** Converged: pods placed, one VM per claim, one Node per VM, nothing being deleted, for 1 s. */
async function converge(c: DemoCluster, want: (s: ReturnType<typeof state>) => boolean) {
  let since = 0;
  return await until(() => {
    const s = state(c);
    const ok = s.leaked === 0 && s.duplicates === 0 && s.pending === 0 && s.deleting === 0 &&
      s.live === s.claims && s.nodes === s.live && want(s);
    if (!ok) since = 0;
    else if (since === 0) since = Date.now();
    return since > 0 && Date.now() - since >= 1_000;
  }, 30_000);
}

const tune = (c: Config): Config => ({
  ...c,
  settings: { ...c.settings, orphanGracePeriod: 1_000 },
});

/** Runs one scenario and closes everything it started. */
export async function runCrashScenario(
  point: CrashPoint,
  openQueue: QueueFactory,
): Promise<CrashOutcome> {
  const log: string[] = [];
  const cluster = await startDemoCluster({ seed: 7, bootDelayMs: 200, tune });
  const queues: JobQueue<JobData>[] = [];
  const open = async (g: number) => {
    const q = await openQueue(g);
    queues.push(q);
    return q;
  };
  const report =
    (gen: number) => (d: { what: string; nodeclaim?: string; reason: { code: string } }) =>
      log.push(`[${gen}] ${d.what} ${d.nodeclaim ?? ""} ${d.reason.code}`);
  let crashed = false;
  let converged = false;
  try {
    const deletion = DELETE_POINTS.includes(point);
    cluster.world.deploy({ name: "app", replicas: 3, cpu: 500, memory: 512 * MiB });
    let config = cluster.config;
    if (deletion) {
      // A first daemon brings the cluster to one VM with pods, then stops cleanly.
      const first = await cluster.spawn({ queue: await open(0), report: report(0), tickMs: 300 });
      await converge(cluster, (s) => s.live === 1);
      await first.stop();
      // The pool's labels change: the claim's template hash no longer matches (drift).
      const pool = config.nodePools[0]!;
      config = { ...config, nodePools: [{ ...pool, labels: { ...pool.labels, rev: "2" } }] };
    }
    const victim = await cluster.spawn({
      queue: await open(1),
      crashAt: point,
      report: report(1),
      tickMs: 300,
      config,
    });
    crashed = await Promise.race([
      victim.crashed.then(() => true),
      sleep(20_000).then(() => false),
    ]);
    if (!crashed) await victim.stop();
    log.push(`crash at ${point}: ${crashed}`);
    const fresh = await cluster.spawn({
      queue: await open(2),
      report: report(2),
      tickMs: 300,
      config,
    });
    // A launch ends with the one VM the pods need; a deletion with the drifted VM replaced.
    converged = await converge(cluster, (s) => s.live === 1);
    await fresh.stop();
    const s = state(cluster);
    return {
      point,
      crashed,
      converged,
      leaked: s.leaked,
      duplicates: s.duplicates,
      liveVms: s.live,
      claims: s.claims,
      pendingPods: s.pending,
      log,
    };
  } finally {
    await cluster.close();
    for (const q of queues) await q.close();
  }
}
