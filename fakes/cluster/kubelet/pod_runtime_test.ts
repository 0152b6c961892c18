/** Kubelet admission, run time and requests of one pod. */
import { deepEqual, equal } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { admitPod, podRequests, qosClass, runDurationMs } from "./pod_runtime.ts";

const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>): KObj => ({
  metadata: { name: "p", namespace: "default", ...(annotations ? { annotations } : {}) },
  spec,
});
const c = (requests?: Record<string, string>, limits?: Record<string, string>) => ({
  name: "c",
  image: "x",
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
});

Deno.test("a pod requests the sum of its containers, at least its largest init container, plus overhead", () => {
  deepEqual(
    podRequests(pod({
      containers: [
        c({ cpu: "250m", memory: "1Gi" }),
        c(undefined, { cpu: "1", "nvidia.com/gpu": "1" }),
      ],
      initContainers: [c({ cpu: "2", memory: "100Mi" })],
      overhead: { cpu: "100m" },
    })),
    { cpu: 2100, memory: 2 ** 30, "nvidia.com/gpu": 1 },
  );
});

Deno.test("admission rejects the first resource that does not fit, in the kubelet's words", () => {
  const alloc = { cpu: 3900, memory: 8 * 2 ** 30, pods: 110, "nvidia.com/gpu": 1 };
  equal(admitPod(pod({ containers: [c({ cpu: "1" })] }), alloc, { cpu: 2900 }, 3), undefined);
  deepEqual(admitPod(pod({ containers: [c({ cpu: "1" })] }), alloc, { cpu: 3000 }, 3), {
    reason: "OutOfcpu",
    message:
      "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 3000, capacity: 3900",
  });
  equal(
    admitPod(pod({ containers: [c({ memory: "9Gi" })] }), alloc, {}, 0)?.reason,
    "OutOfmemory",
  );
  equal(
    admitPod(pod({ containers: [c(undefined, { "nvidia.com/gpu": "2" })] }), alloc, {}, 0)?.reason,
    "OutOfnvidia.com/gpu",
  );
  equal(admitPod(pod({ containers: [c()] }), alloc, {}, 110)?.reason, "OutOfpods");
  equal(
    admitPod(pod({ containers: [c({ cpu: "5", memory: "9Gi" })] }), alloc, {}, 0)?.reason,
    "OutOfcpu",
    "cpu is checked before memory",
  );
  equal(
    admitPod(pod({ containers: [c({ "example.com/fpga": "1" })] }), alloc, {}, 0),
    undefined,
    "an extended resource the node does not advertise is left to the scheduler",
  );
  equal(
    admitPod(pod({ containers: [c({ "hugepages-2Mi": "2Mi" })] }), alloc, {}, 0)?.reason,
    "OutOfhugepages-2Mi",
  );
});

Deno.test("only Never and OnFailure pods complete: annotation first, then sleep, else one second", () => {
  equal(runDurationMs(pod({ containers: [c()] })), undefined);
  equal(runDurationMs(pod({ restartPolicy: "Always", containers: [c()] })), undefined);
  equal(runDurationMs(pod({ restartPolicy: "Never", containers: [c()] })), 1000);
  equal(
    runDurationMs(pod({
      restartPolicy: "OnFailure",
      containers: [{ name: "a", command: ["sleep"], args: ["30"] }, {
        name: "b",
        command: ["sh", "-c", "sleep 5; echo"],
      }],
    })),
    30_000,
  );
  equal(
    runDurationMs(pod({ restartPolicy: "Never", containers: [{ name: "a", args: ["sleep 9"] }] }, {
      "fake.proxscale.io/run-seconds": "2.5",
    })),
    2500,
  );
});

Deno.test("QoS class follows requests and limits", () => {
  equal(qosClass(pod({ containers: [c()] })), "BestEffort");
  equal(qosClass(pod({ containers: [c({ cpu: "1" })] })), "Burstable");
  equal(qosClass(pod({ containers: [c(undefined, { cpu: "1", memory: "1Gi" })] })), "Guaranteed");
});
