/**
 * Tells a pod's owner why proxscale brings it no capacity: for every Unschedulable pod the
 * provisioning plan could not help (no pool admits it, no shape holds it, a limit or a tenant
 * quota stops it, a host has no room, a batch or a window makes it wait), an Event on the pod
 * with the plan's reason code and message, so `kubectl describe pod` says it next to the
 * scheduler's FailedScheduling. Written once per pod and message, again only when the message
 * changes or the pod was helped in between.
 *
 * A pass writes at most WAIT_EVENTS_PER_PASS new Events and awaits them before the next pass: a
 * cluster with 100,000 pods that fit no shape must not hold a pass on 100,000 writes. The rest
 * are written by the passes after it, oldest news first.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Snapshot } from "../core/model.ts";
import type { ReasonCode } from "../core/reason.ts";
import { type EventRecorder, podSubject } from "../adapters/kubernetes/events.ts";

/** New pod Events one pass writes at most. */
export const WAIT_EVENTS_PER_PASS = 50;

/**
 * Reasons that say why a pod is not a provisioning matter at all (being deleted, a DaemonSet's,
 * not yet marked Unschedulable): the scheduler's own word covers them, an Event would be noise.
 */
const NOT_OURS: ReadonlySet<ReasonCode> = new Set([
  "PodNotManaged",
  "DaemonSetPod",
  "PodNotUnschedulable",
]);

/** Records, pass by pass, why each unhelped pod waits. */
export class PodWaitEvents {
  /** pod key → the message last written for it. */
  #said = new Map<string, string>();

  constructor(private readonly events: EventRecorder | undefined) {}

  /** Writes an Event for each pod whose reason to wait is news (up to the per-pass bound). */
  async observe(plan: ProvisionPlan, snapshot: Snapshot): Promise<void> {
    const now = new Map<string, { code: ReasonCode; message: string }>();
    for (const u of plan.unhelped) if (!NOT_OURS.has(u.reason.code)) now.set(u.pod, u.reason);
    for (const key of [...this.#said.keys()]) if (!now.has(key)) this.#said.delete(key);
    if (!this.events) return;
    const news: string[] = [];
    for (const [key, r] of now) {
      if (this.#said.get(key) === r.message) continue;
      news.push(key);
      if (news.length === WAIT_EVENTS_PER_PASS) break;
    }
    if (news.length === 0) return;
    const uids = new Map<string, string>();
    const wanted = new Set(news);
    for (const p of snapshot.pods) {
      const key = `${p.namespace}/${p.name}`;
      if (wanted.has(key)) uids.set(key, p.uid);
    }
    // Queued together: the recorder keeps its own bound on writes in flight.
    await Promise.all(news.map(async (key) => {
      const r = now.get(key)!;
      const w = await this.events!.record(podSubject(key, uids.get(key)), r);
      if (w.ok) this.#said.set(key, r.message);
    }));
  }
}
