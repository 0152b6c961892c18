/**
 * What a kubelet does with one pod bound to its node, as pure functions: the admission check
 * (the pod's requests against what is left of allocatable, rejecting with `OutOf<resource>` as
 * the real kubelet's resource-fit admission does), how long a run-to-completion pod runs, and
 * the pod status it reports while running, after completing, or when rejected.
 *
 * A pod's effective request per resource is max(sum over containers, largest init container)
 * plus `spec.overhead`; a container without a request for a resource that has a limit requests
 * its limit (the API server's defaulting).
 *
 * May import: fakes/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import { formatTime } from "../../fake_kube/objects.ts";
import { milli, units } from "../quantity.ts";

/** Requests by resource name: cpu in millicores, everything else in whole units (bytes). */
export type Amounts = Record<string, number>;

/** The annotation giving a run-to-completion pod's run time in seconds. */
export const RUN_SECONDS_ANNOTATION = "fake.proxscale.io/run-seconds";

/** Run time of a completing pod without an annotation or a `sleep N` (ms). */
export const DEFAULT_RUN_MS = 1000;

type Container = {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};

const amount = (resource: string, q: string) => (resource === "cpu" ? milli(q) : units(q));

function containerRequests(c: Container): Amounts {
  const out: Amounts = {};
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const k of new Set([...Object.keys(req), ...Object.keys(lim)])) {
    const q = req[k] ?? lim[k];
    if (q !== undefined) out[k] = amount(k, q);
  }
  return out;
}

function containersOf(pod: KObj, field: "containers" | "initContainers"): Container[] {
  const v = pod.spec?.[field];
  return Array.isArray(v) ? (v as Container[]) : [];
}

/** The pod's effective requests (see the file comment). */
export function podRequests(pod: KObj): Amounts {
  const sum: Amounts = {};
  for (const c of containersOf(pod, "containers")) {
    for (const [k, v] of Object.entries(containerRequests(c))) sum[k] = (sum[k] ?? 0) + v;
  }
  for (const c of containersOf(pod, "initContainers")) {
    for (const [k, v] of Object.entries(containerRequests(c))) sum[k] = Math.max(sum[k] ?? 0, v);
  }
  const overhead = (pod.spec?.overhead ?? {}) as Record<string, string>;
  for (const [k, q] of Object.entries(overhead)) sum[k] = (sum[k] ?? 0) + amount(k, q);
  return sum;
}

/** A rejection as the kubelet reports it. */
export type Rejection = { reason: string; message: string };

/** Resources the kubelet checks first, in its order; the rest follow in name order. */
const NATIVE_ORDER = ["cpu", "memory", "ephemeral-storage"];

/** An extended resource: a domain-prefixed name outside kubernetes.io (`nvidia.com/gpu`). */
export function isExtendedResource(name: string): boolean {
  const slash = name.indexOf("/");
  if (slash < 0 || name.startsWith("requests.")) return false;
  const domain = name.slice(0, slash);
  return domain !== "kubernetes.io" && !domain.endsWith(".kubernetes.io");
}

/**
 * Whether the pod fits beside the pods already admitted: one more pod must fit under the pod
 * limit, then every requested resource must fit in allocatable minus `used` (cpu, memory,
 * ephemeral-storage, then the others by name). Extended resources the node does not
 * advertise at all are left out, as the kubelet drops them before its check (they may be
 * cluster-level resources); a native resource it does not advertise has none.
 */
export function admitPod(
  pod: KObj,
  allocatable: Amounts,
  used: Amounts,
  admittedPods: number,
): Rejection | undefined {
  const reject = (resource: string, requested: number, inUse: number, capacity: number) => ({
    reason: `OutOf${resource}`,
    message:
      `Pod was rejected: Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${inUse}, capacity: ${capacity}`,
  });
  const maxPods = allocatable.pods ?? 0;
  if (admittedPods + 1 > maxPods) return reject("pods", 1, admittedPods, maxPods);
  const req = podRequests(pod);
  const rank = (k: string) => {
    const i = NATIVE_ORDER.indexOf(k);
    return i < 0 ? NATIVE_ORDER.length : i;
  };
  const keys = Object.keys(req).filter((k) => k !== "pods")
    .filter((k) => !isExtendedResource(k) || k in allocatable)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const k of keys) {
    const want = req[k]!;
    if (want <= 0) continue;
    const have = allocatable[k] ?? 0;
    const inUse = used[k] ?? 0;
    if (inUse + want > have) return reject(k, want, inUse, have);
  }
  return undefined;
}

