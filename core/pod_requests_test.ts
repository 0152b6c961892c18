import assert from "node:assert/strict";
import { podRequests, podRequestsOf } from "./pod_requests.ts";
import type { Pod } from "./model.ts";

const base: Pod = {
  uid: "u",
  name: "p",
  namespace: "d",
  phase: "Pending",
  createdAt: 0,
  containers: [],
};

Deno.test("containers are summed and the overhead added", () => {
  const r = podRequests({
    ...base,
    containers: [{ cpu: 100, memory: 10 }, { cpu: 200 }],
    overhead: { cpu: 5, memory: 1 },
  });
  assert.deepEqual(r, { cpu: 305, memory: 11 });
});

Deno.test("a large init container sets the request when it exceeds the containers' sum", () => {
  const r = podRequests({
    ...base,
    containers: [{ cpu: 100, memory: 100 }],
    initContainers: [{ cpu: 500, memory: 50 }],
  });
  assert.deepEqual(r, { cpu: 500, memory: 100 });
});

Deno.test("sidecar init containers run beside the containers and later init containers", () => {
  const r = podRequests({
    ...base,
    containers: [{ cpu: 100 }],
    initContainers: [{ cpu: 50, sidecar: true }, { cpu: 400 }],
  });
  // max(100 + 50, 50 + 400) = 450
  assert.equal(r.cpu, 450);
});

Deno.test("requests kept for a pod follow a replaced container list or overhead and cannot be edited", () => {
  const pod: Pod = { ...base, containers: [{ cpu: 100, memory: 10 }] };
  const first = podRequestsOf(pod);
  assert.deepEqual(first, { cpu: 100, memory: 10 });
  assert.equal(podRequestsOf(pod), first);
  pod.containers = [{ cpu: 300, memory: 30 }];
  assert.deepEqual(podRequestsOf(pod), { cpu: 300, memory: 30 });
  pod.overhead = { cpu: 1, memory: 2 };
  assert.deepEqual(podRequestsOf(pod), { cpu: 301, memory: 32 });
  pod.initContainers = [{ cpu: 1000, memory: 1 }];
  assert.deepEqual(podRequestsOf(pod), podRequests(pod));
  assert.ok(Object.isFrozen(podRequestsOf(pod)));
});

Deno.test("replicas that share one container list share one kept result, and an overhead still counts", () => {
  const containers = [{ cpu: 200, memory: 20 }];
  const a: Pod = { ...base, uid: "a", containers };
  const b: Pod = { ...base, uid: "b", containers };
  assert.equal(podRequestsOf(a), podRequestsOf(b));
  const c: Pod = { ...base, uid: "c", containers, overhead: { cpu: 5, memory: 5 } };
  assert.deepEqual(podRequestsOf(c), { cpu: 205, memory: 25 });
  assert.deepEqual(podRequestsOf(a), { cpu: 200, memory: 20 });
});
