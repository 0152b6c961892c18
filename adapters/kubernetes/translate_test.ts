import assert from "node:assert/strict";
import {
  nodeClaimFromKube,
  nodeClaimToKube,
  nodeFromKube,
  pdbFromKube,
  podFromKube,
} from "./translate.ts";
import { podRequests } from "../../core/pod_requests.ts";
import type { NodeClaim } from "../../core/model.ts";

const pendingPod = {
  metadata: {
    name: "web-1",
    namespace: "default",
    uid: "u1",
    creationTimestamp: "2026-11-26T03:33:20Z",
    labels: { app: "web" },
    ownerReferences: [
      { apiVersion: "v1", kind: "Other", name: "x", uid: "o0" },
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7c9d", uid: "o1", controller: true },
    ],
  },
  spec: {
    nodeSelector: { "kubernetes.io/os": "linux" },
    priority: 10,
    overhead: { cpu: "100m", memory: "64Mi" },
    initContainers: [
      { name: "init", resources: { requests: { cpu: "2", memory: "1Gi" } } },
      {
        name: "sidecar",
        restartPolicy: "Always",
        resources: { requests: { cpu: "250m", memory: "128Mi" } },
      },
    ],
    containers: [
      { name: "a", resources: { requests: { cpu: "500m", memory: "256Mi" } } },
      { name: "b", resources: { limits: { cpu: "1", memory: "512Mi" } } },
      { name: "c" },
    ],
    tolerations: [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
      { operator: "Exists" },
    ],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchExpressions: [{
              key: "proxscale.io/nodepool",
              operator: "In",
              values: ["general"],
            }],
          }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 50,
          preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] },
        }],
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          labelSelector: { matchLabels: { app: "web" } },
          topologyKey: "kubernetes.io/hostname",
        }],
      },
    },
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: { app: "web" } },
    }],
    volumes: [{ name: "scratch", emptyDir: {} }],
  },
  status: {
    phase: "Pending",
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/3 nodes are available",
      lastTransitionTime: "2026-11-26T03:33:24Z",
    }],
  },
};

Deno.test("a pending pod translates with per-container, init, sidecar and overhead requests", () => {
  const r = podFromKube(pendingPod);
  assert.ok(r.ok, !r.ok ? r.error : "");
  const p = r.value;
  assert.deepEqual(p.containers, [{ cpu: 500, memory: 256 * 2 ** 20 }, {
    cpu: 1000,
    memory: 512 * 2 ** 20,
  }, {}]);
  assert.deepEqual(p.initContainers, [{ cpu: 2000, memory: 2 ** 30 }, {
    cpu: 250,
    memory: 128 * 2 ** 20,
    sidecar: true,
  }]);
  assert.deepEqual(p.overhead, { cpu: 100, memory: 64 * 2 ** 20 });
  // max(containers 1500 + sidecar 250, init 2000 which runs before the sidecar) + overhead 100
  assert.deepEqual(podRequests(p), { cpu: 2100, memory: 2 ** 30 + 64 * 2 ** 20 });
  assert.equal(p.unschedulable, true);
  assert.equal(p.pendingSince, Date.parse("2026-11-26T03:33:24Z"));
  assert.equal(p.createdAt, Date.parse("2026-11-26T03:33:20Z"));
  assert.equal(p.ownerKind, "ReplicaSet");
  assert.equal(p.ownerName, "web-7c9d");
  assert.equal(p.priority, 10);
  assert.equal(p.localStorage, true);
  assert.deepEqual(p.tolerations, [
    {
      key: "node.kubernetes.io/not-ready",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 300,
    },
    { operator: "Exists" },
  ]);
  assert.deepEqual(p.requiredNodeAffinity, [{
    matchExpressions: [{ key: "proxscale.io/nodepool", operator: "In", values: ["general"] }],
  }]);
  assert.equal(p.preferredNodeAffinity?.[0]?.weight, 50);
  assert.deepEqual(p.requiredPodAntiAffinity, [{
    topologyKey: "kubernetes.io/hostname",
    labelSelector: { matchLabels: { app: "web" } },
  }]);
  assert.equal(p.topologySpreadConstraints?.[0]?.whenUnsatisfiable, "DoNotSchedule");
});

Deno.test("typed objects from client-node lists (Date timestamps) translate like raw JSON", () => {
  const typed = structuredClone(pendingPod) as unknown as {
    metadata: { creationTimestamp: unknown };
  };
  typed.metadata.creationTimestamp = new Date("2026-11-26T03:33:20Z");
  const r = podFromKube(typed);
  assert.ok(r.ok);
  assert.equal(r.value.createdAt, Date.parse("2026-11-26T03:33:20Z"));
});

Deno.test("malformed objects are reported with the field that is wrong", () => {
  const cases: [unknown, RegExp][] = [
    [{ spec: { containers: [] } }, /^metadata/],
    [{ metadata: { name: 5 }, spec: { containers: [] } }, /^metadata\.name/],
    [{ metadata: { name: "p" }, spec: { containers: "x" } }, /^spec\.containers/],
    [
      {
        metadata: { name: "p" },
        spec: { containers: [{ resources: { requests: { cpu: "lots" } } }] },
      },
      /^spec\.containers\[0\]\.resources\.cpu: "lots" is not a Kubernetes quantity/,
    ],
    [
      { metadata: { name: "p", creationTimestamp: "yesterday" }, spec: { containers: [] } },
      /^metadata\.creationTimestamp: not a time/,
    ],
    [null, /object/],
  ];
  for (const [obj, why] of cases) {
    const r = podFromKube(obj);
    assert.ok(!r.ok, JSON.stringify(obj));
    assert.match(r.error, why);
  }
});

