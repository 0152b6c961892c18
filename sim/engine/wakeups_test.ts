/**
 * Tests that the engine asks the policy again after every change that can enable a decision
 * (a VM destroyed, a VM cloned, a node Ready, a pod gone, a timer the policy asked for), so no
 * node the policy would remove waits for an unrelated pod event.
 *
 * May import: sim/, core/.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { runSimulation } from "./engine.ts";
import { defaultWorld, type WorldSpec } from "./world_spec.ts";
import type { SimNode } from "./world.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB, MiB } from "../../core/quantity.ts";
import type { Config } from "../../core/model.ts";

const S = 1000;
const MIN = 60 * S;
const H = 3_600_000;

function fixedWorld(): WorldSpec {
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

/**
 * Watches every autoscaled node: the longest time one stayed Ready, empty and not deleted while
 * nothing blocked its removal. `blocked()` says the policy holds a disruption command waiting on
 * replacements; a node being drained also counts, since both take the pool's disruption budget.
 * The clock of an empty node restarts while anything blocks it.
 */
function emptyWatcher(blocked: () => boolean = () => false) {
  const since = new Map<SimNode, number>();
  let longest = 0;
  let who = "";
  const observe = (now: number, nodes: Iterable<SimNode>) => {
    const seen = new Set<SimNode>();
    const all = [...nodes];
    const hold = blocked() || all.some((n) => n.phase === "draining");
    for (const n of all) {
      seen.add(n);
      const empty = n.phase === "ready" && n.pods.size === 0;
      if (empty && (hold || !since.has(n))) since.set(n, now);
      if (!empty && since.has(n)) {
        const d = now - since.get(n)!;
        if (d > longest) [longest, who] = [d, n.name];
        since.delete(n);
      }
    }
    for (const [n, t] of since) {
      if (seen.has(n)) continue;
      const d = now - t;
      if (d > longest) [longest, who] = [d, n.name];
      since.delete(n);
    }
  };
  const finish = (end: number) => {
    for (const [n, t] of since) if (end - t > longest) [longest, who] = [end - t, n.name];
    return { longest, who };
  };
  return { observe, finish };
}

