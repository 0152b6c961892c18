/**
 * The demo: a simulated Proxmox cluster scaled by the real daemon. Starts the fake PVE and fake
 * API server in-process, the world glue (VMs register as Nodes, a scheduler binds pods), and a
 * real daemon over real sockets; then plays a burst of deployments, a pause, and a scale-in, printing
 * one line per decision with its reason, and a closing summary: VMs created and removed,
 * pending time p50/p95, launch latency after the batch window, leaked VMs, and join tokens
 * and seed ISOs left (none once every node registered).
 *
 * May import: core/, adapters/, daemon/, fakes/cluster/world.ts (types).
 */
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { claimFromDescription } from "../adapters/proxmox/vm_config.ts";
import { type DemoCluster, startDemoCluster } from "./cluster.ts";
import type { Deployment } from "../fakes/cluster/world.ts";
import { GiB, MiB } from "../core/quantity.ts";

/** The figures the demo ends with. Times in ms. */
export type DemoSummary = {
  vmsCreated: number;
  vmsRemoved: number;
  vmsLeft: number;
  leakedVms: number;
  duplicateVms: number;
  /** Join tokens minted (one per launch, mode nocloudIso). */
  joinTokens: number;
  /** Join token Secrets and seed ISOs still present at the end (all nodes registered: 0). */
  tokensLeft: number;
  seedIsosLeft: number;
  podsScheduled: number;
  podsPending: number;
  pendingP50: number;
  pendingP95: number;
  /** Pass start (batch window closed) -> clone request at the fake PVE, per launch. */
  launchLatencies: number[];
  /** Pod marked Unschedulable -> clone request of the VM it waited for. */
  podToCloneLatencies: number[];
  decisions: DecisionReport[];
  durationMs: number;
};

export type DemoOptions = {
  /** Where lines go (default: nowhere). */
  print?: (line: string) => void;
  seed?: number;
};

const BURST: Deployment[] = [
  { name: "web", replicas: 12, cpu: 500, memory: 512 * MiB },
  { name: "api", replicas: 6, cpu: 1000, memory: 1 * GiB },
  { name: "batch", replicas: 8, cpu: 700, memory: 768 * MiB },
];
const SCALE_IN: Record<string, number> = { web: 2, api: 1, batch: 0 };

/** Percentile (nearest rank) of a list; 0 when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Bootstrap leftovers: join token Secrets in kube-system and seed ISOs on any storage. */
export function auditBootstrap(
  c: DemoCluster,
  decisions: readonly DecisionReport[],
): { joinTokens: number; tokensLeft: number; seedIsosLeft: number } {
  const secrets = c.kube.store.list("secrets");
  const tokensLeft = secrets.ok
    ? secrets.value.items.filter((s) => s.metadata.name?.startsWith("bootstrap-token-")).length
    : 0;
  let seedIsosLeft = 0;
  for (const vols of c.pve.model.st.volumes.values()) {
    for (const v of vols.values()) if (v.content === "iso") seedIsosLeft++;
  }
  const joinTokens = decisions.filter((d) => d.what === "BootstrapPrepared").length;
  return { joinTokens, tokensLeft, seedIsosLeft };
}

