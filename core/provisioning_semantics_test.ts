/**
 * Table of provisioning cases for what the scheduler sees beyond cpu and memory: extended
 * resources, host ports, DaemonSet overhead, node health, requirement algebra, instance types,
 * host selection, minDomains, pod affinity and local volumes. Each row states the plan it
 * expects: the claims (pool, shape, host, pods) and the reason of every pod left without one.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import type { Config, Pod, Snapshot } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import {
  managedNode,
  snapshotOf,
  T0,
  testConfig,
  testHost,
  testPod,
  testPool,
  testTemplate,
} from "./testing/arbitraries.ts";
import { applyVolumeAffinity } from "./volumes.ts";
import { withLeavingPodsPending } from "./provisioning_leaving.ts";
import { HOST_LABEL_KEY } from "./labels.ts";

const ZONE = "topology.kubernetes.io/zone";
const TYPE = "node.kubernetes.io/instance-type";

function pending(name: string, over: Partial<Pod> = {}): Pod {
  return testPod(name, undefined, { unschedulable: true, pendingSince: T0 - 60_000, ...over });
}

type Want = {
  /** pool, shape, host and pod names of each claim, in plan order. */
  claims?: {
    pool?: string;
    shape?: string;
    host?: string;
    pods: string[];
    label?: [string, string];
  }[];
  /** pod name -> reason code of pods left without capacity. */
  unhelped?: Record<string, string>;
  /** pod name -> node it is placed on. */
  placed?: Record<string, string>;
};

type Case = {
  name: string;
  snapshot: Partial<Snapshot>;
  config?: (c: Config) => void;
  /** Plan as reconcile does: pods of nodes on their way out count as pending. */
  leaving?: boolean;
  want: Want;
};

const gpuTemplate = testTemplate({ name: "gpu", extendedResources: { "nvidia.com/gpu": 1 } });
const withGpuPool = (c: Config) => {
  c.machineTemplates.push(gpuTemplate);
  c.nodePools.push(testPool("gpu", { machineTemplate: "gpu", weight: 1 }));
};
const gpuPod = (name: string) =>
  pending(name, {
    containers: [{ cpu: 500, memory: 512 * MiB, extended: { "nvidia.com/gpu": 1 } }],
  });
const portPod = (name: string, port: number, protocol: "TCP" | "UDP" = "TCP") =>
  pending(name, { hostPorts: [{ port, protocol }] });
const readyNode = managedNode("n1", "general", {
  shape: { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB },
});