/** Adds a pod's requests to a running total. */
export function addRequests(total: Amounts, pod: KObj): void {
  for (const [k, v] of Object.entries(podRequests(pod))) total[k] = (total[k] ?? 0) + v;
}

/**
 * How long a pod runs before completing (ms), or undefined for pods that run until deleted
 * (restartPolicy Always). The annotation wins; else the longest `sleep N` in a container's
 * command or args; else one second.
 */
export function runDurationMs(pod: KObj): number | undefined {
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (policy !== "Never" && policy !== "OnFailure") return undefined;
  const ann = pod.metadata.annotations?.[RUN_SECONDS_ANNOTATION];
  if (ann !== undefined && Number.isFinite(Number(ann)) && Number(ann) >= 0) {
    return Number(ann) * 1000;
  }
  let sleep: number | undefined;
  for (const c of containersOf(pod, "containers")) {
    const text = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
    for (const m of text.matchAll(/\bsleep\s+(\d+(?:\.\d+)?)\b/g)) {
      sleep = Math.max(sleep ?? 0, Number(m[1]) * 1000);
    }
  }
  return sleep ?? DEFAULT_RUN_MS;
}

const condition = (type: string, status: string, at: string, reason?: string) => ({
  type,
  status,
  lastProbeTime: null,
  lastTransitionTime: at,
  ...(reason ? { reason } : {}),
});

const containerId = (pod: KObj, name: string) =>
  `containerd://${(pod.metadata.uid ?? pod.metadata.name ?? "").replace(/-/g, "")}${name}`;

const imageOf = (c: Container) => c.image ?? "";

/** The status of a pod whose containers all run and are ready. */
export function runningStatus(
  pod: KObj,
  where: { hostIP: string; podIP: string },
  startedAt: number,
) {
  const at = formatTime(startedAt);
  return {
    phase: "Running",
    hostIP: where.hostIP,
    hostIPs: [{ ip: where.hostIP }],
    podIP: where.podIP,
    podIPs: [{ ip: where.podIP }],
    startTime: at,
    qosClass: qosClass(pod),
    conditions: [
      condition("PodReadyToStartContainers", "True", at),
      condition("Initialized", "True", at),
      condition("Ready", "True", at),
      condition("ContainersReady", "True", at),
      condition("PodScheduled", "True", at),
    ],
    containerStatuses: containersOf(pod, "containers").map((c) => ({
      name: c.name,
      image: imageOf(c),
      imageID: imageOf(c),
      containerID: containerId(pod, c.name),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: at } },
    })),
  };
}

/** The status of a run-to-completion pod whose containers all exited 0. */
export function succeededStatus(
  pod: KObj,
  where: { hostIP: string; podIP: string },
  startedAt: number,
  finishedAt: number,
) {
  const start = formatTime(startedAt);
  const end = formatTime(finishedAt);
  return {
    ...runningStatus(pod, where, startedAt),
    phase: "Succeeded",
    conditions: [
      condition("PodReadyToStartContainers", "False", end),
      condition("Initialized", "True", start),
      condition("Ready", "False", end, "PodCompleted"),
      condition("ContainersReady", "False", end, "PodCompleted"),
      condition("PodScheduled", "True", start),
    ],
    containerStatuses: containersOf(pod, "containers").map((c) => ({
      name: c.name,
      image: imageOf(c),
      imageID: imageOf(c),
      containerID: containerId(pod, c.name),
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode: 0,
          reason: "Completed",
          startedAt: start,
          finishedAt: end,
          containerID: containerId(pod, c.name),
        },
      },
    })),
  };
}

/** The status of a pod the kubelet refused to admit. */
export function rejectedStatus(r: Rejection, at: number) {
  return { phase: "Failed", reason: r.reason, message: r.message, startTime: formatTime(at) };
}

/** Guaranteed, Burstable or BestEffort, from the containers' requests and limits. */
export function qosClass(pod: KObj): string {
  const cs = [...containersOf(pod, "containers"), ...containersOf(pod, "initContainers")];
  const any = cs.some((c) =>
    Object.keys(c.resources?.requests ?? {}).length +
        Object.keys(c.resources?.limits ?? {}).length >
      0
  );
  if (!any) return "BestEffort";
  const guaranteed = cs.every((c) => {
    const lim = c.resources?.limits ?? {};
    const req = c.resources?.requests ?? {};
    return ["cpu", "memory"].every((k) =>
      lim[k] !== undefined && (req[k] === undefined || amount(k, req[k]) === amount(k, lim[k]))
    );
  });
  return guaranteed ? "Guaranteed" : "Burstable";
}