/** Managed VMs whose NodeClaim does not exist, and VMs beyond the first per claim. */
export function auditVms(c: DemoCluster): { leaked: number; duplicates: number; live: number } {
  const claims = c.kube.store.list("nodeclaims.proxscale.io");
  const names = new Set(claims.ok ? claims.value.items.map((o) => o.metadata.name) : []);
  const live = c.world.liveVms();
  const per = new Map<string, number>();
  let leaked = 0;
  for (const v of live) {
    if (!v.claim || !names.has(v.claim)) leaked++;
    else per.set(v.claim, (per.get(v.claim) ?? 0) + 1);
  }
  const duplicates = [...per.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
  return { leaked, duplicates, live: live.length };
}

/** Runs the demo scenario end to end; always closes what it started. */
export async function runDemo(o: DemoOptions = {}): Promise<DemoSummary> {
  const print = o.print ?? (() => {});
  const t0 = Date.now();
  const decisions: DecisionReport[] = [];
  const at = (t: number) => `+${((t - t0) / 1000).toFixed(1).padStart(5)}s`;
  const cluster = await startDemoCluster({ seed: o.seed ?? 42 });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 },
  });
  try {
    const handle = await cluster.spawn({
      queue,
      report: (d) => {
        decisions.push(d);
        if (d.dryRun) return;
        const who = [
          d.nodeclaim,
          d.node && d.node !== d.nodeclaim ? `node ${d.node}` : "",
          d.vmid ? `vm ${d.vmid}` : "",
          d.host ?? "",
        ]
          .filter((x) => x).join(" ");
        print(
          `${at(d.time)}  ${d.what.padEnd(18)} ${
            who.padEnd(34)
          } ${d.reason.code}: ${d.reason.message}`,
        );
      },
    });
    void handle;
    const hosts = cluster.pve.model.nodes().length;
    print(
      `proxscale demo: fake Proxmox VE with ${hosts} hosts at ${cluster.pve.url}, ` +
        `fake Kubernetes API at ${cluster.kube.url}, daemon running (leader election on)`,
    );
    const total = BURST.reduce((a, d) => a + d.replicas, 0);
    print(`${at(Date.now())}  scenario: burst of ${BURST.length} deployments, ${total} pods`);
    for (const d of BURST) cluster.world.deploy(d);
    const bound = () =>
      [...cluster.world.pods.values()].filter((p) => p.boundAt !== undefined).length;
    await until(() => bound() >= total, 25_000);
    print(
      `${at(Date.now())}  scenario: ${bound()}/${total} pods running on ` +
        `${cluster.world.liveVms().length} VMs; holding 2 s`,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    print(
      `${at(Date.now())}  scenario: scale-in ${
        Object.entries(SCALE_IN).map(([k, v]) => `${k}=${v}`).join(" ")
      }`,
    );
    for (const [name, n] of Object.entries(SCALE_IN)) cluster.world.scale(name, n);
    // Converged: every pod left is running, no job is running, and the VM count held for 4 s.
    let stableSince = Date.now();
    let last = -1;
    await until(async () => {
      const n = cluster.world.liveVms().length;
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      }
      const counts = await queue.counts();
      const busy = counts.ok
        ? counts.value.active + counts.value.waiting + counts.value.delayed
        : 1;
      const pending = cluster.world.pendingPods();
      if (busy > 0 || pending > 0) stableSince = Date.now();
      return Date.now() - stableSince >= 4_000;
    }, 30_000);
    const audit = auditVms(cluster);
    const all = [...cluster.world.pods.values()];
    const waits = all.filter((p) => p.boundAt !== undefined).map((p) => p.boundAt! - p.createdAt);
    // Launch latency: from the pass that decided (claim createdAt) to the clone request.
    const launchAt = new Map<string, number>();
    const podsOf = new Map<string, string[]>();
    for (const d of decisions) {
      if (d.what === "LaunchClaim" && d.nodeclaim && !launchAt.has(d.nodeclaim)) {
        launchAt.set(d.nodeclaim, d.passAt ?? d.time);
        podsOf.set(d.nodeclaim, d.pods ?? []);
      }
    }
    const launchLatencies: number[] = [];
    const podToClone: number[] = [];
    for (const r of cluster.pve.requests) {
      if (r.method !== "POST" || !/\/(clone|qemu)$/.test(r.path)) continue;
      const claim = claimFromDescription(String(r.params.description ?? ""));
      const start = claim ? launchAt.get(claim) : undefined;
      if (!claim || start === undefined) continue;
      launchLatencies.push(r.time - start);
      for (const p of podsOf.get(claim) ?? []) {
        const rec = cluster.world.pods.get(p.split("/").pop() ?? "");
        if (rec?.unschedulableAt !== undefined) podToClone.push(r.time - rec.unschedulableAt);
      }
    }
    const vms = [...cluster.world.vms.values()];
    const summary: DemoSummary = {
      vmsCreated: vms.length,
      vmsRemoved: vms.filter((v) => v.goneAt !== undefined).length,
      vmsLeft: audit.live,
      leakedVms: audit.leaked,
      duplicateVms: audit.duplicates,
      ...auditBootstrap(cluster, decisions),
      podsScheduled: bound(),
      podsPending: cluster.world.pendingPods(),
      pendingP50: percentile(waits, 50),
      pendingP95: percentile(waits, 95),
      launchLatencies,
      podToCloneLatencies: podToClone,
      decisions,
      durationMs: Date.now() - t0,
    };
    print("");
    print("summary");
    print(
      `  VMs created: ${summary.vmsCreated}   VMs removed: ${summary.vmsRemoved}   VMs left: ${summary.vmsLeft}`,
    );
    print(
      `  pods scheduled: ${summary.podsScheduled} of ${all.length} created ` +
        `(${total} in the burst, the rest recreated after evictions)`,
    );
    print(
      `  pending time p50: ${(summary.pendingP50 / 1000).toFixed(2)} s   p95: ${
        (summary.pendingP95 / 1000).toFixed(2)
      } s`,
    );
    print(
      `  batch window closed -> clone request p99: ${percentile(launchLatencies, 99)} ms ` +
        `(${launchLatencies.length} launches)`,
    );
    print(`  duplicate VMs per claim: ${summary.duplicateVms}`);
    print(`  leaked VMs: ${summary.leakedVms}`);
    print(
      `  join tokens minted: ${summary.joinTokens}   token Secrets left: ${summary.tokensLeft}` +
        `   seed ISOs left: ${summary.seedIsosLeft}`,
    );
    print(`  took ${(summary.durationMs / 1000).toFixed(1)} s`);
    return summary;
  } finally {
    await cluster.close();
    await queue.close();
  }
}
