import assert from "node:assert/strict";
import { nodeFromKube, podFromKube } from "./translate.ts";
import {
  daemonSetFromKube,
  persistentVolumeFromKube,
  storageClassFromKube,
  volumeClaimFromKube,
} from "./translate_workloads.ts";
import { podExtendedRequests } from "../../core/pod_requests.ts";
import { applyVolumeAffinity } from "../../core/volumes.ts";

const GiB = 1024 ** 3;

const gpuPod = {
  metadata: {
    name: "train-0",
    namespace: "ml",
    uid: "u1",
    creationTimestamp: "2026-11-26T03:00:00Z",
  },
  spec: {
    nodeName: "n1",
    overhead: { cpu: "100m", "example.com/vfio": "1" },
    initContainers: [{ name: "warm", resources: { requests: { "hugepages-2Mi": "1Gi" } } }],
    containers: [{
      name: "main",
      resources: {
        requests: { cpu: "1", memory: "2Gi", "ephemeral-storage": "10Gi" },
        limits: { "nvidia.com/gpu": "2" },
      },
      ports: [{ containerPort: 8080, hostPort: 80 }, {
        containerPort: 53,
        hostPort: 53,
        protocol: "UDP",
      }, {
        containerPort: 9090,
      }],
    }],
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          topologyKey: "kubernetes.io/hostname",
          labelSelector: { matchLabels: { app: "cache" } },
        }],
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 50,
          podAffinityTerm: { topologyKey: "topology.kubernetes.io/zone" },
        }],
      },
    },
    volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-train-0" } }, {
      name: "tmp",
      emptyDir: {},
    }],
  },
  status: {
    phase: "Running",
    conditions: [{
      type: "PodScheduled",
      status: "True",
      lastTransitionTime: "2026-11-26T03:00:05Z",
    }],
  },
};

Deno.test("every resource a pod requests is translated: extended resources, hugepages, ephemeral storage, overhead", () => {
  const p = podFromKube(gpuPod);
  assert.ok(p.ok, String(!p.ok && p.error));
  assert.deepEqual(podExtendedRequests(p.value), {
    "nvidia.com/gpu": 2,
    "ephemeral-storage": 10 * GiB,
    "hugepages-2Mi": GiB,
    "example.com/vfio": 1,
  });
  assert.deepEqual(p.value.hostPorts, [{ port: 80, protocol: "TCP" }, {
    port: 53,
    protocol: "UDP",
  }]);
  assert.equal(p.value.requiredPodAffinity?.[0]?.topologyKey, "kubernetes.io/hostname");
  assert.equal(p.value.preferredPodAffinity?.[0]?.weight, 50);
  assert.deepEqual(p.value.volumeClaims, ["data-train-0"]);
  assert.equal(p.value.boundAt, Date.parse("2026-11-26T03:00:05Z"), "bind time from PodScheduled");
});

Deno.test("a node's extended allocatable is translated beside cpu, memory and pods", () => {
  const n = nodeFromKube({
    metadata: { name: "n1" },
    status: {
      allocatable: {
        cpu: "4",
        memory: "8Gi",
        pods: "110",
        "nvidia.com/gpu": "1",
        "hugepages-1Gi": "2Gi",
      },
      conditions: [{ type: "Ready", status: "Unknown" }],
    },
  });
  assert.ok(n.ok);
  assert.deepEqual(n.value.allocatable.extended, { "nvidia.com/gpu": 1, "hugepages-1Gi": 2 * GiB });
  assert.equal(n.value.ready, false, "Ready=Unknown (unreachable) is not ready");
});

Deno.test("a DaemonSet becomes the pod each matching node runs, with its selector and tolerations", () => {
  const d = daemonSetFromKube({
    metadata: { name: "agent", namespace: "kube-system", uid: "d1" },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux" },
          tolerations: [{ operator: "Exists" }],
          containers: [{ name: "a", resources: { requests: { cpu: "300m", memory: "128Mi" } } }],
        },
      },
    },
  });
  assert.ok(d.ok, String(!d.ok && d.error));
  assert.equal(d.value.ownerKind, "DaemonSet");
  assert.deepEqual(d.value.nodeSelector, { "kubernetes.io/os": "linux" });
  assert.deepEqual(d.value.containers, [{ cpu: 300, memory: 128 * 1024 ** 2 }]);
  assert.equal(d.value.tolerations?.[0]?.operator, "Exists");
  const bad = daemonSetFromKube({ metadata: { name: "x" }, spec: {} });
  assert.ok(!bad.ok, "a DaemonSet without a template is refused with a reason");
});

Deno.test("a bound local PersistentVolume pins the pods that mount its claim to its node", () => {
  const pvc = volumeClaimFromKube({
    metadata: { name: "data-train-0", namespace: "ml" },
    spec: { volumeName: "local-pv-1", storageClassName: "local" },
  });
  const pv = persistentVolumeFromKube({
    metadata: { name: "local-pv-1" },
    spec: {
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }],
          }],
        },
      },
    },
  });
  const pod = podFromKube({ ...gpuPod, spec: { ...gpuPod.spec, affinity: undefined } });
  assert.ok(pvc.ok && pv.ok && pod.ok);
  const [pinned] = applyVolumeAffinity([pod.value], [pvc.value], [pv.value]);
  assert.equal(pinned!.volumePinned, true);
  assert.deepEqual(pinned!.requiredNodeAffinity, [{
    matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }],
  }]);
  const unbound = volumeClaimFromKube({ metadata: { name: "data-train-0", namespace: "ml" } });
  assert.ok(unbound.ok);
  const [free] = applyVolumeAffinity([pod.value], [unbound.value], [pv.value]);
  assert.equal(free!.volumePinned, undefined, "a claim not yet bound adds no constraint");
});

Deno.test("a StorageClass's binding mode defaults to Immediate and its allowed topologies become node terms", () => {
  const plain = storageClassFromKube({ metadata: { name: "std" }, provisioner: "x" });
  assert.ok(plain.ok);
  assert.deepEqual(plain.value, { name: "std", volumeBindingMode: "Immediate" });
  const zonal = storageClassFromKube({
    metadata: { name: "zonal" },
    volumeBindingMode: "WaitForFirstConsumer",
    allowedTopologies: [{
      matchLabelExpressions: [{ key: "topology.kubernetes.io/zone", values: ["a", "b"] }],
    }],
  });
  assert.ok(zonal.ok);
  assert.deepEqual(zonal.value.allowedTopologies, [{
    matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["a", "b"] }],
  }]);
});
