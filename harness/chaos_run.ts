/**
 * One seeded chaos run: the in-process fake cluster (fake PVE, fake API server, scheduler,
 * controllers, kubelets) with two replicas of the real daemon under leader election, a
 * workload that scales up and down with a PDB on one deployment, and the plan's faults:
 *
 * - Proxmox: 5xx (some after the clone was carried out), lock timeouts on config writes,
 *   connection resets, one unanswered request (client timeout), failed clone/start/destroy
 *   tasks, latency; a host offline and back.
 * - Kubernetes: every watch dropped (clean close or reset) with the watch history compacted, so
 *   resuming informers get 410 Gone and relist; an API server outage. The fake cannot restart on
 *   the same port, so the outage is simulated: every watch is reset and every request (watches
 *   included) answers 500 for a while.
 * - The daemon: the leader killed like SIGKILL (it sends nothing more) at random moments, and
 *   replicas armed with crash points (between clone and tag included), each replaced by a fresh
 *   replica; the standby takes the Lease over.
 * - Redis (with a Redis queue): every connection of this run's queue is killed on the server
 *   (`CLIENT KILL ID`, only our clients, since the server may be shared), the outage a restart
 *   causes to clients; the jobs survive as they would with persistence.
 *
 * When the chaos phase ends the faults are cleared and the run waits for convergence; the
 * observer (chaos_watch.ts) and the leak audit judge from outside.
 *
 * May import: core/, adapters/, daemon/, sim/, fakes/.
 */
import type { Config } from "../core/model.ts";
import { MiB } from "../core/quantity.ts";
import type { JobQueue } from "../daemon/ports/queue.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { auditVms } from "../fakes/cluster/audit.ts";
import { type CrashPoint, type DaemonHandle, startDemoCluster } from "./cluster.ts";
import { redisQueues } from "./crash_queues.ts";
import { type ChaosEvent, chaosPlan } from "./chaos_plan.ts";
import { watchChaos } from "./chaos_watch.ts";
import { killQueueClients, redisBaseline } from "./chaos_redis.ts";

/** The verdict of one run. */
export type ChaosOutcome = {
  seed: number;
  leaked: number;
  duplicates: number;
  limitViolations: number;
  pdbViolations: number;
  converged: boolean;
  ms: number;
  /** How hard the run pushed: pods evicted, most VMs at once, replicas killed. */
  evictions: number;
  maxVms: number;
  kills: number;
  /** What happened, for a failing run's report. */
  log: string[];
};

/** Options of a run. */
export type ChaosRunOptions = {
  /** Use a BullMQ queue on this Redis (and add a Redis outage). */
  redisUrl?: string;
  /** Bound for convergence after the chaos phase (ms). */
  convergeMs?: number;
};