const CASES: Case[] = [
  {
    name: "a pod asking for a GPU gets a VM of the pool whose template offers one",
    snapshot: { pods: [gpuPod("train-1")] },
    config: withGpuPool,
    want: { claims: [{ pool: "gpu", pods: ["train-1"] }] },
  },
  {
    name: "a pod asking for a GPU no template offers gets no VM and says which resource is missing",
    snapshot: { pods: [gpuPod("train-1")] },
    want: { claims: [], unhelped: { "train-1": "ResourceNotOffered" } },
  },
  {
    name: "an existing node without the GPU is not capacity for a GPU pod",
    snapshot: { pods: [gpuPod("train-1")], nodes: [readyNode.node], nodeClaims: [readyNode.claim] },
    config: withGpuPool,
    want: { claims: [{ pool: "gpu", pods: ["train-1"] }] },
  },
  {
    name: "two pods with the same host port and protocol are never planned onto one VM",
    snapshot: { pods: [portPod("ingress-1", 80), portPod("ingress-2", 80)] },
    want: { claims: [{ pods: ["ingress-1"] }, { pods: ["ingress-2"] }] },
  },
  {
    name: "the same port number over TCP and UDP can share a VM",
    snapshot: { pods: [portPod("dns-1", 53, "TCP"), portPod("dns-2", 53, "UDP")] },
    want: { claims: [{ pods: ["dns-1", "dns-2"] }] },
  },
  {
    name: "a node whose host port is taken by a running pod is not a home for another pod with it",
    snapshot: {
      pods: [
        testPod("ingress-0", "n1", { hostPorts: [{ port: 80, protocol: "TCP" }] }),
        portPod("ingress-1", 80),
      ],
      nodes: [readyNode.node],
      nodeClaims: [readyNode.claim],
    },
    want: { claims: [{ pods: ["ingress-1"] }] },
  },
  {
    name:
      "DaemonSet requests are added to each new VM, so a 1.7 vCPU pod gets a 4-vCPU VM with a 300m DaemonSet",
    snapshot: {
      pods: [pending("big-1", { containers: [{ cpu: 1700, memory: GiB }] })],
      daemonSets: [
        testPod("node-agent", undefined, {
          containers: [{ cpu: 300, memory: 128 * MiB }],
          ownerKind: "DaemonSet",
        }),
      ],
    },
    want: { claims: [{ shape: "4c-8Gi", pods: ["big-1"] }] },
  },
  {
    name: "without the DaemonSet the same pod gets the 2-vCPU VM",
    snapshot: { pods: [pending("big-1", { containers: [{ cpu: 1700, memory: GiB }] })] },
    want: { claims: [{ shape: "2c-4Gi", pods: ["big-1"] }] },
  },
  {
    name: "a DaemonSet whose node selector no node of the pool matches adds nothing",
    snapshot: {
      pods: [pending("big-1", { containers: [{ cpu: 1700, memory: GiB }] })],
      daemonSets: [
        testPod("gpu-agent", undefined, {
          containers: [{ cpu: 300, memory: 128 * MiB }],
          nodeSelector: { accel: "gpu" },
        }),
      ],
    },
    want: { claims: [{ shape: "2c-4Gi", pods: ["big-1"] }] },
  },
  {
    name: "an unreachable node's free room is not capacity: the pod gets a new VM",
    snapshot: {
      pods: [pending("web-1")],
      nodes: [{
        ...readyNode.node,
        ready: false,
        taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }],
      }],
      nodeClaims: [readyNode.claim],
    },
    want: { claims: [{ pods: ["web-1"] }] },
  },
  {
    name: "a Ready node with room takes the pod and no VM is planned",
    snapshot: { pods: [pending("web-1")], nodes: [readyNode.node], nodeClaims: [readyNode.claim] },
    want: { claims: [], placed: { "web-1": "n1" } },
  },
  {
    name: "a NotReady node of a claim still starting up is capacity on its way in",
    snapshot: (() => {
      const m = managedNode("n2", "general");
      m.claim.conditions = m.claim.conditions.filter((c) =>
        c.type === "Launched" || c.type === "Registered"
      );
      return {
        pods: [pending("web-1")],
        nodes: [{ ...m.node, ready: false }],
        nodeClaims: [m.claim],
      };
    })(),
    want: { claims: [], placed: { "web-1": "n2" } },
  },
  {
    name:
      "a Ready node whose claim's labels and taints are not synced yet still takes the pods that select them",
    snapshot: (() => {
      // Registration syncs the claim's labels and taints onto the Node on a later pass; until
      // then the node is its claim's (no second claim for pods selecting the pool's label).
      const m = managedNode("n3", "general");
      m.claim.conditions = m.claim.conditions.filter((c) => c.type === "Launched");
      m.claim.labels = { ...m.claim.labels, "example.com/team": "a" };
      m.claim.taints = [{ key: "example.com/team", value: "a", effect: "NoSchedule" }];
      return {
        pods: [pending("team-1", {
          nodeSelector: { "example.com/team": "a" },
          tolerations: [{ key: "example.com/team", operator: "Equal", value: "a" }],
        })],
        nodes: [{ ...m.node, labels: { ...m.node.labels }, taints: [] }],
        nodeClaims: [m.claim],
      };
    })(),
    want: { claims: [], placed: { "team-1": "n3" } },
  },
  {
    name:
      "a registering node is offered with its claim's taints: a pod not tolerating them opens a claim",
    snapshot: (() => {
      const m = managedNode("n4", "general");
      m.claim.conditions = m.claim.conditions.filter((c) => c.type === "Launched");
      m.claim.taints = [{ key: "example.com/team", value: "a", effect: "NoSchedule" }];
      return {
        pods: [pending("web-1")],
        nodes: [{ ...m.node, taints: [] }],
        nodeClaims: [m.claim],
      };
    })(),
    want: { claims: [{ pods: ["web-1"] }] },
  },
  {
    name:
      "a pool requirement In [1,2,3] is not pinned to its first value: a pod asking Gt 1 gets 2",
    snapshot: {
      pods: [pending("gen-1", {
        requiredNodeAffinity: [{
          matchExpressions: [{ key: "example.com/gen", operator: "Gt", values: ["1"] }],
        }],
      })],
    },
    config: (c) => {
      c.nodePools[0]!.requirements = [{
        key: "example.com/gen",
        operator: "In",
        values: ["1", "2", "3"],
      }];
    },
    want: { claims: [{ pods: ["gen-1"], label: ["example.com/gen", "2"] }] },
  },
  {
    name: "a pool requirement Exists does not make the pool unusable",
    snapshot: { pods: [pending("web-1")] },
    config: (c) => {
      c.nodePools[0]!.requirements = [{ key: "example.com/team", operator: "Exists" }];
    },
    want: { claims: [{ pool: "general", pods: ["web-1"] }] },
  },
  {
    name: "a pool requirement on proxscale.io/host launches on that host",
    snapshot: { pods: [pending("web-1")] },
    config: (c) => {
      c.nodePools[0]!.requirements = [{ key: HOST_LABEL_KEY, operator: "In", values: ["pve2"] }];
    },
    want: { claims: [{ host: "pve2", pods: ["web-1"] }] },
  },
  {
    name: "a pool requiring one instance type launches that type even for a small pod",
    snapshot: { pods: [pending("web-1")] },
    config: (c) => {
      c.nodePools[0]!.requirements = [{ key: TYPE, operator: "In", values: ["4c-8Gi"] }];
    },
    want: { claims: [{ shape: "4c-8Gi", pods: ["web-1"] }] },
  },
  {
    name: "a pod selecting an instance type gets it, and its claim never grows past it",
    snapshot: {
      pods: [
        pending("small-1", {
          nodeSelector: { [TYPE]: "2c-4Gi" },
          containers: [{ cpu: 1000, memory: GiB }],
        }),
        pending("other-1", { containers: [{ cpu: 1500, memory: GiB }] }),
      ],
    },
    want: {
      claims: [{ shape: "2c-4Gi", pods: ["other-1"] }, { shape: "2c-4Gi", pods: ["small-1"] }],
    },
  },
  {
    name: "a pod selecting the second host of a zone gets a VM on that host",
    snapshot: {
      pods: [pending("pinned-1", { nodeSelector: { [HOST_LABEL_KEY]: "pve2" } })],
      hosts: [testHost("pve1", "zone-a"), testHost("pve2", "zone-a")],
    },
    want: { claims: [{ host: "pve2", pods: ["pinned-1"] }] },
  },
  {
    name:
      "minDomains above the number of zones keeps the global minimum at zero, so a third pod waits",
    snapshot: {
      pods: ["spread-1", "spread-2", "spread-3"].map((n) =>
        pending(n, {
          labels: { app: "spread" },
          topologySpreadConstraints: [{
            maxSkew: 1,
            topologyKey: ZONE,
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "spread" } },
            minDomains: 3,
          }],
        })
      ),
    },
    want: {
      claims: [{ pods: ["spread-1"] }, { pods: ["spread-2"] }],
      unhelped: { "spread-3": "PodUnschedulableAnywhere" },
    },
  },
  {
    name: "required pod affinity on hostname puts the two pods on one VM",
    snapshot: {
      pods: [
        pending("cache-1", { labels: { app: "cache" } }),
        pending("web-1", {
          labels: { app: "web" },
          requiredPodAffinity: [{
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { app: "cache" } },
          }],
        }),
      ],
    },
    want: { claims: [{ pods: ["cache-1", "web-1"] }] },
  },
  {
    name: "required pod affinity to a running pod places the pod on that pod's node",
    snapshot: {
      pods: [
        testPod("cache-1", "n1", { labels: { app: "cache" } }),
        pending("web-1", {
          labels: { app: "web" },
          requiredPodAffinity: [{
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { app: "cache" } },
          }],
        }),
      ],
      nodes: [readyNode.node, managedNode("n0", "general").node],
      nodeClaims: [readyNode.claim],
    },
    want: { claims: [], placed: { "web-1": "n1" } },
  },
  {
    name: "preferred pod affinity steers a pod to the node running the pod it prefers",
    snapshot: {
      pods: [
        testPod("cache-1", "n1", { labels: { app: "cache" } }),
        pending("web-1", {
          labels: { app: "web" },
          preferredPodAffinity: [{
            weight: 100,
            term: {
              topologyKey: "kubernetes.io/hostname",
              labelSelector: { matchLabels: { app: "cache" } },
            },
          }],
        }),
      ],
      nodes: [managedNode("n0", "general").node, readyNode.node],
      nodeClaims: [readyNode.claim],
    },
    want: { claims: [], placed: { "web-1": "n1" } },
  },
  {
    name: "preferred pod affinity nobody can meet does not keep a pod off free capacity",
    snapshot: {
      pods: [pending("web-1", {
        preferredPodAffinity: [{
          weight: 100,
          term: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { app: "nope" } },
          },
        }],
      })],
      nodes: [readyNode.node],
      nodeClaims: [readyNode.claim],
    },
    want: { claims: [], placed: { "web-1": "n1" } },
  },
  {
    name: "a pod pinned by a local volume to a node that is gone gets no VM and says why",
    snapshot: {
      pods: applyVolumeAffinity(
        [pending("db-0", { volumeClaims: ["data-db-0"], ownerKind: "StatefulSet" })],
        [{ namespace: "default", name: "data-db-0", volumeName: "pv-local-1" }],
        [{
          name: "pv-local-1",
          nodeAffinity: [{
            matchExpressions: [{
              key: "kubernetes.io/hostname",
              operator: "In",
              values: ["old-node"],
            }],
          }],
        }],
      ),
    },
    want: { claims: [], unhelped: { "db-0": "NoCompatiblePool" } },
  },
  {
    name: "a pod on a zonal volume gets a VM in the volume's zone",
    snapshot: {
      pods: applyVolumeAffinity(
        [pending("db-0", { volumeClaims: ["data"] })],
        [{ namespace: "default", name: "data", volumeName: "pv-z" }],
        [{
          name: "pv-z",
          nodeAffinity: [{ matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-b"] }] }],
        }],
      ),
    },
    want: { claims: [{ host: "pve2", pods: ["db-0"] }] },
  },
  {
    name: "a pod whose unbound claim binds immediately waits for its volume, not for a VM",
    snapshot: {
      pods: applyVolumeAffinity(
        [pending("db-0", { volumeClaims: ["data"] })],
        [{ namespace: "default", name: "data", storageClassName: "fast" }],
        [],
        [{ name: "fast", volumeBindingMode: "Immediate" }],
      ),
    },
    want: { claims: [], unhelped: { "db-0": "VolumeNotBound" } },
  },
  {
    name:
      "a claim of a WaitForFirstConsumer class binds where the VM goes, inside its allowed zones",
    snapshot: {
      pods: applyVolumeAffinity(
        [pending("db-0", { volumeClaims: ["data"] })],
        [{ namespace: "default", name: "data", storageClassName: "zonal" }],
        [],
        [{
          name: "zonal",
          volumeBindingMode: "WaitForFirstConsumer",
          allowedTopologies: [{
            matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-b"] }],
          }],
        }],
      ),
    },
    want: { claims: [{ host: "pve2", pods: ["db-0"] }] },
  },
  {
    name: "the pods of a node being deleted get a VM before they are evicted",
    snapshot: {
      pods: [testPod("web-1", "n1"), testPod("web-2", "n1")],
      nodes: [{ ...readyNode.node, deleting: true }],
      nodeClaims: [{ ...readyNode.claim, deleting: true }],
    },
    leaving: true,
    want: { claims: [{ pods: ["web-1", "web-2"] }] },
  },
  {
    name: "the pods of a disrupted node wait on its launching replacement rather than a new VM",
    snapshot: (() => {
      const repl = managedNode("n2", "general");
      const { nodeName: _n, providerID: _p, ...launching } = { ...repl.claim, conditions: [] };
      return {
        pods: [testPod("web-1", "n1")],
        nodes: [{
          ...readyNode.node,
          taints: [{ key: "proxscale.io/disrupted", effect: "NoSchedule" as const }],
        }],
        nodeClaims: [readyNode.claim, launching],
      };
    })(),
    leaving: true,
    want: { claims: [], placed: { "web-1": "n2-claim" } },
  },
];

for (const c of CASES) {
  Deno.test(c.name, () => {
    const config = testConfig();
    c.config?.(config);
    const snap = snapshotOf(c.snapshot);
    const plan = provision(c.leaving ? withLeavingPodsPending(snap) : snap, config);
    const name = (key: string) => key.split("/")[1]!;
    if (c.want.claims) {
      assert.equal(plan.claims.length, c.want.claims.length, JSON.stringify(plan, null, 1));
      c.want.claims.forEach((w, i) => {
        const got = plan.claims[i]!;
        assert.deepEqual(got.pods.map(name), w.pods, `claim ${i} pods`);
        if (w.pool) assert.equal(got.nodePool, w.pool);
        if (w.shape) assert.equal(got.shape.name, w.shape);
        if (w.host) {
          assert.equal(got.host, w.host);
          assert.equal(got.labels[HOST_LABEL_KEY], w.host, "the host label names the planned host");
        }
        if (w.label) assert.equal(got.labels[w.label[0]], w.label[1]);
        assert.equal(got.labels[TYPE], got.shape.name, "the instance-type label is the shape");
      });
    }
    for (const [pod, code] of Object.entries(c.want.unhelped ?? {})) {
      const u = plan.unhelped.find((x) => name(x.pod) === pod);
      assert.ok(u, `${pod} is reported`);
      assert.equal(u.reason.code, code, u.reason.message);
    }
    for (const [pod, node] of Object.entries(c.want.placed ?? {})) {
      const p = plan.placements.find((x) => name(x.pod) === pod);
      assert.equal(p?.target, node, JSON.stringify(plan.placements));
    }
  });
}
