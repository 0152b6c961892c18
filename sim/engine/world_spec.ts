/**
 * What the simulated world is made of beyond the proxscale configuration: the physical size of
 * each Proxmox host, the delay distributions of every step of a VM's life, failure rates, the
 * kube-scheduler's scoring, the departure model and the sampling step of the report's charts.
 *
 * May import: sim/engine/distribution.ts, sim/engine/world_classes.ts, core/quantity.ts.
 */
import { GiB } from "../../core/quantity.ts";
import type { Distribution } from "./distribution.ts";
import { classesFrom, type WorldClasses } from "./world_classes.ts";

/** Passthrough GPUs of one PCI resource mapping on a host: how many, and of which model. */
export type HostGpus = { mapping: string; count: number; model?: string };

/**
 * Physical capacity of a Proxmox host, matched by name to the provider's host list, with the
 * GPUs it can pass through to VMs (absent: none).
 */
export type HostCapacity = {
  name: string;
  cpu: number;
  memory: number;
  gpus?: HostGpus[];
  /** The host's capacity type (sim/engine/world_classes.ts); absent: standard. */
  capacityType?: string;
};

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
 * How a pod's departure is decided (docs/simulation.md, 'Departure models'): at its recorded time
 * (services), a fixed run time after its simulated bind (batch), or per pod: `auto` uses the run
 * time when the trace gives one and the recorded departure otherwise.
 */
export type DepartureModel = "fixed-departure" | "fixed-duration" | "auto";

