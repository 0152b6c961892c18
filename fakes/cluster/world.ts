/**
 * The demo's world glue: what a real cluster does around proxscale, played inside the fakes.
 *
 * - kubelet: a managed VM that runs in the fake PVE registers as a Node in the fake API server
 *   after a boot delay, with providerID `proxmox://<provider>/<vmid>`, its NodeClaim's labels and
 *   taints and the `proxscale.io/unregistered:NoExecute` taint, and reports Ready; a VM that
 *   stops or vanishes makes its Node NotReady.
 * - scheduler: binds pending pods that fit a Ready node (requests, taints, cordon), else marks
 *   them PodScheduled=False/Unschedulable, as kube-scheduler does.
 * - deployments: keeps each deployment's replica count (an evicted pod comes back Pending).
 *
 * It records what a user would measure: when each pod was created, marked Unschedulable and
 * bound, and every managed VM ever seen. Production code never imports sim/.
 *
 * May import: adapters/ wire parsers, fakes/.
 */
import type { FakeKube, KObj } from "../fake_kube/server.ts";
import type { FakePve } from "../fake_pve/server.ts";
import { quantity } from "./quantity.ts";

/** The taint a kubelet joining through proxscale's bootstrap starts with. */
const UNREGISTERED_TAINT_KEY = "proxscale.io/unregistered";
import { claimFromDescription } from "../../adapters/proxmox/vm_config.ts";
import { readIso } from "../../adapters/bootstrap/iso9660_reader.ts";

/** A deployment of identical pods. cpu in millicores, memory in bytes. */
export type Deployment = { name: string; replicas: number; cpu: number; memory: number };

export type WorldOptions = {
  pve: FakePve;
  kube: FakeKube;
  /** Provider name in providerIDs. */
  provider: string;
  managedTag: string;
  /** VM started -> Node registered (ms). */
  bootDelayMs: number;
  /** Period of the kubelet/scheduler/controller pass (ms). */
  tickMs: number;
  namespace?: string;
  /**
   * Boot only VMs whose cdrom holds a NoCloud seed (label cidata) with a join token that a live
   * bootstrap-token Secret in kube-system accepts, as a real kubelet's TLS bootstrap would.
   */
  requireSeed?: boolean;
};

/** What happened to one pod. Times in epoch ms. */
export type PodRecord = {
  name: string;
  createdAt: number;
  unschedulableAt?: number;
  boundAt?: number;
  node?: string;
};

/** One managed VM as the world saw it. */
export type VmRecord = {
  vmid: number;
  claim?: string;
  firstSeen: number;
  goneAt?: number;
  /** Boot attempts refused because the seed's join token was missing or not accepted. */
  refused?: number;
};

