/**
 * The fault plan of a fake cluster: PVE and API server faults applied at start, and a timeline
 * of events (a host going offline and back, a node's kubelet going NotReady or silent, every
 * watch dropped). Written as YAML or JSON for `proxscale fake-cluster --faults FILE`:
 *
 * ```yaml
 * pve:                      # the fake PVE's FaultConfig, e.g. 5xx on a share of clones
 *   errors: [{ endpoint: clone, status: 500, rate: 0.2 }]
 * kube:                     # the fake API server's faults
 *   errorRate: 0.05
 *   watchDropAfterMs: 20000
 * timeline:                 # seconds from the cluster's start
 *   - { at: 30, hostOffline: pve2 }
 *   - { at: 90, hostOnline: pve2 }
 *   - { at: 40, node: worker-1, kubelet: unreachable }   # notready | unreachable | healthy
 *   - { at: 60, dropWatches: true }
 * ```
 *
 * May import: fakes/ (never core/).
 */
import { parse } from "yaml";
import type { FakeKube } from "../fake_kube/server.ts";
import type { FakePve } from "../fake_pve/server.ts";
import type { FaultConfig } from "../fake_pve/faults.ts";
import type { KubeFaults } from "../fake_kube/faults.ts";
import type { Kubelets } from "./kubelet/kubelets.ts";
import { err, ok, type Result } from "../result.ts";

/** One timed event; `at` in seconds from start. */
export type FaultEvent =
  | { at: number; hostOffline: string }
  | { at: number; hostOnline: string }
  | { at: number; node: string; kubelet: "notready" | "unreachable" | "healthy" }
  | { at: number; dropWatches: true };

/** What `--faults` holds. */
export type FaultPlan = {
  pve?: FaultConfig;
  kube?: Partial<Pick<KubeFaults, "errorRate" | "watchErrorRate" | "watchDropAfterMs">> & {
    latencyMs?: { min: number; max: number };
  };
  timeline?: FaultEvent[];
};

const KUBE_KEYS = new Set(["errorRate", "watchErrorRate", "watchDropAfterMs", "latencyMs"]);

/** Parses a plan; errors name the field (`timeline[1].at: ...`). */
export function parseFaultPlan(text: string): Result<FaultPlan, string> {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 0 });
  } catch (e) {
    return err(`not YAML or JSON: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
  }
  if (doc === null || doc === undefined) return ok({});
  if (!isRecord(doc)) return err("the plan must be a mapping with pve, kube and timeline");
  for (const k of Object.keys(doc)) {
    if (!["pve", "kube", "timeline"].includes(k)) {
      return err(`${k}: unknown field (expected pve, kube or timeline)`);
    }
  }
  const plan: FaultPlan = {};
  if (doc.pve !== undefined) {
    if (!isRecord(doc.pve)) return err("pve: must be a mapping of the fake PVE's faults");
    plan.pve = doc.pve as FaultConfig;
  }
  if (doc.kube !== undefined) {
    if (!isRecord(doc.kube)) return err("kube: must be a mapping");
    for (const [k, v] of Object.entries(doc.kube)) {
      if (!KUBE_KEYS.has(k)) return err(`kube.${k}: unknown field (expected ${[...KUBE_KEYS]})`);
      if (k === "latencyMs") {
        if (!isRecord(v) || typeof v.min !== "number" || typeof v.max !== "number") {
          return err("kube.latencyMs: must be { min: ms, max: ms }");
        }
      } else if (typeof v !== "number" || v < 0) {
        return err(`kube.${k}: must be a non-negative number`);
      }
    }
    plan.kube = doc.kube as NonNullable<FaultPlan["kube"]>;
  }
  if (doc.timeline !== undefined) {
    if (!Array.isArray(doc.timeline)) return err("timeline: must be a list of events");
    const events: FaultEvent[] = [];
    for (const [i, e] of doc.timeline.entries()) {
      const parsed = parseEvent(e);
      if (!parsed.ok) return err(`timeline[${i}]: ${parsed.error}`);
      events.push(parsed.value);
    }
    plan.timeline = events;
  }
  return ok(plan);
}

function parseEvent(e: unknown): Result<FaultEvent, string> {
  if (!isRecord(e)) return err("must be a mapping");
  if (typeof e.at !== "number" || !(e.at >= 0)) return err("at: must be seconds from start (>= 0)");
  const at = e.at;
  if (typeof e.hostOffline === "string") return ok({ at, hostOffline: e.hostOffline });
  if (typeof e.hostOnline === "string") return ok({ at, hostOnline: e.hostOnline });
  if (e.dropWatches === true) return ok({ at, dropWatches: true });
  if (typeof e.node === "string") {
    if (e.kubelet === "notready" || e.kubelet === "unreachable" || e.kubelet === "healthy") {
      return ok({ at, node: e.node, kubelet: e.kubelet });
    }
    return err("kubelet: must be notready, unreachable or healthy");
  }
  return err("expected one of hostOffline, hostOnline, node + kubelet, dropWatches");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Plays the timeline against a running cluster; `stop` cancels what has not happened yet. */
export function runFaultPlan(
  timeline: FaultEvent[],
  cluster: { pve: FakePve; kube: FakeKube; kubelets: Kubelets },
): { stop(): void } {
  const timers = timeline.map((e) =>
    setTimeout(() => {
      if ("hostOffline" in e) cluster.pve.model.setHostOnline(e.hostOffline, false);
      else if ("hostOnline" in e) cluster.pve.model.setHostOnline(e.hostOnline, true);
      else if ("dropWatches" in e) cluster.kube.faults.dropWatches();
      else cluster.kubelets.setNodeFault(e.node, e.kubelet === "healthy" ? undefined : e.kubelet);
    }, e.at * 1000)
  );
  return { stop: () => timers.forEach(clearTimeout) };
}
