/**
 * The real daemon against the fake cluster whose kubelets keep back more memory than the
 * MachineTemplate says (512Mi reserved where the template says 256Mi, both with the kubelet's
 * 100Mi eviction threshold): the new node's shortfall is named in the NodeClaim's Registered
 * condition (what `kubectl describe nodeclaim` shows) and in the RegisterNode decision the
 * daemon reports (its log line, Event, metric label and span carry that reason; this harness
 * takes the reports instead of writing Events). With the kubelets as the template says, neither
 * mentions one.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { type ClusterOptions, startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { KObj } from "../fakes/fake_kube/objects.ts";

type Seen = { registered: string; decision: string };

/** Runs one small pod to a Ready node and returns what the user would read about its claim. */
async function registrationOf(opts: ClusterOptions): Promise<Seen> {
  const cluster = await startDemoCluster({ seed: 7, bootDelayMs: 200, ...opts });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const conditionOf = (): string | undefined => {
      const r = cluster.kube.store.list("nodeclaims.proxscale.io");
      const claims = r.ok ? r.value.items : [];
      const conds = (claims[0]?.status as { conditions?: KObj[] } | undefined)?.conditions ?? [];
      const reg = conds.find((c) => (c as { type?: string }).type === "Registered") as
        | { status: string; message: string }
        | undefined;
      return reg?.status === "True" ? reg.message : undefined;
    };
    const end = Date.now() + 20_000;
    while (conditionOf() === undefined || cluster.world.pendingPods() > 0) {
      if (Date.now() > end) throw new Error("the claim never registered with its pod running");
      await new Promise((r) => setTimeout(r, 50));
    }
    const decision = reports.find((d) => d.what === "RegisterNode")?.reason.message ?? "";
    return { registered: conditionOf()!, decision };
  } finally {
    await cluster.close();
    await queue.close();
  }
}

const SHORTFALL =
  /node \S+ offers pods memory 3\.4Gi \(256Mi less than the 3\.65Gi planned\): its kubelet keeps back more than MachineTemplate worker's reserved and evictionHard\.memory/;

Deno.test("a node whose kubelet keeps 256Mi more than the template says is named where the user looks", async () => {
  const seen = await registrationOf({
    kubeletReservation: { cpuMillis: 100, memoryBytes: 512 * MiB },
  });
  assert.match(seen.registered, SHORTFALL, "the NodeClaim's Registered condition");
  assert.match(seen.decision, SHORTFALL, "the RegisterNode decision");
});

Deno.test("a node whose kubelet keeps what the template says gets no such words", async () => {
  const seen = await registrationOf({});
  assert.match(seen.registered, /^node \S+ joined for NodeClaim/);
  assert.doesNotMatch(seen.registered, /offers pods/);
  assert.match(seen.decision, /^node \S+ joined for NodeClaim/);
  assert.doesNotMatch(seen.decision, /offers pods/);
});