type KubeObj = KObj & {
  metadata: KObj["metadata"] & { name: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const NS = "default";

/** The running world. */
export class DemoWorld {
  readonly pods = new Map<string, PodRecord>();
  readonly vms = new Map<number, VmRecord>();
  readonly #o: WorldOptions;
  readonly #deployments = new Map<string, Deployment>();
  readonly #runningSince = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;

  constructor(o: WorldOptions) {
    this.#o = o;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.step(), this.#o.tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Creates or rescales a deployment; scaling in deletes the newest pods. */
  deploy(d: Deployment): void {
    this.#deployments.set(d.name, d);
    this.#reconcileDeployment(d);
  }

  /** Scales a deployment to `replicas`. */
  scale(name: string, replicas: number): void {
    const d = this.#deployments.get(name);
    if (d) this.deploy({ ...d, replicas });
  }

  get #store() {
    return this.#o.kube.store;
  }

  #list(ref: string): KubeObj[] {
    const r = this.#store.list(ref);
    return r.ok ? r.value.items as KubeObj[] : [];
  }

  /** One pass of kubelets, controllers and scheduler. */
  step(): void {
    this.#kubelets();
    for (const d of this.#deployments.values()) this.#reconcileDeployment(d);
    this.#schedule();
  }

  #reconcileDeployment(d: Deployment): void {
    const now = Date.now();
    const mine = this.#list("pods").filter((p) =>
      p.metadata.labels?.app === d.name && !p.metadata.deletionTimestamp
    ).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    for (let i = mine.length; i < d.replicas; i++) {
      const name = `${d.name}-${(this.#seq++).toString(36).padStart(4, "0")}`;
      const r = this.#store.create("pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace: this.#o.namespace ?? NS,
          labels: { app: d.name },
          ownerReferences: [{
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: `${d.name}-rs`,
            uid: `rs-${d.name}`,
            controller: true,
          }],
        },
        spec: {
          containers: [{
            name: "app",
            image: "registry.local/app:1",
            resources: { requests: { cpu: `${d.cpu}m`, memory: String(d.memory) } },
          }],
        },
      }, { namespace: this.#o.namespace ?? NS });
      if (r.ok) this.pods.set(name, { name, createdAt: now });
    }
    for (const p of mine.slice(d.replicas).reverse()) {
      this.#store.delete("pods", p.metadata.namespace, p.metadata.name, { gracePeriodSeconds: 0 });
    }
  }

  #kubelets(): void {
    const now = Date.now();
    const { pve, provider, managedTag, bootDelayMs } = this.#o;
    const res = pve.model.resources("vm");
    const running = new Map<number, string>();
    const present = new Set<number>();
    if (res.ok) {
      for (const v of res.value) {
        const tags = String(v.tags ?? "").split(/[;, ]/);
        if (v.template || !tags.includes(managedTag)) continue;
        const vmid = Number(v.vmid);
        present.add(vmid);
        let rec = this.vms.get(vmid);
        if (!rec || rec.goneAt !== undefined) {
          rec = { vmid, firstSeen: now };
          this.vms.set(vmid, rec);
        }
        const cfg = pve.model.getConfig(String(v.node), vmid);
        if (cfg.ok) {
          const claim = claimFromDescription(cfg.value.description as string | undefined);
          if (claim) rec.claim = claim;
        }
        if (v.status === "running") running.set(vmid, String(v.node));
      }
    }
    for (const rec of this.vms.values()) {
      if (!present.has(rec.vmid) && rec.goneAt === undefined) rec.goneAt = now;
    }
    const nodes = new Map(this.#list("nodes").map((n) => [n.spec?.providerID as string, n]));
    for (const [vmid, since] of [...this.#runningSince]) {
      if (!running.has(vmid)) this.#runningSince.delete(vmid);
      else if (since > now) this.#runningSince.delete(vmid);
    }
    for (const [vmid] of running) {
      if (!this.#runningSince.has(vmid)) this.#runningSince.set(vmid, now);
      const id = `proxmox://${provider}/${vmid}`;
      const rec = this.vms.get(vmid);
      if (nodes.has(id) || !rec?.claim) continue;
      if (now - this.#runningSince.get(vmid)! < bootDelayMs) continue;
      if (this.#o.requireSeed && !this.#seedAccepted(running.get(vmid)!, vmid, now)) {
        rec.refused = (rec.refused ?? 0) + 1;
        continue;
      }
      this.#register(id, vmid, rec.claim);
    }
    // The kubelet of a stopped or destroyed VM stops reporting: its Node goes NotReady.
    for (const [id, n] of nodes) {
      const m = /^proxmox:\/\/[^/]+\/(\d+)$/.exec(id ?? "");
      if (!m || running.has(Number(m[1]))) continue;
      const ready = (n.status?.conditions as { type: string; status: string }[] | undefined)
        ?.find((c) => c.type === "Ready")?.status === "True";
      if (ready) this.#setReady(n.metadata.name, false);
    }
  }

  /**
   * The kubelet's TLS bootstrap: the token in the attached seed's user-data must match a
   * bootstrap-token Secret (secret, authentication usage, expiration in the future).
   */
  #seedAccepted(node: string, vmid: number, now: number): boolean {
    const cfg = this.#o.pve.model.getConfig(node, vmid);
    if (!cfg.ok) return false;
    for (const [k, v] of Object.entries(cfg.value)) {
      if (!/^(ide|sata|scsi)\d+$/.test(k) || typeof v !== "string" || !/media=cdrom/.test(v)) {
        continue;
      }
      const data = this.#o.pve.model.volumeData(node, v.split(",")[0]!);
      const iso = data ? readIso(data) : undefined;
      if (!iso?.ok || iso.value.volumeId.toLowerCase() !== "cidata") continue;
      const userData = iso.value.rockRidge.find((f) => f.name === "user-data");
      if (!userData) continue;
      const text = new TextDecoder().decode(userData.data);
      for (const m of text.matchAll(/\b([a-z0-9]{6})\.([a-z0-9]{16})\b/g)) {
        const s = this.#store.get("secrets", "kube-system", `bootstrap-token-${m[1]}`);
        if (!s.ok) continue;
        const d = (s.value as { data?: Record<string, string> }).data ?? {};
        const field = (key: string) => (d[key] !== undefined ? atob(d[key]!) : undefined);
        const expires = Date.parse(field("expiration") ?? "");
        if (
          field("token-secret") === m[2] &&
          field("usage-bootstrap-authentication") === "true" &&
          (Number.isNaN(expires) || expires > now)
        ) return true;
      }
    }
    return false;
  }

  #register(providerID: string, vmid: number, claimName: string): void {
    const claim = this.#store.get("nodeclaims.proxscale.io", undefined, claimName);
    if (!claim.ok) return;
    const c = claim.value as KubeObj;
    const spec = c.spec ?? {};
    const shape = spec.shape as { cpu: string; memory: string };
    const taints = [
      ...((spec.taints as unknown[]) ?? []),
      ...((spec.startupTaints as unknown[]) ?? []),
      { key: UNREGISTERED_TAINT_KEY, effect: "NoExecute" },
    ];
    const name = claimName;
    const labels = { ...(c.metadata.labels ?? {}), "kubernetes.io/hostname": name };
    const created = this.#store.create("nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels },
      spec: { providerID, taints },
    });
    if (!created.ok) return;
    const cpu = parseQuantity(shape.cpu, 1000);
    const memory = parseQuantity(shape.memory, 1);
    const alloc = { cpu: `${cpu}m`, memory: String(memory), pods: "110" };
    this.#store.patch("nodes", undefined, name, "merge", {
      status: {
        capacity: alloc,
        allocatable: alloc,
        conditions: [readyCondition(true)],
        nodeInfo: { systemUUID: `vm-${vmid}` },
      },
    }, { subresource: "status" });
  }

  #setReady(node: string, ready: boolean): void {
    this.#store.patch("nodes", undefined, node, "merge", {
      status: { conditions: [readyCondition(ready)] },
    }, { subresource: "status" });
  }

  #schedule(): void {
    const now = Date.now();
    const nodes = this.#list("nodes").filter((n) => {
      const ready = (n.status?.conditions as { type: string; status: string }[] | undefined)
        ?.find((c) => c.type === "Ready")?.status === "True";
      const taints = (n.spec?.taints as { effect: string }[] | undefined) ?? [];
      return ready && !n.spec?.unschedulable && !n.metadata.deletionTimestamp &&
        !taints.some((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
    });
    const pods = this.#list("pods").filter((p) => !p.metadata.deletionTimestamp);
    const free = new Map<string, { cpu: number; memory: number; pods: number }>();
    for (const n of nodes) {
      const a = (n.status?.allocatable ?? {}) as Record<string, string>;
      free.set(n.metadata.name, {
        cpu: parseQuantity(a.cpu ?? "0", 1000),
        memory: parseQuantity(a.memory ?? "0", 1),
        pods: Number(a.pods ?? 110),
      });
    }
    for (const p of pods) {
      const node = p.spec?.nodeName as string | undefined;
      const f = node ? free.get(node) : undefined;
      if (!f) continue;
      const r = requestsOf(p);
      f.cpu -= r.cpu;
      f.memory -= r.memory;
      f.pods -= 1;
    }
    // Most-allocated first: fill nodes, as a bin-packing scheduler profile would.
    const order = [...free.entries()].sort((a, b) => a[1].cpu - b[1].cpu);
    for (const p of pods) {
      if (p.spec?.nodeName) continue;
      const r = requestsOf(p);
      const fit = order.find(([, f]) => f.cpu >= r.cpu && f.memory >= r.memory && f.pods > 0);
      const name = p.metadata.name;
      const rec = this.pods.get(name);
      if (fit) {
        const b = this.#store.bind(p.metadata.namespace!, name, {
          metadata: { name },
          target: { kind: "Node", name: fit[0] },
        });
        if (!b.ok) continue;
        fit[1].cpu -= r.cpu;
        fit[1].memory -= r.memory;
        fit[1].pods -= 1;
        this.#store.patch("pods", p.metadata.namespace, name, "merge", {
          status: { phase: "Running" },
        }, { subresource: "status" });
        if (rec && rec.boundAt === undefined) {
          rec.boundAt = now;
          rec.node = fit[0];
        }
        continue;
      }
      const conds = (p.status?.conditions as { type: string; status: string }[] | undefined) ?? [];
      if (conds.some((c) => c.type === "PodScheduled" && c.status === "False")) continue;
      this.#store.patch("pods", p.metadata.namespace, name, "merge", {
        status: {
          phase: "Pending",
          conditions: [{
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: `0/${nodes.length} nodes are available: insufficient cpu or memory.`,
            lastTransitionTime: new Date(now).toISOString().replace(/\.\d+Z$/, "Z"),
          }],
        },
      }, { subresource: "status" });
      if (rec && rec.unschedulableAt === undefined) rec.unschedulableAt = now;
    }
  }

  /** Pods now waiting for a node. */
  pendingPods(): number {
    return this.#list("pods").filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp)
      .length;
  }

  /** Managed VMs now present in the fake PVE. */
  liveVms(): VmRecord[] {
    return [...this.vms.values()].filter((v) => v.goneAt === undefined);
  }
}

/** A quantity scaled to an integer; 0 when unparsable (the world only reads its own objects). */
function parseQuantity(text: string, scale: 1 | 1000): number {
  return quantity(text, scale) ?? 0;
}

function readyCondition(ready: boolean) {
  const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return {
    type: "Ready",
    status: ready ? "True" : "False",
    reason: ready ? "KubeletReady" : "NodeStatusUnknown",
    message: ready ? "kubelet is posting ready status" : "Kubelet stopped posting node status.",
    lastHeartbeatTime: t,
    lastTransitionTime: t,
  };
}

function requestsOf(p: KubeObj): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  const cs = (p.spec?.containers as { resources?: { requests?: Record<string, string> } }[]) ?? [];
  for (const c of cs) {
    cpu += parseQuantity(c.resources?.requests?.cpu ?? "0", 1000);
    memory += parseQuantity(c.resources?.requests?.memory ?? "0", 1);
  }
  return { cpu, memory };
}