Deno.test("a node translates allocatable, readiness, taints and cordon", () => {
  const r = nodeFromKube({
    metadata: { name: "n1", labels: { a: "b" }, creationTimestamp: "2026-11-26T03:00:00Z" },
    spec: {
      providerID: "proxmox://c/pve1/104",
      unschedulable: true,
      taints: [{ key: "k", effect: "NoSchedule", timeAdded: "2026-11-26T03:00:00Z" }],
    },
    status: {
      allocatable: { cpu: "3900m", memory: "8045836Ki", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
  assert.ok(r.ok, !r.ok ? r.error : "");
  assert.deepEqual(r.value, {
    name: "n1",
    providerID: "proxmox://c/pve1/104",
    labels: { a: "b" },
    taints: [{ key: "k", effect: "NoSchedule" }],
    allocatable: { cpu: 3900, memory: 8045836 * 1024, pods: 110 },
    ready: true,
    unschedulable: true,
    createdAt: Date.parse("2026-11-26T03:00:00Z"),
  });
});

Deno.test("a PDB without selector is reported as selecting nothing", () => {
  const ok = pdbFromKube({
    metadata: { name: "p", namespace: "d" },
    spec: { selector: { matchLabels: { app: "web" } } },
    status: { disruptionsAllowed: 1 },
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, {
    name: "p",
    namespace: "d",
    selector: { matchLabels: { app: "web" } },
    disruptionsAllowed: 1,
  });
  const none = pdbFromKube({ metadata: { name: "p", namespace: "d" }, spec: {} });
  assert.ok(!none.ok);
  assert.match(none.error, /selects no pods/);
});

Deno.test("a NodeClaim survives the trip to Kubernetes and back", () => {
  const claim: NodeClaim = {
    name: "general-abc12",
    nodePool: "general",
    machineTemplate: "worker",
    provider: "homelab",
    shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * 2 ** 30 },
    host: "pve2",
    createdAt: Date.parse("2026-11-26T03:00:00Z"),
    labels: { "proxscale.io/nodepool": "general" },
    taints: [{ key: "t", value: "v", effect: "NoSchedule" }],
    startupTaints: [],
    templateHash: "abc",
    conditions: [],
  };
  const obj = nodeClaimToKube(claim) as { metadata: Record<string, unknown> };
  obj.metadata.creationTimestamp = "2026-11-26T03:00:00Z";
  const back = nodeClaimFromKube(obj);
  assert.ok(back.ok, !back.ok ? back.error : "");
  assert.deepEqual(back.value, claim);
});

Deno.test("an adopted NodeClaim keeps its first creation time through Kubernetes, not the object's", () => {
  const first = Date.parse("2026-10-01T08:30:15.250Z");
  const claim: NodeClaim = {
    name: "general-abc12",
    nodePool: "general",
    machineTemplate: "worker",
    provider: "homelab",
    shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * 2 ** 30 },
    createdAt: first,
    adoptedAt: Date.parse("2026-12-07T13:00:00Z"),
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [],
  };
  const obj = nodeClaimToKube(claim) as { metadata: Record<string, unknown> };
  assert.deepEqual(obj.metadata.annotations, {
    "proxscale.io/claim-created": "2026-10-01T08:30:15.250Z",
  });
  obj.metadata.creationTimestamp = "2026-12-07T13:00:01Z"; // the API server's, at adoption
  const back = nodeClaimFromKube(obj);
  assert.ok(back.ok, !back.ok ? back.error : "");
  assert.equal(back.value.createdAt, first);
  const { adoptedAt: _a, ...fresh } = claim;
  const plain = nodeClaimToKube(fresh) as { metadata: Record<string, unknown> };
  assert.equal(plain.metadata.annotations, undefined, "a launched claim's age is its object's");
  const bad = {
    ...obj,
    metadata: { ...obj.metadata, annotations: { "proxscale.io/claim-created": "soon" } },
  };
  const fallback = nodeClaimFromKube(bad);
  assert.ok(fallback.ok);
  assert.equal(
    fallback.value.createdAt,
    Date.parse("2026-12-07T13:00:01Z"),
    "unreadable: the object's",
  );
});

Deno.test("a NodeClaim condition of a type proxscale does not know is left out, and the claim still decodes", () => {
  const at = "2026-11-26T03:05:00Z";
  const obj = {
    metadata: { name: "general-abc12", creationTimestamp: "2026-11-26T03:00:00Z" },
    spec: {
      nodePool: "general",
      machineTemplate: "worker",
      provider: "homelab",
      shape: { name: "4c-8Gi", cpu: "4", memory: "8Gi" },
    },
    status: {
      conditions: [
        { type: "Launched", status: "True", reason: "Launched", lastTransitionTime: at },
        { type: "ExampleVendorHealthy", status: "False", reason: "Other", lastTransitionTime: at },
        { type: "Registered", status: "True", reason: "Registered", lastTransitionTime: at },
      ],
    },
  };
  const back = nodeClaimFromKube(obj);
  assert.ok(back.ok, !back.ok ? back.error : "");
  assert.deepEqual(back.value.conditions.map((c) => c.type), ["Launched", "Registered"]);
});