export type WorldSpec = WorldClasses & {
  /** Capacity of each host; hosts not listed get `defaultHost`. */
  hosts: HostCapacity[];
  defaultHost: { cpu: number; memory: number; gpus?: HostGpus[] };
  delays: Delays;
  /** Probability that a VM clone fails (the claim vanishes after the clone delay). */
  cloneFailure: number;
  /** kube-scheduler NodeResourcesFit scoring. */
  scoring: "MostAllocated" | "LeastAllocated";
  departure: DepartureModel;
  /** Step of the report's time series, ms. */
  sampleEvery: number;
  /** Hosts with a BMC that start powered off (host power management); absent: none. */
  hostsPoweredOff?: string[];
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

/** What is wrong with a host's gpus list, in words, or undefined when it is well formed. */
function gpusProblem(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  const ok = Array.isArray(v) &&
    v.every((g) =>
      typeof g === "object" && g !== null && typeof g.mapping === "string" && g.mapping !== "" &&
      Number.isInteger(g.count) && g.count >= 0 &&
      (g.model === undefined || typeof g.model === "string")
    );
  return ok
    ? undefined
    : `${where}: gpus must be a list of {mapping (PCI resource mapping name), count (whole GPUs), model?}`;
}

/** Does the world give any host a GPU? */
export function worldHasGpus(w: WorldSpec): boolean {
  const any = (g?: HostGpus[]) => (g ?? []).some((x) => x.count > 0);
  return any(w.defaultHost.gpus) || w.hosts.some((h) => any(h.gpus));
}

function isDistribution(v: unknown): v is Distribution {
  if (typeof v !== "object" || v === null) return false;
  const d = v as Record<string, unknown>;
  const n = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (d.kind === "constant") return n(d.value);
  if (d.kind === "uniform") return n(d.min) && n(d.max) && (d.min as number) <= (d.max as number);
  if (d.kind === "lognormal") return n(d.median) && n(d.sigma) && n(d.max);
  return false;
}

/**
 * Overrides the defaults with a JSON object (the --world file): any of hosts (each may list
 * its gpus: [{mapping, count, model?}] and capacityType), defaultHost (likewise), delays.{clone,boot,join,drainPerPod,destroy}, cloneFailure, scoring, departure, sampleEvery, capacityTypes, reclaims.
 * Returns the problem in words when a field has the wrong form.
 */
export function worldFrom(
  input: unknown,
): { ok: true; value: WorldSpec } | { ok: false; error: string } {
  const w = defaultWorld();
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, error: "the world file must hold a JSON object" };
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (
      ![
        "hosts",
        "defaultHost",
        "delays",
        "cloneFailure",
        "scoring",
        "departure",
        "sampleEvery",
        "capacityTypes",
        "reclaims",
        "hostsPoweredOff",
      ].includes(k)
    ) {
      return { ok: false, error: `unknown field "${k}"` };
    }
  }
  if (o.hosts !== undefined) {
    if (!Array.isArray(o.hosts)) return { ok: false, error: "hosts must be a list" };
    for (const h of o.hosts) {
      if (typeof h?.name !== "string" || !(h.cpu > 0) || !(h.memory > 0)) {
        return { ok: false, error: "each host needs name, cpu (millicores) and memory (bytes)" };
      }
      const bad = gpusProblem(h.gpus, `host ${h.name}`);
      if (bad) return { ok: false, error: bad };
      if (h.capacityType !== undefined && (typeof h.capacityType !== "string" || !h.capacityType)) {
        return { ok: false, error: `host ${h.name}: capacityType must be a class name` };
      }
    }
    w.hosts = o.hosts as HostCapacity[];
  }
  if (o.hostsPoweredOff !== undefined) {
    const off = o.hostsPoweredOff;
    if (!Array.isArray(off) || !off.every((x) => typeof x === "string")) {
      return { ok: false, error: "hostsPoweredOff must be a list of host names" };
    }
    w.hostsPoweredOff = off as string[];
  }
  if (o.defaultHost !== undefined) {
    const d = o.defaultHost as Record<string, number>;
    if (!(d.cpu! > 0) || !(d.memory! > 0)) {
      return { ok: false, error: "defaultHost needs cpu and memory" };
    }
    const bad = gpusProblem(
      o.defaultHost && (o.defaultHost as Record<string, unknown>).gpus,
      "defaultHost",
    );
    if (bad) return { ok: false, error: bad };
    const gpus = (o.defaultHost as { gpus?: HostGpus[] }).gpus;
    w.defaultHost = { cpu: d.cpu!, memory: d.memory!, ...(gpus ? { gpus } : {}) };
  }
  if (o.delays !== undefined) {
    const d = o.delays as Record<string, unknown>;
    for (const [k, v] of Object.entries(d)) {
      if (!(k in w.delays)) return { ok: false, error: `unknown delay "${k}"` };
      if (!isDistribution(v)) {
        return {
          ok: false,
          error:
            `delays.${k} must be {kind:constant,value} | {kind:uniform,min,max} | {kind:lognormal,median,sigma,max} in ms`,
        };
      }
      w.delays[k as keyof Delays] = v;
    }
  }
  if (o.cloneFailure !== undefined) {
    const f = o.cloneFailure;
    if (typeof f !== "number" || !(f >= 0 && f <= 1)) {
      return { ok: false, error: "cloneFailure must be in [0, 1]" };
    }
    w.cloneFailure = f;
  }
  if (o.scoring !== undefined) {
    if (o.scoring !== "MostAllocated" && o.scoring !== "LeastAllocated") {
      return { ok: false, error: "scoring must be MostAllocated or LeastAllocated" };
    }
    w.scoring = o.scoring;
  }
  if (o.departure !== undefined) {
    if (!["fixed-departure", "fixed-duration", "auto"].includes(String(o.departure))) {
      return { ok: false, error: "departure must be fixed-departure, fixed-duration or auto" };
    }
    w.departure = o.departure as DepartureModel;
  }
  if (o.sampleEvery !== undefined) {
    if (typeof o.sampleEvery !== "number" || !(o.sampleEvery >= 1000)) {
      return { ok: false, error: "sampleEvery must be at least 1000 (ms)" };
    }
    w.sampleEvery = o.sampleEvery;
  }
  const classes = classesFrom(o, w);
  if (classes) return { ok: false, error: classes };
  return { ok: true, value: w };
}
