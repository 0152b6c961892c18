/**
 * The pods of one registered kubelet: admits pods bound to its node in creation order (or
 * rejects them as Failed with OutOf<resource>, NodeAffinity or TaintToleration), reports admitted pods Running with ready
 * containers, completes run-to-completion pods (Succeeded, exit code 0) after their run time,
 * and finishes graceful deletions of its pods once their deletionTimestamp has passed.
 *
 * The API server's own graceful-deletion timer (fake_kube's FakeKubelet) may finish a
 * deletion first; finishing is idempotent, so both may run. With that timer set to "hold",
 * only pods on live kubelets ever finish terminating, as in a real cluster.
 *
 * May import: fakes/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { nodeFitRejection } from "./node_fit.ts";
import { GPU_RESOURCE, type NodeResources } from "./node_status.ts";
import {
  addRequests,
  admitPod,
  type Amounts,
  rejectedStatus,
  runDurationMs,
  runningStatus,
  succeededStatus,
} from "./pod_runtime.ts";

/** A pod this kubelet admitted. */
type Admitted = { startedAt: number; finishAt?: number; podIP: string; done: boolean };

const TERMINAL = new Set(["Succeeded", "Failed"]);

/** Allocatable as admission amounts (cpu millicores, bytes, counts). */
export function admissionAmounts(a: NodeResources): Amounts {
  return {
    cpu: a.cpuMillis,
    memory: a.memoryBytes,
    pods: a.pods,
    "ephemeral-storage": a.ephemeralBytes,
    [GPU_RESOURCE]: a.gpus,
    ...a.extended,
  };
}

/** The pod side of one kubelet. */
export class PodRunner {
  readonly #store: KubeStore;
  readonly #node: string;
  readonly #hostIP: string;
  readonly #subnet: string;
  readonly #admitted = new Map<string, Admitted>();
  #allocatable: Amounts = {};
  #seq = 1;

  constructor(store: KubeStore, node: string, hostIP: string, vmid: number) {
    this.#store = store;
    this.#node = node;
    this.#hostIP = hostIP;
    this.#subnet = `10.${128 + ((vmid >> 8) & 127)}.${vmid & 255}`;
  }

  /** What admission may hand out, from the last status the kubelet posted. */
  setAllocatable(a: NodeResources): void {
    this.#allocatable = admissionAmounts(a);
  }

  #nextIp(): string {
    this.#seq = this.#seq >= 254 ? 2 : this.#seq + 1;
    return `${this.#subnet}.${this.#seq}`;
  }

  /** One pass over the pods bound to this node; `admit` false holds new pods back. */
  step(now: number, admit: boolean, pods: KObj[]): void {
    let node: KObj | undefined;
    const present = new Set<string>();
    const used: Amounts = {};
    let count = 0;
    const waiting: KObj[] = [];
    for (const p of pods) {
      const uid = p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
      present.add(uid);
      if (p.metadata.deletionTimestamp) {
        if (now >= Date.parse(p.metadata.deletionTimestamp)) {
          this.#store.finishDeletion(
            "pods",
            p.metadata.namespace,
            p.metadata.name!,
            p.metadata.uid,
          );
        }
        const a = this.#admitted.get(uid);
        if (a && !a.done) {
          addRequests(used, p);
          count++;
        }
        continue;
      }
      const a = this.#admitted.get(uid);
      if (a) {
        if (!a.done && a.finishAt !== undefined && now >= a.finishAt) this.#complete(p, a, now);
        if (!a.done) {
          addRequests(used, p);
          count++;
        }
        continue;
      }
      if (!TERMINAL.has(p.status?.phase)) waiting.push(p);
    }
    for (const uid of [...this.#admitted.keys()]) if (!present.has(uid)) this.#admitted.delete(uid);
    if (!admit) return;
    waiting.sort((a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
    );
    for (const p of waiting) {
      const uid = p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
      node ??= this.#nodeObject();
      const rejection = admitPod(p, this.#allocatable, used, count) ??
        (node ? nodeFitRejection(p, node) : undefined);
      if (rejection) {
        this.#patch(p, rejectedStatus(rejection, now));
        this.#admitted.set(uid, { startedAt: now, podIP: "", done: true });
        continue;
      }
      const startedAt = p.status?.startTime ? Date.parse(p.status.startTime) : now;
      const run = runDurationMs(p);
      const a: Admitted = {
        startedAt,
        podIP: p.status?.podIP ?? this.#nextIp(),
        done: false,
        ...(run !== undefined ? { finishAt: now + run } : {}),
      };
      if (!this.#patch(p, runningStatus(p, { hostIP: this.#hostIP, podIP: a.podIP }, startedAt))) {
        continue;
      }
      this.#admitted.set(uid, a);
      addRequests(used, p);
      count++;
      if (a.finishAt !== undefined && now >= a.finishAt) this.#complete(p, a, now);
    }
  }

  #nodeObject(): KObj | undefined {
    const r = this.#store.get("nodes", undefined, this.#node);
    return r.ok ? r.value : undefined;
  }

  #complete(p: KObj, a: Admitted, now: number): void {
    const where = { hostIP: this.#hostIP, podIP: a.podIP };
    if (this.#patch(p, succeededStatus(p, where, a.startedAt, now))) a.done = true;
  }

  #patch(p: KObj, status: Record<string, unknown>): boolean {
    const r = this.#store.patch("pods", p.metadata.namespace, p.metadata.name!, "merge", {
      status,
    }, { subresource: "status" });
    return r.ok;
  }

  /** The node this runner serves. */
  get node(): string {
    return this.#node;
  }
}
