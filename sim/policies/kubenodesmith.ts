/**
 * A KubeNodeSmith-v0-like baseline, the simple scaler operators write first: every 10 s, one
 * new VM for each unschedulable pod that has none on the way (the smallest shape of the first
 * pool that accepts it and, for a GPU pod, has its GPUs), and every idle node deleted at once,
 * with no waiting and no budget.
 *
 * May import: core/, sim/engine/policy.ts, sim/policies/baseline_support.ts.
 */
import type { Config, Resources, Snapshot } from "../../core/model.ts";
import { podExtendedRequests, podRequests } from "../../core/pod_requests.ts";
import { reason } from "../../core/reason.ts";
import type { Decision, Deletion, Launch, Policy } from "../engine/policy.ts";
import {
  inFlightClaims,
  launchOn,
  nodeUsage,
  poolAccepts,
  poolsByWeight,
  shapeServes,
  templateOf,
  unschedulablePods,
} from "./baseline_support.ts";

export type KnsState = {
  /** Pod uid -> the claim launched for it. */
  launchedFor: Readonly<Record<string, string>>;
  seq: number;
};

/** The KubeNodeSmith-v0-like decide. */
export function knsDecide(snap: Snapshot, config: Config, state: KnsState): Decision<KnsState> {
  const flight = new Set(inFlightClaims(snap).map((c) => c.name));
  const launchedFor: Record<string, string> = {};
  let seq = state.seq;
  const launches: Launch[] = [];
  const planned = new Map<string, Resources>();
  for (const p of unschedulablePods(snap)) {
    const prev = state.launchedFor[p.uid];
    if (prev !== undefined && flight.has(prev)) {
      launchedFor[p.uid] = prev;
      continue;
    }
    const r = podRequests(p);
    const ext = podExtendedRequests(p);
    for (const pool of poolsByWeight(config)) {
      const t = templateOf(config, pool);
      if (!t || !poolAccepts(pool, t, p)) continue;
      const shape = t.shapes.find((s) => shapeServes(t, s, r, ext));
      if (!shape) continue;
      const name = `kns-${(seq++).toString(36)}`;
      const l = launchOn(
        snap,
        config,
        pool,
        t,
        shape,
        name,
        planned,
        reason("PodsPending", `one VM for pending pod ${p.namespace}/${p.name}`),
      );
      if (!l) continue;
      launches.push(l);
      launchedFor[p.uid] = name;
      break;
    }
  }
  const deletions: Deletion[] = [];
  for (const u of nodeUsage(snap)) {
    if (u.claim !== undefined && u.pods.length === 0) {
      deletions.push({ claim: u.claim, reason: reason("Empty", `node ${u.node.name} is idle`) });
    }
  }
  return { launches, deletions, state: { launchedFor, seq } };
}

/** The KubeNodeSmith-v0-like baseline. */
export function kubeNodeSmithPolicy(config: Config): Policy<KnsState> {
  return {
    name: "kubenodesmith-v0",
    description:
      "KubeNodeSmith v0-like: one VM per pending pod, every idle node deleted at once, 10s poll",
    config,
    trigger: { kind: "interval", every: 10_000 },
    initialState: () => ({ launchedFor: {}, seq: 0 }),
    decide: knsDecide,
  };
}
