/**
 * What the simulated world is made of beyond the proxscale configuration: the physical size of
 * each Proxmox host, the delay distributions of every step of a VM's life, failure rates, the
 * kube-scheduler's scoring, the departure model and the sampling step of the report's charts.
 *
 * May import: sim/engine/distribution.ts, core/quantity.ts.
 */
import { GiB } from "../../core/quantity.ts";
import type { Distribution } from "./distribution.ts";

/** Physical capacity of a Proxmox host, matched by name to the provider's host list. */
export type HostCapacity = { name: string; cpu: number; memory: number };

/** Delay distributions of a VM's life, ms. */
export type Delays = {
  /** Clone request -> VM created and started (qm clone + config + start). */
  clone: Distribution;
  /** VM started -> guest booted. */
  boot: Distribution;
  /** Guest booted -> kubelet registered and the node Ready (startup taints gone). */
  join: Distribution;
  /** Per pod evicted during a drain. */
  drainPerPod: Distribution;
  /** Drain done -> VM stopped and destroyed. */
  destroy: Distribution;
};

/**
 * How a pod's departure is decided (simulation-and-traces.md §5.1): at its recorded time
 * (services), a fixed run time after its simulated bind (batch), or per pod: `auto` uses the run
 * time when the trace gives one and the recorded departure otherwise.
 */
export type DepartureModel = "fixed-departure" | "fixed-duration" | "auto";

export type WorldSpec = {
  /** Capacity of each host; hosts not listed get `defaultHost`. */
  hosts: HostCapacity[];
  defaultHost: { cpu: number; memory: number };
  delays: Delays;
  /** Probability that a VM clone fails (the claim vanishes after the clone delay). */
  cloneFailure: number;
  /** kube-scheduler NodeResourcesFit scoring. */
  scoring: "MostAllocated" | "LeastAllocated";
  departure: DepartureModel;
  /** Step of the report's time series, ms. */
  sampleEvery: number;
};

const S = 1000;

/** Defaults: a Proxmox linked clone of a cloud image, kubeadm join, 32-core 128 GiB hosts. */
export function defaultWorld(): WorldSpec {
  return {
    hosts: [],
    defaultHost: { cpu: 32_000, memory: 128 * GiB },
    delays: {
      clone: { kind: "uniform", min: 8 * S, max: 20 * S },
      boot: { kind: "uniform", min: 20 * S, max: 35 * S },
      join: { kind: "uniform", min: 10 * S, max: 25 * S },
      drainPerPod: { kind: "uniform", min: 200, max: 1 * S },
      destroy: { kind: "uniform", min: 3 * S, max: 8 * S },
    },
    cloneFailure: 0.005,
    scoring: "MostAllocated",
    departure: "auto",
    sampleEvery: 10 * 60 * S,
  };
}
