/**
 * Generated workloads for the end-to-end scheduling property: a few Deployments with varied
 * cpu and memory, each optionally with a hostPort, required pod anti-affinity on the hostname,
 * or a DoNotSchedule topology spread over zone, hostname or Proxmox host; optionally a
 * DaemonSet, a GPU pod (no template offers GPUs, so it must never get a VM) and a StatefulSet
 * whose volumeClaimTemplates use a local-path StorageClass (WaitForFirstConsumer). The objects
 * are what a user would apply with kubectl.
 *
 * May import: fakes/ (types), npm:fast-check.
 */
import fc from "fast-check";
import type { KObj } from "../../fakes/fake_kube/objects.ts";

/** Topology keys a generated spread constraint may use. */
export const SPREAD_KEYS = [
  "topology.kubernetes.io/zone",
  "kubernetes.io/hostname",
  "proxscale.io/host",
] as const;

/** One generated Deployment. cpu in millicores, memory in MiB. */
export type GenDeployment = {
  name: string;
  replicas: number;
  cpu: number;
  memoryMiB: number;
  hostPort?: number;
  antiAffinity: boolean;
  spread?: (typeof SPREAD_KEYS)[number];
};

/** One generated workload. */
export type Workload = {
  deployments: GenDeployment[];
  daemonSet?: { cpu: number; memoryMiB: number };
  gpuPod: boolean;
  statefulSet?: { replicas: number; cpu: number; memoryMiB: number };
  /** After the first settle, the first Deployment is scaled to this (provokes consolidation). */
  scaleFirstTo?: number;
};

/** The local-path StorageClass generated StatefulSets claim from. */
export const STORAGE_CLASS = "local-path";

const deployment = (i: number) =>
  fc.record({
    replicas: fc.integer({ min: 1, max: 4 }),
    cpu: fc.integer({ min: 1, max: 30 }).map((n) => n * 100),
    memoryMiB: fc.integer({ min: 1, max: 24 }).map((n) => n * 256),
    hostPort: fc.option(fc.constantFrom(8080, 9090), { nil: undefined }),
    antiAffinity: fc.boolean(),
    spread: fc.option(fc.constantFrom(...SPREAD_KEYS), { nil: undefined }),
  }).map((d): GenDeployment => {
    const out: GenDeployment = {
      name: `web${i}`,
      replicas: d.replicas,
      cpu: d.cpu,
      memoryMiB: d.memoryMiB,
      antiAffinity: d.antiAffinity,
    };
    if (d.hostPort !== undefined) out.hostPort = d.hostPort;
    if (d.spread !== undefined) out.spread = d.spread;
    return out;
  });

/** Workloads of 1 to 3 Deployments plus the optional extras. */
export const workloadArb: fc.Arbitrary<Workload> = fc.record({
  deployments: fc.integer({ min: 1, max: 3 }).chain((n) =>
    fc.tuple(...Array.from({ length: n }, (_, i) => deployment(i)))
  ),
  daemonSet: fc.option(
    fc.record({
      cpu: fc.integer({ min: 1, max: 6 }).map((n) => n * 50),
      memoryMiB: fc.integer({ min: 1, max: 4 }).map((n) => n * 64),
    }),
    { nil: undefined },
  ),
  gpuPod: fc.boolean(),
  statefulSet: fc.option(
    fc.record({
      replicas: fc.integer({ min: 1, max: 3 }),
      cpu: fc.integer({ min: 1, max: 10 }).map((n) => n * 100),
      memoryMiB: fc.integer({ min: 1, max: 8 }).map((n) => n * 256),
    }),
    { nil: undefined },
  ),
  scaleFirstTo: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
}).map((w) => {
  const out: Workload = { deployments: [...w.deployments], gpuPod: w.gpuPod };
  if (w.daemonSet) out.daemonSet = w.daemonSet;
  if (w.statefulSet) out.statefulSet = w.statefulSet;
  if (w.scaleFirstTo !== undefined) out.scaleFirstTo = w.scaleFirstTo;
  return out;
});

const requests = (cpu: number, memoryMiB: number) => ({
  requests: { cpu: `${cpu}m`, memory: `${memoryMiB}Mi` },
});

function podSpec(d: GenDeployment): Record<string, unknown> {
  const labels = { app: d.name };
  const spec: Record<string, unknown> = {
    containers: [{
      name: "app",
      image: "registry.local/app:1",
      resources: requests(d.cpu, d.memoryMiB),
      ...(d.hostPort !== undefined
        ? { ports: [{ containerPort: 80, hostPort: d.hostPort, protocol: "TCP" }] }
        : {}),
    }],
  };
  if (d.antiAffinity) {
    spec.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          labelSelector: { matchLabels: labels },
          topologyKey: "kubernetes.io/hostname",
        }],
      },
    };
  }
  if (d.spread) {
    spec.topologySpreadConstraints = [{
      maxSkew: 1,
      topologyKey: d.spread,
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: labels },
    }];
  }
  return spec;
}

/** Every object of the workload, as [resource, body] in the order to create them. */
export function workloadObjects(w: Workload, namespace = "default"): [string, KObj][] {
  const out: [string, KObj][] = [];
  const meta = (name: string) => ({ name, namespace, labels: { app: name } });
  for (const d of w.deployments) {
    out.push(["deployments.apps", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(d.name),
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: { app: d.name } },
        template: { metadata: { labels: { app: d.name } }, spec: podSpec(d) },
      },
    } as KObj]);
  }
  if (w.daemonSet) {
    out.push(["daemonsets.apps", {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: meta("agent"),
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: {
            containers: [{
              name: "agent",
              image: "registry.local/agent:1",
              resources: requests(w.daemonSet.cpu, w.daemonSet.memoryMiB),
            }],
          },
        },
      },
    } as KObj]);
  }
  if (w.gpuPod) {
    out.push(["pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: meta("trainer"),
      spec: {
        containers: [{
          name: "train",
          image: "registry.local/train:1",
          resources: {
            requests: { cpu: "500m", memory: "512Mi", "nvidia.com/gpu": "1" },
            limits: { "nvidia.com/gpu": "1" },
          },
        }],
      },
    } as KObj]);
  }
  if (w.statefulSet) {
    out.push(["storageclasses.storage.k8s.io", {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: STORAGE_CLASS },
      provisioner: "rancher.io/local-path",
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    } as KObj]);
    out.push(["statefulsets.apps", {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta("db"),
      spec: {
        replicas: w.statefulSet.replicas,
        serviceName: "db",
        podManagementPolicy: "Parallel",
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: {
            containers: [{
              name: "db",
              image: "registry.local/db:1",
              resources: requests(w.statefulSet.cpu, w.statefulSet.memoryMiB),
            }],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: "data" },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: STORAGE_CLASS,
            resources: { requests: { storage: "1Gi" } },
          },
        }],
      },
    } as KObj]);
  }
  return out;
}
