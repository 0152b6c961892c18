import assert from "node:assert/strict";
import { runSimulation } from "../engine/engine.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { defaultSimConfig } from "./default_config.ts";
import { clusterAutoscalerPolicy } from "./cluster_autoscaler.ts";
import { karpenterPolicy } from "./karpenter.ts";
import { kubeNodeSmithPolicy } from "./kubenodesmith.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB } from "../../core/quantity.ts";

const S = 1000;
const H = 3_600_000;

function world() {
  const w = defaultWorld();
  w.delays = {
    clone: { kind: "constant", value: 10 * S },
    boot: { kind: "constant", value: 20 * S },
    join: { kind: "constant", value: 10 * S },
    drainPerPod: { kind: "constant", value: 0 },
    destroy: { kind: "constant", value: 5 * S },
  };
  w.cloneFailure = 0;
  return w;
}

function pods(n: number, departure: number): TracePod[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: "t",
    name: `p${i}`,
    arrival: 0,
    departure,
    cpu: 1000,
    memory: GiB,
    owner: "Deployment/x",
  }));
}

const trace = (p: TracePod[]): Trace => ({
  name: "t",
  source: "test",
  duration: 2 * H,
  pods: p,
  nodes: [],
  pdbs: [],
  notes: [],
});

Deno.test("CA-like: one scan packs 6 pods onto 2 nodes; empty nodes live >= 20 min after scale-up", () => {
  const r = runSimulation({
    trace: trace(pods(6, 5 * 60 * S)),
    policy: clusterAutoscalerPolicy(defaultSimConfig()),
    world: world(),
    seed: 1,
  });
  assert.equal(r.summary.vmCreates, 2);
  // Scan at 10 s, ready at 50 s; pods leave at 5 min; scale-down only after
  // delay-after-add (10 min from 10 s) and 10 min unneeded (from 5 min): about 20 min.
  const life = r.summary.nodeHours / 2 * 60;
  assert.ok(life >= 20 && life < 21, `node life ${life} min`);
  assert.deepEqual(r.summary.nodesRemovedByReason, { Empty: 2 });
});

Deno.test("KubeNodeSmith-like: one VM per pending pod, all idle nodes deleted at once", () => {
  const r = runSimulation({
    trace: trace(pods(6, 5 * 60 * S)),
    policy: kubeNodeSmithPolicy(defaultSimConfig()),
    world: world(),
    seed: 1,
  });
  assert.equal(r.summary.vmCreates, 6);
  assert.deepEqual(r.summary.nodesRemovedByReason, { Empty: 6 });
  const life = r.summary.nodeHours / 6 * 60;
  assert.ok(life < 6, `node life ${life} min`);
  assert.equal(r.summary.shortLivedNodes, 6, "each VM lived under 10 minutes");
});

Deno.test("Karpenter-like: consolidates two half-empty nodes into one", () => {
  // 6 pods fill two nodes (3 each); 4 leave at 30 min: the last two fit on one node.
  const p = pods(6, 2 * H).map((x, i) => (i < 4 ? { ...x, departure: 30 * 60 * S } : x));
  const r = runSimulation({
    trace: trace(p),
    policy: karpenterPolicy(defaultSimConfig()),
    world: world(),
    seed: 1,
  });
  assert.ok(
    (r.summary.nodesRemovedByReason.Underutilized ?? 0) +
        (r.summary.nodesRemovedByReason.Empty ?? 0) >= 1,
  );
  assert.equal(r.summary.podsNeverScheduled, 0);
  const end = r.samples[r.samples.length - 1]!;
  assert.equal(end.nodes, 1);
});
