/**
 * One kubelet inside one boot of one fake PVE VM: TLS bootstrap with the seed's join token,
 * registration of its own Node, the Lease and Node status heartbeat, and the pods bound to
 * its node. A new boot of the VM gets a new Kubelet. The fleet loop (kubelets.ts) decides
 * when it may act (VM running, host online, boot delay over, no "unreachable" fault).
 *
 * Registration happens once per boot, as the real kubelet's: if its Node is deleted later the
 * kubelet does not recreate it and stops heartbeating. An existing Node of the same name is
 * taken over (its default labels and status refreshed, its taints left alone).
 *
 * May import: fakes/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import { formatMicroTime, formatTime } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import type { VmState } from "../../fake_pve/model.ts";
import { acceptedToken } from "./bootstrap_token.ts";
import {
  allocatableOf,
  allocatableQuantities,
  capacityQuantities,
  internalIp,
  kubeletMaySetLabel,
  nodeInfo,
  nodeLabels,
  type NodeResources,
  type Reservation,
  UNINITIALIZED_TAINT,
  vmCapacity,
} from "./node_status.ts";
import type { SeedConfig } from "./seed.ts";
import type { GpuAdvert } from "./gpu_advert.ts";
import { PodRunner } from "./pod_runner.ts";

/** Where a kubelet is in its boot. */
export type KubeletPhase =
  | "bootstrapping" // waiting for its join token to be accepted
  | "refused" // no seed where one is required, or flags the kubelet rejects: never registers
  | "registered"
  | "lost"; // its Node was deleted after registration

/** The fault plan's say on one node. */
export type NodeFault = "notready" | "unreachable" | undefined;

/** Everything a kubelet is given at boot. */
export type KubeletBoot = {
  store: KubeStore;
  vm: VmState;
  /** The seed found on the cdrom at boot, or undefined. */
  seed: SeedConfig | undefined;
  requireSeed: boolean;
  provider: string;
  reservation: Reservation;
  renewIntervalMs: number;
  bootedAt: number;
  /** The GPUs its device plugin registers and the labels they bring (gpu_advert.ts). */
  gpu?: GpuAdvert;
};

const LEASE_NS = "kube-node-lease";
const LEASE_DURATION_SECONDS = 40;

/** One boot's kubelet. */
export class Kubelet {
  phase: KubeletPhase = "bootstrapping";
  /** Why it refused to start, when it did. */
  refusal: string | undefined;
  /** Bootstrap attempts whose join token no live bootstrap-token Secret accepted. */
  joinRefusals = 0;
  /** The Node name it registers (or registered) as. */
  readonly name: string;
  readonly #b: KubeletBoot;
  #lastBeat = -Infinity;
  #readyStatus: "True" | "False" | undefined;
  #readySince = "";
  #pods: PodRunner | undefined;