const POOL_LIMITS = { nodes: 5, cpu: 16_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tune = (c: Config): Config => ({
  ...c,
  // The clock is compressed (launches take under a second): a launch a killed replica left
  // half done (the memory queue dies with it) is given up after 6 s instead of 30 s.
  settings: {
    ...c.settings,
    orphanGracePeriod: 1_000,
    launchTimeout: 6_000,
    registrationTimeout: 6_000,
  },
  nodePools: c.nodePools.map((p) => ({ ...p, limits: POOL_LIMITS })),
});

/** Runs seed `seed` and closes everything it started. */
export async function runChaos(seed: number, o: ChaosRunOptions = {}): Promise<ChaosOutcome> {
  const started = Date.now();
  const plan = chaosPlan(seed, { redis: o.redisUrl !== undefined });
  const log: string[] = [];
  const t0 = Date.now();
  const note = (s: string) => log.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${s}`);
  const cluster = await startDemoCluster({
    seed,
    bootDelayMs: 150,
    tune,
    // The run's clock is compressed (2 s Leases, 150 ms boots): so is the breaker's cooldown.
    pveBreaker: { failureThreshold: 5, cooldownMs: 1_500 },
  });
  const prefix = `chaos-${seed}-${crypto.randomUUID().slice(0, 8)}`;
  const openRedis = o.redisUrl ? redisQueues(o.redisUrl, prefix) : undefined;
  const baseline = o.redisUrl ? await redisBaseline(o.redisUrl) : new Set<string>();
  const queues: JobQueue<JobData>[] = [];
  const replicas: DaemonHandle[] = [];
  const dead = new Set<DaemonHandle>();
  let generation = 0;
  let chaosOver = false;
  let closing = false;
  const webMin = plan.minAvailable;
  let config = cluster.config;
  const watch = watchChaos({
    pve: cluster.pve,
    kube: cluster.kube,
    vmidRange: cluster.config.providers[0]!.vmidRange,
    limits: POOL_LIMITS,
    pdb: { app: "web", minAvailable: () => webMin },
    everyMs: 100,
  });

  const spawn = async (): Promise<void> => {
    if (closing) return;
    const g = generation++;
    const crashAt: CrashPoint | undefined = chaosOver ? undefined : plan.crashAt[g];
    const queue = openRedis ? await openRedis(g) : new MemoryJobQueue<JobData>({
      retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 },
    });
    queues.push(queue);
    const h = await cluster.spawn({
      queue,
      config,
      identity: `replica-${g}`,
      tickMs: 300,
      ...(crashAt ? { crashAt } : {}),
      report: (d) => note(`  [${g}] ${d.what} ${d.nodeclaim ?? ""} ${d.reason.code}`),
      onError: (m) => note(`  [${g}] error: ${m}`),
      log: (e) => {
        if (e.level !== "debug" && !/watch failed/.test(e.msg)) {
          note(`  [${g}] ${e.level}: ${e.msg} ${e.reason ?? ""}`);
        }
      },
    });
    replicas.push(h);
    note(`replica-${g} started${crashAt ? ` (armed: ${crashAt})` : ""}`);
    void h.crashed.then(async (p) => {
      dead.add(h);
      note(`replica-${g} killed at ${p}`);
      await sleep(300);
      await spawn();
    });
  };

  const pve = cluster.pve;
  const kube = cluster.kube;
  const hosts = pve.model.nodes().map((n) => String(n.node)).sort();
  const apply = async (e: ChaosEvent) => {
    switch (e.kind) {
      case "scale":
        cluster.world.scale(e.deployment, e.replicas);
        note(`scale ${e.deployment} to ${e.replicas}`);
        return;
      case "hostOffline": {
        const host = hosts[e.host % hosts.length]!;
        pve.model.setHostOnline(host, false);
        note(`host ${host} offline`);
        setTimeout(() => {
          pve.model.setHostOnline(host, true);
          note(`host ${host} online`);
        }, e.forMs);
        return;
      }
      case "dropWatches":
        if (e.compact) kube.store.compactHistory();
        note(
          `dropped ${kube.faults.dropWatches(e.mode)} watches (${e.mode}, compact ${e.compact})`,
        );
        return;
      case "apiOutage":
        kube.faults.errorRate = 1;
        kube.faults.watchErrorRate = 1;
        note(`API server outage: dropped ${kube.faults.dropWatches("reset")} watches`);
        setTimeout(() => {
          kube.faults.errorRate = 0;
          kube.faults.watchErrorRate = 0;
          note("API server back");
        }, e.forMs);
        return;
      case "killLeader": {
        const leader = replicas.find((h) => !dead.has(h) && h.daemon.isLeader());
        if (!leader) return;
        note(`kill leader ${replicas.indexOf(leader)}`);
        dead.add(leader);
        await bounded("killing the leader", leader.stop(), 10_000);
        await sleep(200);
        await bounded("starting a replica", spawn(), 15_000);
        return;
      }
      case "drift":
        config = {
          ...config,
          nodePools: config.nodePools.map((p) => ({ ...p, labels: { ...p.labels, rev: "2" } })),
        };
        for (const h of replicas) if (!dead.has(h)) h.daemon.setConfig(config);
        note("pool labels changed: every claim drifts");
        return;
      case "redisOutage":
        if (o.redisUrl) {
          note(`redis: killed ${await killQueueClients(o.redisUrl, prefix, baseline)} clients`);
        }
        return;
    }
  };

  let converged = false;
  let hung = false;
  /** Awaits `p` at most `ms`; a step that never ends is noted and fails the run. */
  const bounded = async <T>(label: string, p: Promise<T>, ms: number): Promise<T | undefined> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((r) => {
      timer = setTimeout(() => {
        hung = true;
        note(`HUNG: ${label} did not end within ${ms} ms`);
        r(undefined);
      }, ms);
    });
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  let outcome: ChaosOutcome | undefined;
  let stopLeaderTimer = () => {};
  let final = { leaked: 0, duplicates: 0 };
  try {
    note(`plan ${JSON.stringify({ ...plan, events: undefined })}`);
    pve.faults.set(plan.pve);
    cluster.world.deploy({
      name: "web",
      replicas: plan.web.replicas,
      cpu: plan.web.cpu,
      memory: 256 * MiB,
    });
    const pdb = kube.store.create("poddisruptionbudgets.policy", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "default" },
      spec: { minAvailable: plan.minAvailable, selector: { matchLabels: { app: "web" } } },
    }, { namespace: "default" });
    if (!pdb.ok) throw new Error(`PDB: ${pdb.error.message}`);
    if (
      plan.batch.replicas > 0 ||
      plan.events.some((e) => e.kind === "scale" && e.deployment === "batch")
    ) {
      cluster.world.deploy({
        name: "batch",
        replicas: plan.batch.replicas,
        cpu: plan.batch.cpu,
        memory: 256 * MiB,
      });
    }
    await bounded("starting a replica", spawn(), 15_000);
    await bounded("starting a replica", spawn(), 15_000);
    const begin = Date.now();
    let leaders = "";
    const leaderTimer = setInterval(() => {
      const now = replicas.map((h, i) => (!dead.has(h) && h.daemon.isLeader() ? i : -1)).filter((
        i,
      ) => i >= 0).join(",");
      if (now !== leaders) note(`leader: ${now || "none"}`);
      leaders = now;
    }, 100);
    stopLeaderTimer = () => clearInterval(leaderTimer);
    for (const e of plan.events) {
      const wait = begin + e.at - Date.now();
      if (wait > 0) await sleep(wait);
      await apply(e);
    }
    await sleep(Math.max(0, begin + plan.chaosMs - Date.now()));
    chaosOver = true;
    pve.faults.set({});
    for (const h of hosts) pve.model.setHostOnline(h, true);
    kube.faults.errorRate = 0;
    kube.faults.watchErrorRate = 0;
    for (let i = 0; replicas.length - dead.size < 2 && i < 3; i++) {
      await bounded("starting a replica", spawn(), 15_000);
    }
    note("chaos over");
    converged = await convergence(cluster, o.convergeMs ?? 20_000);
    note(converged ? "converged" : "did NOT converge");
  } finally {
    closing = true;
    stopLeaderTimer();
    const counts = watch.stop();
    const audit = auditVms(pve, { vmidRange: cluster.config.providers[0]!.vmidRange });
    const claims = kube.store.list("nodeclaims.proxscale.io");
    const names = new Set(claims.ok ? claims.value.items.map((c) => c.metadata.name) : []);
    final = {
      leaked: audit.vms.filter((v) => !v.claim || !names.has(v.claim)).length,
      duplicates: audit.duplicates.reduce((a, d) => a + d.vmids.length - 1, 0),
    };
    for (const v of audit.vms) note(`vm ${v.vmid} ${v.host} ${v.claim ?? "-"} [${v.tags}]`);
    if (!converged) {
      for (const c of claims.ok ? claims.value.items : []) {
        note(
          `claim ${
            JSON.stringify({
              meta: c.metadata.annotations,
              del: c.metadata.deletionTimestamp,
              status: c.status,
            })
          }`,
        );
      }
      note(`pending pods ${cluster.world.pendingPods()}`);
    }
    log.push(...counts.notes);
    await bounded("closing the cluster", cluster.close(), 15_000);
    for (const q of queues) await bounded("closing a queue", q.close(), 5_000);
    outcome = {
      seed,
      leaked: final.leaked,
      duplicates: final.duplicates,
      limitViolations: counts.limitViolations,
      pdbViolations: counts.pdbViolations,
      converged: converged && !hung,
      ms: Date.now() - started,
      evictions: counts.evictions,
      maxVms: counts.maxVms,
      kills: dead.size,
      log,
    };
  }
  return outcome;
}

function conditionTrue(o: object, type: string): boolean {
  const conds = ((o as { status?: unknown }).status as
    | { conditions?: { type: string; status: string }[] }
    | undefined)
    ?.conditions;
  return conds?.some((c) => c.type === type && c.status === "True") ?? false;
}

/** Pods placed, one VM per claim, one Node per VM, nothing being deleted, for 1 s. */
async function convergence(
  c: Awaited<ReturnType<typeof startDemoCluster>>,
  limitMs: number,
): Promise<boolean> {
  const end = Date.now() + limitMs;
  let since = 0;
  while (Date.now() < end) {
    const list = c.kube.store.list("nodeclaims.proxscale.io");
    const claims = list.ok ? list.value.items : [];
    const names = new Set(claims.map((o) => o.metadata.name));
    const audit = auditVms(c.pve, { vmidRange: c.config.providers[0]!.vmidRange });
    const nodes = c.kube.store.list("nodes");
    const ok = c.world.pendingPods() === 0 &&
      audit.vms.every((v) => v.claim !== undefined && names.has(v.claim)) &&
      audit.duplicates.length === 0 &&
      claims.every((o) => !o.metadata.deletionTimestamp) &&
      claims.every((o) => !conditionTrue(o, "Drifted")) &&
      audit.vms.length === claims.length &&
      (nodes.ok ? nodes.value.items.length : -1) === audit.vms.length;
    if (!ok) since = 0;
    else if (since === 0) since = Date.now();
    if (since > 0 && Date.now() - since >= 1_000) return true;
    await sleep(100);
  }
  return false;
}
