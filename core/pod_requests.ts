/**
 * A pod's effective resource request, computed the way kube-scheduler does: regular containers
 * summed, init containers taken at their maximum (with restartable "sidecar" init containers
 * running alongside everything started after them), plus the RuntimeClass overhead.
 */
import type { HostPort, Pod, Resources } from "./model.ts";

/** Effective requests of `pod` in millicores and bytes. */
export function podRequests(pod: Pod): Resources {
  let cpu = 0;
  let memory = 0;
  // Indexed loops (no iterator or empty list per call: this runs for every pod of a decision).
  const containers = pod.containers;
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i]!;
    cpu += c.cpu ?? 0;
    memory += c.memory ?? 0;
  }
  let sidecarCpu = 0;
  let sidecarMem = 0;
  let initCpu = 0;
  let initMem = 0;
  const inits = pod.initContainers;
  for (let i = 0; inits !== undefined && i < inits.length; i++) {
    const ic = inits[i]!;
    const icCpu = ic.cpu ?? 0;
    const icMem = ic.memory ?? 0;
    if (ic.sidecar) {
      sidecarCpu += icCpu;
      sidecarMem += icMem;
      initCpu = Math.max(initCpu, sidecarCpu);
      initMem = Math.max(initMem, sidecarMem);
    } else {
      initCpu = Math.max(initCpu, sidecarCpu + icCpu);
      initMem = Math.max(initMem, sidecarMem + icMem);
    }
  }
  cpu = Math.max(cpu + sidecarCpu, initCpu) + (pod.overhead?.cpu ?? 0);
  memory = Math.max(memory + sidecarMem, initMem) + (pod.overhead?.memory ?? 0);
  return { cpu, memory };
}

type Memo = {
  containers: Pod["containers"];
  init: Pod["initContainers"];
  overhead: Pod["overhead"];
  r: Readonly<Resources>;
};
const memo = new WeakMap<Pod, Memo>();
/**
 * Requests of pods that have only regular containers, by their containers list. Replicas whose
 * lists are one shared object (the daemon's pod cache shares them) share one entry, instead of
 * one memo per pod (at 30,000 pods of 50 ReplicaSets: 50 entries instead of 30,000).
 */
const byContainers = new WeakMap<Pod["containers"], Readonly<Resources>>();

/**
 * `podRequests`, kept across calls while the pod's containers, init containers and overhead
 * are the same objects (a pod whose requests change gets new ones; they are never edited in
 * place): per containers list for pods with regular containers only, else per pod object. For
 * passes that look at the same pods again and again. The result is frozen: callers read it,
 * never change it.
 */
export function podRequestsOf(pod: Pod): Readonly<Resources> {
  if (pod.initContainers === undefined && pod.overhead === undefined) {
    const had = byContainers.get(pod.containers);
    if (had !== undefined) return had;
    const r = Object.freeze(podRequests(pod));
    byContainers.set(pod.containers, r);
    return r;
  }
  const m = memo.get(pod);
  if (
    m !== undefined && m.containers === pod.containers && m.init === pod.initContainers &&
    m.overhead === pod.overhead
  ) return m.r;
  const r = Object.freeze(podRequests(pod));
  memo.set(pod, {
    containers: pod.containers,
    init: pod.initContainers,
    overhead: pod.overhead,
    r,
  });
  return r;
}

/** The extended requests of a pod that has none (one shared object, compared by identity). */
export const NO_EXTENDED: Readonly<Record<string, number>> = Object.freeze({});

/**
 * Effective requests of every resource other than cpu and memory (extended resources,
 * hugepages, ephemeral-storage), by the same rule as `podRequests`: containers summed, init
 * containers at their maximum with sidecars alongside, plus overhead. Empty when none.
 */
export function podExtendedRequests(pod: Pod): Readonly<Record<string, number>> {
  // Most pods ask for cpu and memory only: answer them without allocating.
  let any = pod.overhead?.extended !== undefined;
  for (let i = 0; !any && i < pod.containers.length; i++) any = !!pod.containers[i]!.extended;
  const inits = pod.initContainers;
  for (let i = 0; !any && inits && i < inits.length; i++) any = !!inits[i]!.extended;
  if (!any) return NO_EXTENDED;
  const keys = new Set<string>();
  for (const c of pod.containers) for (const k in c.extended ?? {}) keys.add(k);
  for (const c of pod.initContainers ?? []) for (const k in c.extended ?? {}) keys.add(k);
  for (const k in pod.overhead?.extended ?? {}) keys.add(k);
  if (keys.size === 0) return NO_EXTENDED;
  const out: Record<string, number> = {};
  for (const k of keys) {
    let main = 0;
    for (const c of pod.containers) main += c.extended?.[k] ?? 0;
    let sidecar = 0;
    let init = 0;
    for (const ic of pod.initContainers ?? []) {
      const v = ic.extended?.[k] ?? 0;
      if (ic.sidecar) {
        sidecar += v;
        init = Math.max(init, sidecar);
      } else init = Math.max(init, sidecar + v);
    }
    const total = Math.max(main + sidecar, init) + (pod.overhead?.extended?.[k] ?? 0);
    if (total > 0) out[k] = total;
  }
  return out;
}

/** Adds `b` into `a` (per resource name), returning `a`. */
export function addExtended(
  a: Record<string, number>,
  b: Readonly<Record<string, number>>,
  sign = 1,
): Record<string, number> {
  for (const k in b) a[k] = (a[k] ?? 0) + sign * b[k]!;
  return a;
}

/** The first resource of `need` that `have` lacks room for, or undefined when all fit. */
export function missingExtended(
  have: Readonly<Record<string, number>> | undefined,
  need: Readonly<Record<string, number>>,
): string | undefined {
  for (const k in need) if ((have?.[k] ?? 0) < need[k]!) return k;
  return undefined;
}

/** `PROTOCOL/port` keys of host ports: two pods with the same key never share a node. */
export function hostPortKeys(ports: readonly HostPort[] | undefined): readonly string[] {
  if (!ports || ports.length === 0) return NO_PORTS;
  return ports.map((p) => `${p.protocol}/${p.port}`);
}
const NO_PORTS: readonly string[] = Object.freeze([]);
