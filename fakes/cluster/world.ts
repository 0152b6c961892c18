/**
 * The user's side of a fake cluster: what a person with kubectl does and what they would count.
 * It applies Deployments through the API (the fake controllers make ReplicaSets and pods, the
 * fake scheduler binds them, the kubelets run them) and records, from the outside:
 *
 * - for every pod, when it was created, first marked Unschedulable and bound, and where;
 * - every VM on the fake PVE that the leak audit counts (in the managed VMID range or carrying a
 *   proxscale name, tagged or not), when it appeared and disappeared, and the claim it names.
 *
 * Nothing here decides anything for the cluster: it is the observer the end-to-end tests and
 * the demo read their figures from.
 *
 * May import: fakes/ (never core/).
 */
import type { FakeKube, KObj } from "../fake_kube/server.ts";
import type { FakePve } from "../fake_pve/server.ts";
import { auditVms } from "./audit.ts";
import type { Kubelets } from "./kubelet/kubelets.ts";

/** A deployment of identical pods. cpu in millicores, memory in bytes. */
export type Deployment = { name: string; replicas: number; cpu: number; memory: number };

export type WorldOptions = {
  pve: FakePve;
  kube: FakeKube;
  /** The VMIDs the autoscaler under test manages (the audit counts every VM in it). */
  vmidRange: { lower: number; upper: number };
  /** Period of the VM audit (ms). */
  tickMs: number;
  /** The cluster's kubelets, to record refused joins per VM. */
  kubelets?: Pick<Kubelets, "joinsRefused">;
  namespace?: string;
};

/** What happened to one pod. Times in epoch ms. */
export type PodRecord = {
  name: string;
  createdAt: number;
  unschedulableAt?: number;
  boundAt?: number;
  node?: string;
};

/** One VM as the audit saw it. */
export type VmRecord = {
  vmid: number;
  host: string;
  claim?: string;
  firstSeen: number;
  goneAt?: number;
  /** Boots whose join token the cluster refused (the VM never became a Node then). */
  refused?: number;
};

type PodObj = KObj & {
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
};

const NS = "default";

/** The running observer. */
export class DemoWorld {
  readonly pods = new Map<string, PodRecord>();
  readonly vms = new Map<number, VmRecord>();
  readonly #o: WorldOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #watch: { stop(): void } | undefined;

  constructor(o: WorldOptions) {
    this.#o = o;
  }

  get #store() {
    return this.#o.kube.store;
  }

  get #namespace(): string {
    return this.#o.namespace ?? NS;
  }

  start(): void {
    if (!this.#watch) {
      const w = this.#store.watch("pods", {}, (e) => {
        if (e.type === "ADDED" || e.type === "MODIFIED") this.#observePod(e.object as PodObj);
      });
      if (!w.ok) throw new Error(`cannot watch pods: ${w.error.message}`);
      this.#watch = w.value;
    }
    this.#timer ??= setInterval(() => this.auditVms(), this.#o.tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watch?.stop();
    this.#watch = undefined;
  }

  /** Applies a Deployment (create, or change its replicas and requests). */
  deploy(d: Deployment): void {
    const body = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: d.name, namespace: this.#namespace, labels: { app: d.name } },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: { app: d.name } },
        template: {
          metadata: { labels: { app: d.name } },
          spec: {
            containers: [{
              name: "app",
              image: "registry.local/app:1",
              resources: { requests: { cpu: `${d.cpu}m`, memory: String(d.memory) } },
            }],
          },
        },
      },
    };
    const existing = this.#store.get("deployments.apps", this.#namespace, d.name);
    const r = existing.ok
      ? this.#store.patch("deployments.apps", this.#namespace, d.name, "merge", {
        spec: body.spec,
      })
      : this.#store.create("deployments.apps", body, { namespace: this.#namespace });
    if (!r.ok) throw new Error(`deployment ${d.name}: ${r.error.message}`);
  }

  /** Scales a deployment to `replicas`, as `kubectl scale` does. */
  scale(name: string, replicas: number): void {
    const r = this.#store.patch("deployments.apps", this.#namespace, name, "merge", {
      spec: { replicas },
    });
    if (!r.ok) throw new Error(`scale ${name}: ${r.error.message}`);
  }

  #observePod(p: PodObj): void {
    const name = p.metadata.name!;
    const now = Date.now();
    let rec = this.pods.get(name);
    if (!rec) {
      const created = Date.parse(p.metadata.creationTimestamp ?? "");
      rec = { name, createdAt: Number.isNaN(created) ? now : Math.min(created, now) };
      this.pods.set(name, rec);
    }
    const unschedulable = p.status?.conditions?.some((c) =>
      c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable"
    );
    if (unschedulable && rec.unschedulableAt === undefined) rec.unschedulableAt = now;
    if (p.spec?.nodeName && rec.boundAt === undefined) {
      rec.boundAt = now;
      rec.node = p.spec.nodeName;
    }
  }

  /** One pass of the VM audit (also run on a timer while started). */
  auditVms(): void {
    const now = Date.now();
    const seen = new Set<number>();
    for (const vm of auditVms(this.#o.pve, { vmidRange: this.#o.vmidRange }).vms) {
      seen.add(vm.vmid);
      let rec = this.vms.get(vm.vmid);
      if (!rec || rec.goneAt !== undefined) {
        rec = { vmid: vm.vmid, host: vm.host, firstSeen: now };
        this.vms.set(vm.vmid, rec);
      }
      rec.host = vm.host;
      if (vm.claim) rec.claim = vm.claim;
      const refused = this.#o.kubelets?.joinsRefused(vm.vmid) ?? 0;
      if (refused > 0) rec.refused = refused;
    }
    for (const rec of this.vms.values()) {
      if (!seen.has(rec.vmid) && rec.goneAt === undefined) rec.goneAt = now;
    }
  }

  /** Pods now waiting for a node. */
  pendingPods(): number {
    const r = this.#store.list("pods", { namespace: this.#namespace });
    if (!r.ok) return 0;
    return (r.value.items as PodObj[]).filter((p) =>
      !p.spec?.nodeName && !p.metadata.deletionTimestamp
    ).length;
  }

  /** VMs the audit sees now. */
  liveVms(): VmRecord[] {
    this.auditVms();
    return [...this.vms.values()].filter((v) => v.goneAt === undefined);
  }
}
