/**
 * fakes/cluster/kubelet: kubelets bound to the fake PVE. Every VM that runs on the fake PVE
 * gets a kubelet for the length of each boot. After `bootDelayMs` it reads the NoCloud seed on
 * its cdrom (if any), bootstraps with the seed's join token (only when `requireSeed`), and
 * registers its own Node from the VM's real hardware and the kubelet flags in the seed; then it
 * renews its Lease in kube-node-lease and posts Node status every `renewIntervalMs`, and runs
 * the pods bound to it (see kubelet.ts, pod_runner.ts, node_status.ts, seed.ts).
 *
 * A kubelet stops heartbeating when its VM stops or is destroyed, when its PVE host goes
 * offline (`setHostOnline(host, false)` or the fault plan's `offlineNodes`), or when
 * `setNodeFault(node, "unreachable")`; with "notready" it keeps renewing its Lease but reports
 * Ready=False and starts no new pods. It never deletes its Node: turning silence into
 * Ready=Unknown and taints is the node lifecycle controller's job, deleting Nodes the
 * autoscaler's or the cloud provider's.
 *
 * This folder is independent of proxscale's core/: it reads what is on the VM, not what
 * proxscale meant to put there.
 *
 * May import: fakes/, adapters/bootstrap/iso9660_reader.ts, npm yaml.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import type { FakePve } from "../../fake_pve/server.ts";
import { Kubelet, type NodeFault } from "./kubelet.ts";
import { DEFAULT_RESERVATION } from "./node_status.ts";
import { parseSeed } from "./seed.ts";
import { gpuAdvert, guestDevices } from "./gpu_advert.ts";
import { readSeedMedia } from "./seed_media.ts";

/** How the kubelets behave; times in ms. */
export type KubeletOptions = {
  store: KubeStore;
  pve: FakePve;
  /** The providerID region used when the seed passes no `--provider-id`. */
  provider: string;
  /** VM started -> kubelet starts (cloud-init, bootstrap). */
  bootDelayMs: number;
  /** Register only with a cidata seed whose join token a bootstrap-token Secret accepts. */
  requireSeed?: boolean;
  /** Lease renewal and Node status period (default 10 000). */
  renewIntervalMs?: number;
  /** Period of the kubelets' loop (default 100). */
  tickMs?: number;
  /** kube-reserved + system-reserved (default 100m cpu, 256Mi memory). */
  reservation?: { cpuMillis: number; memoryBytes: number };
};

/** The running kubelets. */
export type Kubelets = {
  stop(): void;
  /** "notready": Ready=False while renewing; "unreachable": silent; undefined: healthy. */
  setNodeFault(node: string, fault: "notready" | "unreachable" | undefined): void;
  /** The Node name the VM's kubelet registered (kept after the VM is gone), if any. */
  nodeOfVm(vmid: number): string | undefined;
  /** How often the VM's kubelet was refused its join token (kept after the VM is gone). */
  joinsRefused(vmid: number): number;
};

type Boot = { startedAt: number; kubelet?: Kubelet };

/** Starts one kubelet per running VM of the fake PVE; `stop` ends them all. */
export function startKubelets(opts: KubeletOptions): Kubelets {
  const loop = new KubeletLoop(opts);
  const timer = setInterval(() => loop.step(), opts.tickMs ?? 100);
  return {
    stop: () => clearInterval(timer),
    setNodeFault: (node, fault) => loop.setFault(node, fault),
    nodeOfVm: (vmid) => loop.nodeOfVm(vmid),
    joinsRefused: (vmid) => loop.joinsRefused(vmid),
  };
}

/** The fleet: which VMs have a booted kubelet, and one pass over all of them. */
export class KubeletLoop {
  readonly #o: KubeletOptions;
  readonly #boots = new Map<number, Boot>();
  readonly #refused = new Map<number, number>();
  readonly #faults = new Map<string, NodeFault>();
  readonly #registered = new Map<number, string>();

  constructor(o: KubeletOptions) {
    this.#o = o;
  }

  /** Sets or clears the fault plan's verdict on one node. */
  setFault(node: string, fault: NodeFault): void {
    if (fault === undefined) this.#faults.delete(node);
    else this.#faults.set(node, fault);
  }

  /** The Node name a VM's kubelet registered, if it ever did. */
  nodeOfVm(vmid: number): string | undefined {
    return this.#registered.get(vmid);
  }

  /** Join attempts of the VM's kubelet that no bootstrap-token Secret accepted. */
  joinsRefused(vmid: number): number {
    return this.#refused.get(vmid) ?? 0;
  }

  /** The kubelet of a VM's current boot, for tests and diagnostics. */
  kubeletOf(vmid: number): Kubelet | undefined {
    return this.#boots.get(vmid)?.kubelet;
  }

  /** One pass: follow VM power state, boot kubelets, let each act. */
  step(): void {
    const { pve, store } = this.#o;
    const model = pve.model;
    model.advance();
    const now = store.now();
    const seen = new Set<number>();
    let podsByNode: Map<string, KObj[]> | undefined;
    const podsOf = (node: string) => {
      podsByNode ??= groupPods(store);
      return podsByNode.get(node) ?? [];
    };
    for (const vm of model.st.vms.values()) {
      if (vm.status !== "running" || vm.conf.values.get("template") === "1") continue;
      seen.add(vm.vmid);
      const startedAt = vm.startedAt ?? now;
      let boot = this.#boots.get(vm.vmid);
      if (!boot || boot.startedAt !== startedAt) {
        boot = { startedAt };
        this.#boots.set(vm.vmid, boot);
      }
      if (!model.st.hosts.get(vm.node)?.online) continue;
      if (now < startedAt + this.#o.bootDelayMs) continue;
      if (!boot.kubelet) {
        const files = readSeedMedia(model, vm.node, vm.conf.values);
        const seed = files ? parseSeed(files) : undefined;
        boot.kubelet = new Kubelet({
          store,
          vm,
          seed,
          gpu: gpuAdvert(guestDevices(model.st, vm), seed?.timeSlicing),
          requireSeed: this.#o.requireSeed ?? false,
          provider: this.#o.provider,
          reservation: this.#o.reservation ?? DEFAULT_RESERVATION,
          renewIntervalMs: this.#o.renewIntervalMs ?? 10_000,
          bootedAt: startedAt + this.#o.bootDelayMs,
        });
      }
      const k = boot.kubelet;
      k.step(now, this.#faults.get(k.name), () => podsOf(k.name));
      if (k.phase === "registered") this.#registered.set(vm.vmid, k.name);
      if (k.joinRefusals > 0) this.#refused.set(vm.vmid, k.joinRefusals);
    }
    for (const vmid of [...this.#boots.keys()]) if (!seen.has(vmid)) this.#boots.delete(vmid);
  }
}

/** Pods bound to a node, by node name (the stored objects, read only: every write replaces them). */
export function groupPods(store: KubeStore): Map<string, KObj[]> {
  const out = new Map<string, KObj[]>();
  const r = store.listEntries("pods");
  if (!r.ok) return out;
  for (const { obj: p } of r.value.entries) {
    const n = p.spec?.nodeName as string | undefined;
    if (!n) continue;
    const list = out.get(n);
    if (list) list.push(p);
    else out.set(n, [p]);
  }
  return out;
}
