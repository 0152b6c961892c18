/**
 * In-memory fakes of the termination ports and a virtual clock, shared by the termination unit
 * tests and the property test in tests/. The fake cluster records every call and notes any VM
 * deleted while pods that need a drain still run on its node.
 *
 * Test-only.
 */
import type { Clock } from "../ports/clock.ts";
import type { EvictError, PortError, TerminationPorts, TerminationTarget } from "../termination.ts";
import type { Pod, PodDisruptionBudget, Taint } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { PlannedClaim } from "../../core/provisioning.ts";
import { T0 } from "../../core/testing/arbitraries.ts";
import { toleratesDisruption } from "../../core/drain.ts";

/** A virtual clock: sleeping advances time at once. */
export class FakeClock implements Clock {
  t = T0;
  sleeps = 0;
  now() {
    return this.t;
  }
  sleep(ms: number) {
    this.sleeps += 1;
    this.t += ms;
    return Promise.resolve();
  }
}

type Terminating = { pod: Pod; goneAt: number };

/** An in-memory cluster and provider behind the termination ports, recording every call. */
export class FakeCluster implements TerminationPorts {
  readonly calls: string[] = [];
  readonly taints = new Map<string, Taint[]>();
  readonly vms = new Set<string>();
  readonly nodes = new Set<string>();
  readonly finalizers = new Set<string>();
  /** Problems the fake saw: a VM deleted while pods still ran on its node. */
  readonly violations: string[] = [];
  pods: Pod[];
  terminating: Terminating[] = [];
  pdbs: PodDisruptionBudget[] = [];
  /** How an eviction answers; default: accepted. */
  evictAnswer: (pod: Pod) => Result<"evicted" | "gone", EvictError> = () => ok("evicted");
  /** Pod termination time after eviction or delete (ms); Infinity = stuck terminating. */
  terminationTime = 1_000;
  replacementStates: ("Pending" | "Ready" | "Failed")[] = ["Pending", "Ready"];
  failures = new Map<string, number>();
  evictAttempts: { pod: string; at: number }[] = [];
  deleteGrace: number[] = [];

  constructor(readonly clock: FakeClock, pods: Pod[], node = "n1", claim = "n1-claim") {
    this.pods = pods;
    this.vms.add(claim);
    this.nodes.add(node);
    this.finalizers.add(claim);
  }

  #fail(op: string): PortError | undefined {
    const n = this.failures.get(op) ?? 0;
    if (n <= 0) return undefined;
    this.failures.set(op, n - 1);
    return { kind: "PortError", message: `${op} failed (injected)` };
  }

  #settle() {
    const now = this.clock.now();
    const gone = new Set(this.terminating.filter((t) => t.goneAt <= now).map((t) => t.pod.uid));
    this.pods = this.pods.filter((p) => !gone.has(p.uid));
    this.terminating = this.terminating.filter((t) => !gone.has(t.pod.uid));
  }

  #stop(pod: Pod) {
    const p = this.pods.find((x) => x.uid === pod.uid);
    if (!p || p.deleting) return;
    p.deleting = true;
    this.terminating.push({ pod: p, goneAt: this.clock.now() + this.terminationTime });
  }

  taintNode(node: string, taint: Taint) {
    this.calls.push(`taint ${node}`);
    const e = this.#fail("taint");
    if (e) return Promise.resolve(err(e));
    this.taints.set(node, [...(this.taints.get(node) ?? []), taint]);
    return Promise.resolve(ok(undefined));
  }
  untaintNode(node: string, key: string) {
    this.calls.push(`untaint ${node}`);
    this.taints.set(node, (this.taints.get(node) ?? []).filter((t) => t.key !== key));
    return Promise.resolve(ok(undefined));
  }
  launchReplacement(claim: PlannedClaim) {
    this.calls.push(`launch ${claim.name}`);
    return Promise.resolve(ok(undefined));
  }
  replacementStatus(name: string) {
    const s = this.replacementStates.length > 1
      ? this.replacementStates.shift()!
      : this.replacementStates[0]!;
    this.calls.push(`status ${name} ${s}`);
    return Promise.resolve(ok(s));
  }
  listPods(node: string) {
    this.#settle();
    return Promise.resolve(ok(this.pods.filter((p) => p.nodeName === node).map((p) => ({ ...p }))));
  }
  listPdbs() {
    return Promise.resolve(ok(this.pdbs));
  }
  evict(pod: Pod) {
    this.evictAttempts.push({ pod: pod.name, at: this.clock.now() });
    const r = this.evictAnswer(pod);
    if (r.ok) {
      this.calls.push(`evict ${pod.name}`);
      this.#stop(pod);
    }
    return Promise.resolve(r);
  }
  deletePod(pod: Pod, grace: number) {
    this.calls.push(`delete-pod ${pod.name}`);
    this.deleteGrace.push(grace);
    this.#stop(pod);
    return Promise.resolve(ok("deleted" as const));
  }
  deleteVm(t: TerminationTarget) {
    this.#settle();
    const e = this.#fail("deleteVm");
    if (e) return Promise.resolve(err(e));
    const running = this.pods.filter((p) =>
      p.nodeName === t.node && p.ownerKind !== "Node" && !p.deleting && !toleratesDisruption(p)
    );
    if (running.length > 0) {
      this.violations.push(`VM of ${t.node} deleted under ${running.map((p) => p.name)}`);
    }
    this.calls.push(`delete-vm ${t.nodeClaim}`);
    this.vms.delete(t.nodeClaim);
    return Promise.resolve(ok("deleted" as const));
  }
  deleteNode(node: string) {
    this.calls.push(`delete-node ${node}`);
    this.nodes.delete(node);
    return Promise.resolve(ok(undefined));
  }
  releaseFinalizer(claim: string) {
    this.calls.push(`release ${claim}`);
    this.finalizers.delete(claim);
    return Promise.resolve(ok(undefined));
  }
}