Deno.test("empty 16-vCPU nodes on a sparse trace go within minutes, not at the next arrival", () => {
  // Four 15-vCPU pods take one 16-vCPU node each and all leave at 1 h; nothing arrives until
  // 19 h. The pool disrupts one node at a time (scaleDown.maxConcurrent 1), so every node after
  // the first becomes removable only when the previous VM is destroyed.
  // The windows of the report (consolidateAfter 1 min, stabilization 5 min).
  const config = defaultSimConfig({
    shapes: [shapeOf(16, 64)],
    consolidateAfterMs: 60_000,
    stabilizationWindowMs: 300_000,
  });
  const pods: TracePod[] = Array.from({ length: 4 }, (_, i) => ({
    namespace: "t",
    name: `big-${i}`,
    arrival: 0,
    departure: H,
    cpu: 15_000,
    memory: 8 * GiB,
  }));
  pods.push({
    namespace: "t",
    name: "late",
    arrival: 19 * H,
    departure: 20 * H,
    cpu: 500,
    memory: GiB,
  });
  const trace: Trace = {
    name: "sparse",
    source: "test",
    duration: 24 * H,
    pods,
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const w = emptyWatcher();
  const r = runSimulation({
    trace,
    policy: proxscalePolicy(config),
    world: fixedWorld(),
    seed: 1,
    observe: w.observe,
  });
  const { longest } = w.finish(24 * H);
  assert.equal(r.summary.vmCreates, 5);
  assert.equal(r.summary.vmDeletes, 5);
  // consolidateAfter 1 min + stabilization 5 min, then three more deletions one after another.
  assert.ok(longest < 10 * MIN, `a node stayed empty ${longest / MIN} min`);
  // 4 nodes for about 1 h 7 min each plus the late pod's node: far from 4 x 18 h.
  assert.ok(r.summary.nodeHours < 7, `${r.summary.nodeHours} node-hours`);
});

/**
 * The built-in config with a 100 % budget: what holds an empty node is the pool's own windows
 * and scaleDown.maxConcurrent while other nodes drain (which the watcher counts as blocked).
 */
function unblockedConfig(after: number, window: number, maxConcurrent: number): Config {
  const c = defaultSimConfig({
    consolidateAfterMs: after,
    stabilizationWindowMs: window,
    maxConcurrentDisruptions: maxConcurrent,
  });
  c.nodePools[0]!.disruption.budgets = [{ nodes: "100%" }];
  return c;
}

const podArb = fc.record({
  arrival: fc.integer({ min: 0, max: 6 * H }),
  life: fc.integer({ min: 1000, max: 2 * H }),
  cpu: fc.constantFrom(250, 1000, 2000, 3500),
  mem: fc.constantFrom(256, 1024, 4096, 7000),
  batch: fc.boolean(),
});

Deno.test("no unblocked node stays empty longer than consolidateAfter + stabilization window + one batch", () => {
  fc.assert(
    fc.property(
      fc.array(podArb, { minLength: 1, maxLength: 12 }),
      fc.constantFrom(0, 30 * S, MIN, 5 * MIN),
      fc.constantFrom(0, MIN, 5 * MIN),
      fc.constantFrom(1, 2, 1000),
      fc.integer({ min: 0, max: 1000 }),
      (raw, after, window, maxConcurrent, seed) => {
        const pods: TracePod[] = raw.map((p, i) => ({
          namespace: "p",
          name: `p${i}`,
          arrival: p.arrival,
          ...(p.batch ? { runFor: p.life } : { departure: p.arrival + p.life }),
          cpu: p.cpu,
          memory: p.mem * MiB,
          owner: "Deployment/x",
        }));
        pods.sort((a, b) => a.arrival - b.arrival || (a.name < b.name ? -1 : 1));
        const trace: Trace = {
          name: "prop",
          source: "",
          duration: 10 * H,
          pods,
          nodes: [],
          pdbs: [],
          notes: [],
        };
        const config = unblockedConfig(after, window, maxConcurrent);
        const policy = proxscalePolicy(config);
        let waiting = false;
        const decide = policy.decide;
        policy.decide = (snap, cfg, state) => {
          const d = decide(snap, cfg, state);
          waiting = d.state.waiting.length > 0;
          return d;
        };
        const w = emptyWatcher(() => waiting);
        runSimulation({ trace, policy, world: defaultWorld(), seed, observe: w.observe });
        const { longest, who } = w.finish(10 * H);
        const allowed = after + window + config.settings.batchMax;
        assert.ok(longest <= allowed, `${who} empty for ${longest} ms, allowed ${allowed} ms`);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("the summary's empty node-hours are the time Ready nodes ran no pod", () => {
  const config = defaultSimConfig({ consolidateAfterMs: 60_000, stabilizationWindowMs: 300_000 });
  const trace: Trace = {
    name: "one",
    source: "test",
    duration: 3 * H,
    pods: [{ namespace: "t", name: "a", arrival: 0, departure: H, cpu: 1000, memory: GiB }],
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const w = emptyWatcher();
  let emptyMs = 0;
  let last = 0;
  let count = 0;
  const r = runSimulation({
    trace,
    policy: proxscalePolicy(config),
    world: fixedWorld(),
    seed: 1,
    checkInvariants: true,
    observe: (now, nodes) => {
      emptyMs += count * (now - last);
      last = now;
      count = [...nodes].filter((n) => n.phase === "ready" && n.pods.size === 0).length;
      w.observe(now, nodes);
    },
  });
  emptyMs += count * (3 * H - last);
  // Empty from the departure at 1 h until its deletion: consolidateAfter 1 min after the pass
  // that saw the departure, then the 5 min window.
  assert.ok(Math.abs(r.summary.nodeHoursEmpty - emptyMs / H) < 1e-9);
  assert.ok(r.summary.nodeHoursEmpty > 6 / 60 && r.summary.nodeHoursEmpty < 7 / 60);
});