  constructor(b: KubeletBoot) {
    this.#b = b;
    const vmName = b.vm.conf.values.get("name");
    this.name = (b.seed?.nodeName ?? b.seed?.hostname ?? vmName ?? `vm-${b.vm.vmid}`)
      .toLowerCase();
    if (b.requireSeed && !b.seed) this.#refuse("no NoCloud seed on any cdrom drive");
    const bad = Object.keys(b.seed?.nodeLabels ?? {}).filter((k) => !kubeletMaySetLabel(k));
    if (bad.length > 0) {
      this.#refuse(
        `unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${
          bad.join(" ")
        }]`,
      );
    }
  }

  #refuse(why: string): void {
    this.phase = "refused";
    this.refusal ??= why;
  }

  /** The VM's hardware as the kubelet advertises it. */
  capacity(): NodeResources {
    const c = vmCapacity(this.#b.vm.conf.values);
    return this.#b.gpu ? { ...c, gpus: 0, extended: this.#b.gpu.resources } : c;
  }

  /** One step: bootstrap and register, heartbeat when due, run pods. `pods` are bound to it. */
  step(now: number, fault: NodeFault, pods: () => KObj[]): void {
    if (fault === "unreachable" || this.phase === "refused" || this.phase === "lost") return;
    if (this.phase === "bootstrapping") {
      if (this.#b.requireSeed && !acceptedToken(this.#b.store, this.#b.seed!.tokens, now)) {
        this.joinRefusals++;
        return;
      }
      if (!this.#register(now, fault)) return;
      this.phase = "registered";
    }
    if (now - this.#lastBeat >= this.#b.renewIntervalMs) {
      if (!this.#heartbeat(now, fault)) {
        this.phase = "lost";
        return;
      }
      this.#lastBeat = now;
    }
    this.#pods!.step(now, fault !== "notready", pods());
  }

  #register(now: number, fault: NodeFault): boolean {
    const { store, vm, seed, provider } = this.#b;
    const labels = nodeLabels(this.name, { ...seed?.nodeLabels, ...this.#b.gpu?.labels });
    const taints = [...(seed?.taints ?? [])];
    if (seed?.externalCloudProvider) taints.push(UNINITIALIZED_TAINT);
    const providerID = seed?.providerID ?? `proxmox://${provider}/${vm.vmid}`;
    const created = store.create("nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: this.name,
        labels,
        annotations: {
          "node.alpha.kubernetes.io/ttl": "0",
          "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        },
      },
      spec: { providerID, ...(taints.length ? { taints } : {}) },
    });
    if (!created.ok) {
      if (created.error.code !== 409) return false;
      // AlreadyExists: take the Node over, refreshing only the labels kubelet owns.
      const own = nodeLabels(this.name, {});
      const r = store.patch("nodes", undefined, this.name, "merge", {
        metadata: { labels: own },
      });
      if (!r.ok) return false;
    }
    const ip = this.#internalIp();
    this.#pods = new PodRunner(store, this.name, ip, vm.vmid);
    return this.#postStatus(now, fault === "notready" ? "False" : "True", true);
  }

  /**
   * The node's InternalIP: the static address the guest configured from its seed's
   * network-config, else ipconfig0's, else one made up from the VMID.
   */
  #internalIp(): string {
    const { vm, seed } = this.#b;
    return seed?.addresses?.[0] ?? internalIp(vm.conf.values, vm.vmid);
  }

  /** Renews the Lease and posts Node status; false when the Node is gone. */
  #heartbeat(now: number, fault: NodeFault): boolean {
    const { store } = this.#b;
    const node = store.get("nodes", undefined, this.name);
    if (!node.ok) return false;
    const renewTime = formatMicroTime(now);
    const lease = store.get("leases.coordination.k8s.io", LEASE_NS, this.name);
    if (lease.ok) {
      store.patch("leases.coordination.k8s.io", LEASE_NS, this.name, "merge", {
        spec: { holderIdentity: this.name, renewTime },
      });
    } else {
      store.create("leases.coordination.k8s.io", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: this.name,
          namespace: LEASE_NS,
          ownerReferences: [{
            apiVersion: "v1",
            kind: "Node",
            name: this.name,
            uid: node.value.metadata.uid,
          }],
        },
        spec: {
          holderIdentity: this.name,
          leaseDurationSeconds: LEASE_DURATION_SECONDS,
          renewTime,
        },
      }, { namespace: LEASE_NS });
    }
    return this.#postStatus(now, fault === "notready" ? "False" : "True", false);
  }

  #postStatus(now: number, ready: "True" | "False", full: boolean): boolean {
    const { store, vm, reservation, bootedAt } = this.#b;
    const at = formatTime(now);
    if (ready !== this.#readyStatus) {
      this.#readyStatus = ready;
      this.#readySince = at;
    }
    const cap = this.capacity();
    const alloc = allocatableOf(cap, reservation);
    const pressure = (type: string, reason: string, message: string) => ({
      type,
      status: "False",
      lastHeartbeatTime: at,
      lastTransitionTime: formatTime(bootedAt),
      reason,
      message,
    });
    const status: Record<string, unknown> = {
      capacity: capacityQuantities(cap),
      allocatable: allocatableQuantities(alloc),
      conditions: [
        pressure(
          "MemoryPressure",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
        pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        {
          type: "Ready",
          status: ready,
          lastHeartbeatTime: at,
          lastTransitionTime: this.#readySince,
          reason: ready === "True" ? "KubeletReady" : "KubeletNotReady",
          message: ready === "True"
            ? "kubelet is posting ready status"
            : "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        },
      ],
    };
    if (full) {
      status.addresses = [
        { type: "InternalIP", address: this.#internalIp() },
        { type: "Hostname", address: this.name },
      ];
      status.daemonEndpoints = { kubeletEndpoint: { Port: 10250 } };
      status.nodeInfo = nodeInfo(vm.vmid, vm.conf.values, bootedAt);
    }
    const r = store.patch("nodes", undefined, this.name, "merge", { status }, {
      subresource: "status",
    });
    if (r.ok) this.#pods?.setAllocatable(alloc);
    return r.ok;
  }
}
