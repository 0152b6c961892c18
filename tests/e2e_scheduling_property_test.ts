/**
 * Generated workloads (Deployments with hostPorts, anti-affinity and topology spread, a
 * DaemonSet, a GPU pod no template can serve, a StatefulSet on local volumes) applied through
 * the fake API server to an in-process fake cluster scaled by a real daemon. Judged from the
 * outside, with the fake kube-scheduler's filters as the oracle:
 *
 * 1. every VM proxscale launches runs at least one of the pods it was launched for, unless the
 *    scheduler gave those pods other homes first (another new VM came up first): such swaps and
 *    races are counted and printed apart; a VM launched for a pod that then ran nowhere fails;
 * 2. no pod the oracle could place (on a node, or on a new VM of the pool) stays Pending past
 *    boot + 30 s;
 * 3. no pod is evicted into a state the oracle cannot place (its workload's pending pods);
 * 4. every Node's proxscale.io/host and zone labels name the Proxmox host its VM runs on.
 *
 * PROXSCALE_PROPERTY_RUNS sets the number of generated workloads (default 4; `deno task
 * e2e-property` runs 200). PROXSCALE_PROPERTY_SEED replays a fast-check seed and
 * PROXSCALE_PROPERTY_REPLAY='[workload, clusterSeed]' runs one printed counterexample alone. Each
 * run prints its cluster seed; a failure prints both seeds, the workload and the violations.
 *
 * May import: core/, adapters/, daemon/, harness/, fakes/.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import type { KObj } from "../fakes/fake_kube/objects.ts";
import {
  isPending,
  keyOf,
  pendingVerdicts,
  type Placeability,
} from "./testing/scheduling_oracle.ts";
import { type Workload, workloadArb, workloadObjects } from "./testing/scheduling_workload.ts";

const BOOT_MS = 200;
const TICK_MS = 300;
/** The Pending deadline the issue sets: boot + 30 s. */
const PENDING_LIMIT_MS = BOOT_MS + 30_000;
/** How long the daemon's kill may take before the run records it as hung. */
const STOP_LIMIT_MS = 5_000;

