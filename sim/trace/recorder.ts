/**
 * Recording a live cluster as a proxscale trace: a pure recorder fed pod changes (from any
 * source that implements PodWatch; `proxscale record` wires the Kubernetes adapter's pod
 * informer). A pod is created in the trace when first seen (pods already running when the
 * recording starts arrive at 0), deleted when it is deleted or finishes (Succeeded/Failed), and
 * its first bind is kept as the recorded reference. DaemonSet and static (node-owned) pods follow
 * nodes, not autoscaling, and are left out and counted.
 *
 * May import: core/, sim/trace/format.ts.
 */
import type { Pod } from "../../core/model.ts";
import { podRequests } from "../../core/pod_requests.ts";
import { sortPods, type Trace, type TracePod } from "./format.ts";

/** One observed change of a pod. */
export type PodChange = { type: "add" | "update" | "delete"; pod: Pod };

/** A source of pod changes (the port `proxscale record` plugs the Kubernetes informer into). */
export interface PodWatch {
  /** Starts delivering changes (the current pods first, as adds). */
  start(onChange: (change: PodChange) => void): Promise<void>;
  /** Stops and releases every connection and timer. */
  stop(): Promise<void>;
}

/** Builds a trace from pod changes observed since `start` (epoch ms). */
export class TraceRecorder {
  readonly #pods = new Map<string, TracePod>();
  readonly #done: TracePod[] = [];
  #skipped = 0;
  #seen = new Set<string>();
  /** Pods already bound when first seen: their bind time is before the recording. */
  #boundBefore = new Set<string>();

  constructor(readonly start: number, readonly name = "recorded") {}

  /** Records one change seen at `now` (epoch ms). */
  observe(change: PodChange, now: number): void {
    const p = change.pod;
    const t = Math.max(0, now - this.start);
    if (p.ownerKind === "DaemonSet" || p.ownerKind === "Node") {
      if (!this.#seen.has(p.uid)) {
        this.#seen.add(p.uid);
        this.#skipped++;
      }
      return;
    }
    let tp = this.#pods.get(p.uid);
    if (!tp) {
      if (this.#seen.has(p.uid)) return; // already finished and recorded
      this.#seen.add(p.uid);
      const r = podRequests(p);
      tp = {
        namespace: p.namespace,
        name: p.name,
        arrival: Math.max(0, Math.min(t, p.createdAt - this.start)),
        cpu: r.cpu,
        memory: r.memory,
      };
      if (p.ownerKind) tp.owner = `${p.ownerKind}/${p.ownerName ?? ""}`;
      if (p.priority !== undefined) tp.priority = p.priority;
      if (p.labels && Object.keys(p.labels).length) tp.labels = p.labels;
      if (p.nodeSelector && Object.keys(p.nodeSelector).length) tp.nodeSelector = p.nodeSelector;
      if (p.tolerations?.length) tp.tolerations = p.tolerations;
      if (p.requiredNodeAffinity?.length) tp.requiredNodeAffinity = p.requiredNodeAffinity;
      this.#pods.set(p.uid, tp);
      if (p.nodeName && p.createdAt < this.start) this.#boundBefore.add(p.uid);
    }
    if (p.nodeName && tp.recordedBind === undefined && !this.#boundBefore.has(p.uid)) {
      tp.recordedBind = Math.max(tp.arrival, t);
    }
    const finished = change.type === "delete" || p.phase === "Succeeded" || p.phase === "Failed";
    if (finished) {
      tp.departure = Math.max(tp.arrival, t);
      this.#pods.delete(p.uid);
      this.#boundBefore.delete(p.uid);
      this.#done.push(tp);
    }
  }

  /** The trace so far, ending at `now`; pods still running have no departure. */
  finish(now: number): Trace {
    const pods = [...this.#done, ...this.#pods.values()].map((p) => ({ ...p }));
    sortPods(pods);
    return {
      name: this.name,
      source: `recorded from a live cluster starting ${new Date(this.start).toISOString()}`,
      duration: Math.max(0, now - this.start),
      pods,
      nodes: [],
      pdbs: [],
      notes: this.#skipped ? [`${this.#skipped} DaemonSet or static pods left out`] : [],
    };
  }
}
