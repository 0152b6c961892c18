/**
 * A pod's effective resource request as kube-scheduler's NodeResourcesFit counts it:
 * max(largest init container, sum of containers) plus spec.overhead, per resource name.
 * Restartable init containers (restartPolicy Always, "sidecars") keep running, so they add to
 * everything started after them. A container without requests falls back to its limits (the
 * API server's defaulting). cpu is in millicores, every other resource in whole units (bytes,
 * devices, pods).
 *
 * May import: ../quantity.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import { milli, units } from "../quantity.ts";

/** Resource name → amount (cpu in millicores, everything else in whole units). */
export type ResourceList = Map<string, number>;

/** Reads one resource quantity in the scheduler's units. */
export function amountOf(name: string, text: string | number | undefined): number {
  return name === "cpu" ? milli(text) : units(text);
}

/** Parses a v1.ResourceList object into amounts. */
export function resourceList(obj: Record<string, string> | undefined | null): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(obj ?? {})) out.set(k, amountOf(k, v));
  return out;
}

// deno-lint-ignore no-explicit-any
function containerRequests(c: any): ResourceList {
  const req = resourceList(c?.resources?.requests);
  for (const [k, v] of resourceList(c?.resources?.limits)) if (!req.has(k)) req.set(k, v);
  return req;
}

function addInto(into: ResourceList, from: ResourceList): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

function maxInto(into: ResourceList, from: ResourceList): void {
  for (const [k, v] of from) into.set(k, Math.max(into.get(k) ?? 0, v));
}

/** The pod's effective request per resource name (entries of zero may be absent). */
export function podRequests(pod: KObj): ResourceList {
  const sum: ResourceList = new Map();
  for (const c of pod.spec?.containers ?? []) addInto(sum, containerRequests(c));
  const sidecars: ResourceList = new Map();
  const initMax: ResourceList = new Map();
  for (const ic of pod.spec?.initContainers ?? []) {
    const r = containerRequests(ic);
    if (ic?.restartPolicy === "Always") {
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const running = new Map(sidecars);
      addInto(running, r);
      maxInto(initMax, running);
    }
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  addInto(sum, resourceList(pod.spec?.overhead));
  return sum;
}

/** One host port a pod asks for, with the API's defaults (TCP, 0.0.0.0). */
export type HostPort = { protocol: string; hostIP: string; port: number };

/** The host ports of the pod's containers and restartable init containers. */
export function hostPorts(pod: KObj): HostPort[] {
  const out: HostPort[] = [];
  const containers = [
    ...(pod.spec?.containers ?? []),
    // deno-lint-ignore no-explicit-any
    ...(pod.spec?.initContainers ?? []).filter((c: any) => c?.restartPolicy === "Always"),
  ];
  for (const c of containers) {
    for (const p of c?.ports ?? []) {
      const port = Number(p?.hostPort ?? 0);
      if (!(port > 0)) continue;
      out.push({ protocol: p.protocol || "TCP", hostIP: p.hostIP || "0.0.0.0", port });
    }
  }
  return out;
}