/** What one run found, per invariant. */
export type RunFindings = {
  launches: number;
  /** Launches whose VM ran no pod any launch was made for (a useless VM). */
  launchesUnused: string[];
  /** Launches whose VM ran another launch's pod but none of its own (the scheduler swapped). */
  launchesSwapped: string[];
  /** Launches whose VM ran none, every pod they were for having run elsewhere or been deleted. */
  launchesRaced: string[];
  pendingPlaceable: string[];
  evictions: number;
  evictedUnplaceable: string[];
  /** DaemonSet pods left Pending on a node the scheduler filled before they came. */
  daemonPodsStranded: number;
  nodesChecked: number;
  hostMismatches: string[];
  /** Pods left Pending that the oracle can place nowhere (the GPU pod, a too-big pod...). */
  unplaceable: number;
  /** Each node at the end with its host and pods (printed with a counterexample). */
  layout: string;
  /** When each phase settled (or did not). */
  timeline: string[];
  /** Each launch: claim, ms into the run, shape's node, pods (printed with a counterexample). */
  launchLog: string[];
  wallMs: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one workload to the end and checks the four invariants. */
async function runWorkload(w: Workload, seed: number, run: number): Promise<RunFindings> {
  const started = Date.now();
  // A run that hangs says where (the deadlines below bound every wait of the scenario itself).
  let phase = "starting the cluster";
  const watchdog = setInterval(() => {
    console.log(
      `run ${run} (cluster seed ${seed}) still ${phase} after ${Date.now() - started} ms`,
    );
  }, 60_000);
  const cluster = await startDemoCluster({ seed, bootDelayMs: BOOT_MS });
  const { store } = cluster.kube;
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const boundTo = new Map<string, Set<string>>(); // pod key -> nodes it was ever bound to
  const ownerOf = new Map<string, string>(); // pod key -> owner uid
  const daemonPods = new Set<string>(); // pods of DaemonSets
  const claimOfNode = new Map<string, string>();
  const deletedAt = new Map<string, number>(); // pod key -> ms into the run
  const timeline: string[] = [];
  const hostMismatches = new Set<string>();
  const nodesSeen = new Set<string>();
  const zoneOf = new Map(cluster.config.providers[0]!.hosts.map((h) => [h.name, h.zone]));
  const checkNode = (n: KObj) => {
    const labels = n.metadata.labels ?? {};
    const claim = labels["proxscale.io/nodeclaim"];
    if (claim) claimOfNode.set(n.metadata.name!, claim);
    const vmid = Number(/\/(\d+)$/.exec(String(n.spec?.providerID ?? ""))?.[1]);
    const vm = cluster.pve.model.st.vms.get(vmid);
    if (!vm || !labels["proxscale.io/host"]) return;
    nodesSeen.add(n.metadata.name!);
    const zone = labels["topology.kubernetes.io/zone"];
    if (labels["proxscale.io/host"] !== vm.node || (zone && zone !== zoneOf.get(vm.node))) {
      hostMismatches.add(
        `${n.metadata.name}: labels host=${
          labels["proxscale.io/host"]
        } zone=${zone}, VM ${vmid} on ${vm.node}`,
      );
    }
  };
  const watches = [
    store.watch("pods", {}, (e) => {
      if (e.type === "DELETED") deletedAt.set(keyOf(e.object as KObj), Date.now() - started);
      if (e.type !== "ADDED" && e.type !== "MODIFIED") return;
      const p = e.object as KObj;
      const owner = (p.metadata.ownerReferences as { uid: string; kind: string }[] | undefined)
        ?.[0];
      if (owner) ownerOf.set(keyOf(p), owner.uid);
      if (owner?.kind === "DaemonSet") daemonPods.add(keyOf(p));
      if (p.spec?.nodeName) {
        const s = boundTo.get(keyOf(p)) ?? new Set<string>();
        s.add(p.spec.nodeName);
        boundTo.set(keyOf(p), s);
      }
    }),
    store.watch("nodes", {}, (e) => {
      if (e.type === "ADDED" || e.type === "MODIFIED") checkNode(e.object as KObj);
    }),
  ];
  // Why the daemon's last pass left each pod without capacity (printed with a counterexample).
  let unhelped = new Map<string, string>();
  phase = "spawning the daemon";
  const handle = await cluster.spawn({
    queue,
    report: (d) => reports.push(d),
    onPass: (plan) => {
      unhelped = new Map(
        plan.provisioning.unhelped.map((u) => [u.pod, `${u.reason.code}: ${u.reason.message}`]),
      );
    },
    tickMs: TICK_MS,
  });
  let verdicts: { pod: KObj; verdict: Placeability }[] = [];
  /** Pods the oracle could place that were still Pending at a phase's boot + 30 s deadline. */
  const stuck: string[] = [];
  try {
    for (const [resource, body] of workloadObjects(w)) {
      phase = `creating ${resource}`;
      const r = store.create(resource, body, { namespace: "default" });
      if (!r.ok) throw new Error(`${resource} ${body.metadata.name}: ${r.error.message}`);
    }
    // Settled: every pending pod is one the oracle can place nowhere, and no claim is in flight.
    const settle = async (what: string) => {
      const deadline = Date.now() + PENDING_LIMIT_MS;
      for (;;) {
        verdicts = pendingVerdicts(store, cluster.config);
        const claims = store.list("nodeclaims.proxscale.io");
        const inFlight = (claims.ok ? claims.value.items : []).filter((c) =>
          !(c.status as { nodeName?: string } | undefined)?.nodeName
        ).map((c) => c.metadata.name!);
        const waiting = verdicts.filter((v) => v.verdict !== "nowhere").map((v) => keyOf(v.pod));
        if (waiting.length === 0 && inFlight.length === 0) {
          timeline.push(`${what} settled at ${Date.now() - started} ms`);
          return;
        }
        if (Date.now() > deadline) {
          for (const v of verdicts.filter((v) => v.verdict !== "nowhere")) {
            const k = keyOf(v.pod);
            stuck.push(`${k} after ${what} (oracle: ${v.verdict}; daemon: ${unhelped.get(k)})`);
          }
          timeline.push(
            `${what} still unsettled at ${
              Date.now() - started
            } ms (pending ${waiting}; claims without a node ${inFlight})`,
          );
          return;
        }
        await sleep(250);
      }
    };
    phase = "settling";
    await sleep(1_000);
    await settle("workload");
    if (w.scaleFirstTo !== undefined) {
      const r = store.patch("deployments.apps", "default", w.deployments[0]!.name, "merge", {
        spec: { replicas: w.scaleFirstTo },
      });
      if (!r.ok) throw new Error(r.error.message);
      // consolidateAfter is 2 s: give consolidation time to act, then settle again.
      timeline.push(`scaled ${w.deployments[0]!.name} at ${Date.now() - started} ms`);
      await sleep(6_000);
      await settle("scale-down");
    }
  } finally {
    phase = "stopping the daemon";
    // Its parts first, each with a deadline, so a shutdown that never returns says which part
    // waits; then the kill itself (the rest: worker, lease). The run goes on either way.
    const waiting: string[] = [];
    const parts: [string, () => Promise<void>][] = [
      ["loop", () => handle.daemon.loop.stop(true)],
      ...(["pods", "nodes", "pdbs", "nodeClaims", "daemonSets", "persistentVolumeClaims"] as const)
        .map((k): [string, () => Promise<void>] => [k, () => handle.daemon.informers[k].stop()]),
      ["kill", () => handle.stop()],
    ];
    for (const [name, stop] of parts) {
      const done = await Promise.race([
        stop().then(() => true),
        sleep(STOP_LIMIT_MS).then(() => false),
      ]);
      if (!done) {
        const inf = name in handle.daemon.informers
          ? (handle.daemon.informers as unknown as Record<string, { stats: object }>)[name]
          : undefined;
        waiting.push(inf ? `${name} ${JSON.stringify(inf.stats)}` : name);
      }
    }
    if (waiting.length > 0) {
      timeline.push(`daemon kill still pending after ${STOP_LIMIT_MS} ms (waiting: ${waiting})`);
    }
    for (const wt of watches) if (wt.ok) wt.value.stop();
  }
  const pods = store.list("pods");
  const podsNow = pods.ok ? pods.value.items : [];
  const nodeList = store.list("nodes");
  const layout = (nodeList.ok ? nodeList.value.items : []).map((n) =>
    `${n.metadata.name}@${n.metadata.labels?.["proxscale.io/host"]}[${
      podsNow.filter((p) => p.spec?.nodeName === n.metadata.name).map((p) => p.metadata.name)
        .join(" ")
    }]`
  ).join(", ");
  phase = "closing the cluster";
  // The close stops the daemon again: after a hung kill it would hang too, so it is bounded.
  const closed = await Promise.race([
    cluster.close().then(() => true),
    sleep(3 * STOP_LIMIT_MS).then(() => false),
  ]);
  if (!closed) timeline.push(`cluster close still pending after ${3 * STOP_LIMIT_MS} ms`);
  clearInterval(watchdog);

  const launches = reports.filter((d) => d.what === "LaunchClaim" && d.pods && !d.dryRun);
  const nodesOfClaim = new Map<string, string[]>();
  for (const [node, claim] of claimOfNode) {
    nodesOfClaim.set(claim, [...(nodesOfClaim.get(claim) ?? []), node]);
  }
  const ran = (d: DecisionReport, pods: readonly string[]) => {
    const nodes = nodesOfClaim.get(d.nodeclaim!) ?? [];
    return pods.some((p) => nodes.some((n) => boundTo.get(p)?.has(n)));
  };
  const launchedFor = [...new Set(launches.flatMap((d) => d.pods!))];
  const fate = (p: string) =>
    `${p} bound to ${[...(boundTo.get(p) ?? [])].join("+") || "nothing"}${
      deletedAt.has(p) ? `, deleted at ${deletedAt.get(p)} ms` : ""
    }`;
  const describe = (d: DecisionReport) =>
    `${d.nodeclaim} at ${d.time - started} ms for ${d.pods!.map(fate).join("; ")} (nodes ${
      nodesOfClaim.get(d.nodeclaim!) ?? "none"
    })`;
  // The scheduler, not proxscale, binds pods: a VM launched for a pending pod may see that pod
  // bound to another new VM that came up first, and get another launch's pod (a swap) or none
  // (a race: every pod it was for ran elsewhere or was deleted by the user). Both are counted
  // and printed apart. A violation is a VM none of whose pods ran on it while one of them never
  // ran anywhere: capacity for a pod that could not use it.
  const ranOn = (d: DecisionReport) => {
    const nodes = nodesOfClaim.get(d.nodeclaim!) ?? [];
    return [...boundTo].filter(([, on]) => nodes.some((n) => on.has(n))).map(([p]) => p);
  };
  const homedElsewhere = (d: DecisionReport) =>
    d.pods!.every((p) => (boundTo.get(p)?.size ?? 0) > 0 || deletedAt.has(p));
  const idle = launches.filter((d) => !ran(d, d.pods!));
  const launchesSwapped = idle.filter((d) => ran(d, launchedFor)).map(describe);
  const launchesRaced = idle.filter((d) => !ran(d, launchedFor) && homedElsewhere(d)).map(describe);
  const launchesUnused = idle.filter((d) => !ran(d, launchedFor) && !homedElsewhere(d)).map((d) =>
    `${describe(d)}, which ran ${ranOn(d).join(",") || "no pod"}`
  );
  const pendingPlaceable = stuck;
  const evicted = reports.filter((d) => (d.what === "Evicted" || d.what === "PodDeleted") && d.pod);
  const evictedOwners = new Set(evicted.map((d) => ownerOf.get(d.pod!) ?? d.pod!));
  const nowhere = new Set(verdicts.filter((v) => v.verdict === "nowhere").map((v) => keyOf(v.pod)));
  // A workload's pending pods after one of its pods was evicted. A DaemonSet's pods are one per
  // node, not replacements of each other: one Pending because the scheduler filled its node
  // before it came is counted apart (daemonPodsStranded), never as an eviction's victim.
  const stranded = podsNow.filter((p) =>
    isPending(p) && nowhere.has(keyOf(p)) &&
    (evictedOwners.has(keyOf(p)) || evictedOwners.has(ownerOf.get(keyOf(p)) ?? ""))
  ).map(keyOf);
  const evictedUnplaceable = stranded.filter((k) => !daemonPods.has(k));
  const daemonPodsStranded =
    podsNow.filter((p) => isPending(p) && nowhere.has(keyOf(p)) && daemonPods.has(keyOf(p))).length;
  return {
    launches: launches.length,
    launchesUnused,
    launchesSwapped,
    launchesRaced,
    pendingPlaceable,
    evictions: evicted.length,
    evictedUnplaceable,
    daemonPodsStranded,
    nodesChecked: nodesSeen.size,
    hostMismatches: [...hostMismatches],
    unplaceable: nowhere.size,
    layout,
    timeline,
    launchLog: launches.map((d) =>
      `${d.nodeclaim}@${d.time - started}ms:${d.pods!.map((p) => p.split("/")[1]).join(",")}`
    ),
    wallMs: Date.now() - started,
  };
}

const RUNS = Number(Deno.env.get("PROXSCALE_PROPERTY_RUNS") ?? "4");
/** The fast-check seed: given to replay, else a fresh one printed before the first run. */
const SEED = Number(
  Deno.env.get("PROXSCALE_PROPERTY_SEED") ?? Math.floor(Math.random() * 2 ** 31),
);
/** A printed counterexample, `[workload, clusterSeed]`, to run alone. */
const REPLAY = Deno.env.get("PROXSCALE_PROPERTY_REPLAY");
/**
 * Counterexamples the long runs found, replayed first on every run so they stay fixed. Found by
 * `deno task e2e-property` on 2026-12-07: pods asking 3.75Gi were given 2c-4Gi VMs whose
 * kubelet keeps its 100Mi eviction threshold free on top of the 256Mi reserved, so the pods never
 * fit, the empty VMs were consolidated and launched again (100 launches in 25 s).
 */
const FOUND: [Workload, number][] = [
  [{
    deployments: [{
      name: "web0",
      replicas: 4,
      cpu: 500,
      memoryMiB: 3840,
      antiAffinity: true,
      hostPort: 8080,
    }],
    gpuPod: true,
    statefulSet: { replicas: 2, cpu: 800, memoryMiB: 768 },
    scaleFirstTo: 0,
  }, 981450],
];

const inputs: fc.Arbitrary<[Workload, number]> = REPLAY
  ? fc.constant(JSON.parse(REPLAY) as [Workload, number])
  : fc.tuple(workloadArb, fc.integer({ min: 1, max: 1_000_000 }));

Deno.test({
  name:
    "every launched VM runs a pod it was launched for, no placeable pod stays Pending, no eviction strands a pod, and every Node's host label names its VM's host",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const totals = {
      runs: 0,
      launches: 0,
      launchesUnused: 0,
      launchesSwapped: 0,
      launchesRaced: 0,
      pendingPlaceable: 0,
      evictions: 0,
      evictedUnplaceable: 0,
      daemonPodsStranded: 0,
      nodesChecked: 0,
      hostMismatches: 0,
      unplaceable: 0,
      daemonKillHung: 0,
    };
    const started = Date.now();
    let run = 0;
    console.log(`fast-check seed ${SEED} (replay: PROXSCALE_PROPERTY_SEED=${SEED})`);
    await fc.assert(
      fc.asyncProperty(inputs, async ([w, seed]) => {
        run++;
        const f = await runWorkload(w, seed, run);
        console.log(
          `run ${run}/${RUNS} cluster seed ${seed}: ${f.wallMs} ms, ${f.launches} launches (${f.launchesSwapped.length} swapped, ${f.launchesRaced.length} raced), ${f.evictions} evictions; ${
            f.timeline.join(", ")
          }`,
        );
        totals.runs++;
        totals.launches += f.launches;
        totals.launchesUnused += f.launchesUnused.length;
        totals.launchesSwapped += f.launchesSwapped.length;
        totals.launchesRaced += f.launchesRaced.length;
        totals.pendingPlaceable += f.pendingPlaceable.length;
        totals.evictions += f.evictions;
        totals.evictedUnplaceable += f.evictedUnplaceable.length;
        totals.daemonPodsStranded += f.daemonPodsStranded;
        totals.nodesChecked += f.nodesChecked;
        totals.hostMismatches += f.hostMismatches.length;
        totals.unplaceable += f.unplaceable;
        if (f.timeline.some((t) => t.startsWith("daemon kill still pending"))) {
          totals.daemonKillHung++;
        }
        const bad = {
          launchesUnused: f.launchesUnused,
          pendingPlaceable: f.pendingPlaceable,
          evictedUnplaceable: f.evictedUnplaceable,
          hostMismatches: f.hostMismatches,
        };
        if (Object.values(bad).some((v) => v.length > 0)) {
          console.log(`counterexample (cluster seed ${seed}): ${JSON.stringify(w)}`);
          console.log(`violations: ${JSON.stringify(bad)}`);
          console.log(`nodes at the end: ${f.layout}`);
          console.log(`launches: ${f.launchLog.join(" ")}`);
        }
        assert.deepEqual(bad, {
          launchesUnused: [],
          pendingPlaceable: [],
          evictedUnplaceable: [],
          hostMismatches: [],
        });
      }),
      {
        numRuns: REPLAY ? 1 : RUNS,
        examples: REPLAY ? [] : FOUND.map((x): [[Workload, number]] => [x]),
        endOnFailure: true,
        seed: SEED,
        reporter: (out) => {
          console.log(`fast-check seed ${out.seed}`);
          if (out.failed) {
            throw new Error(
              `property failed (replay: PROXSCALE_PROPERTY_SEED=${out.seed}, or alone: PROXSCALE_PROPERTY_REPLAY='${
                JSON.stringify(out.counterexample?.[0])
              }')\n${out.errorInstance}`,
            );
          }
        },
      },
    );
    console.log(`totals ${JSON.stringify({ ...totals, wallMs: Date.now() - started })}`);
  },
});
