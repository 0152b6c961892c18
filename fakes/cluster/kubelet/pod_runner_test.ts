/**
 * The pods of a fake kubelet's node, end to end against the fake PVE and API server: run,
 * complete, rejected at admission, held back while NotReady, and finished terminating.
 */
import { equal, match, ok } from "node:assert/strict";
import {
  addGpuVm,
  createPod,
  KUBEADM_SEED,
  node,
  pod,
  registered,
  TOKEN,
  withWorld,
} from "./testing/world.ts";
import { addBootstrapToken, attachSeed, sleep, waitFor } from "./testing/seeded_vm.ts";

Deno.test("a pod bound to the node runs with ready containers, a pod IP and the node's IP", async () => {
  await withWorld({}, async (w) => {
    await registered(w);
    createPod(w.kube, "web", {
      containers: [{
        name: "app",
        image: "nginx:1",
        resources: { requests: { cpu: "500m", memory: "1Gi" } },
      }],
    });
    const p = await waitFor("Running", () => {
      const x = pod(w.kube, "web");
      return x?.status?.phase === "Running" ? x : undefined;
    });
    equal(p.status!.hostIP, "10.1.2.3");
    match(p.status!.podIP, /^10\.\d+\.\d+\.\d+$/);
    ok(p.status!.startTime);
    equal(p.status!.containerStatuses[0].ready, true);
    ok(p.status!.containerStatuses[0].state.running);
    for (const t of ["Initialized", "ContainersReady", "Ready"]) {
      equal(
        p.status!.conditions.find((c: { type: string }) => c.type === t)?.status,
        "True",
        t,
      );
    }
  });
});

Deno.test("a Job-style pod runs for its sleep and then Succeeds with exit code 0", async () => {
  await withWorld({}, async (w) => {
    await registered(w);
    createPod(w.kube, "job-1", {
      restartPolicy: "Never",
      containers: [{ name: "work", image: "busybox", command: ["sh", "-c", "sleep 0.2"] }],
    });
    await waitFor("Running", () => pod(w.kube, "job-1")?.status?.phase === "Running" || undefined);
    const p = await waitFor("Succeeded", () => {
      const x = pod(w.kube, "job-1");
      return x?.status?.phase === "Succeeded" ? x : undefined;
    });
    const term = p.status!.containerStatuses[0].state.terminated;
    equal(term.exitCode, 0);
    equal(term.reason, "Completed");
    equal(p.status!.containerStatuses[0].ready, false);
  });
});

Deno.test("a pod requesting more cpu than is left is rejected by kubelet admission as OutOfcpu", async () => {
  await withWorld({}, async (w) => {
    await registered(w);
    createPod(w.kube, "big", {
      containers: [{ name: "a", image: "x", resources: { requests: { cpu: "4" } } }],
    });
    const p = await waitFor("Failed", () => {
      const x = pod(w.kube, "big");
      return x?.status?.phase === "Failed" ? x : undefined;
    });
    equal(p.status!.reason, "OutOfcpu");
    equal(
      p.status!.message,
      "Pod was rejected: Node didn't have enough resource: cpu, requested: 4000, used: 0, capacity: 3900",
    );
  });
});

Deno.test("the node's kubelet finishes graceful deletions of its pods after the grace period", async () => {
  await withWorld({ hold: true }, async (w) => {
    await registered(w);
    createPod(w.kube, "web", { containers: [{ name: "a", image: "x" }] });
    await waitFor("Running", () => pod(w.kube, "web")?.status?.phase === "Running" || undefined);
    w.kube.store.delete("pods", "default", "web", { gracePeriodSeconds: 1 });
    ok(pod(w.kube, "web")?.metadata.deletionTimestamp);
    await waitFor("the pod to be gone", () => pod(w.kube, "web") === undefined || undefined, 3000);
  });
});

Deno.test("a NotReady kubelet starts no new pods", async () => {
  await withWorld({}, async (w) => {
    await registered(w);
    w.kubelets.setNodeFault("gpu-abc12", "notready");
    createPod(w.kube, "web", { containers: [{ name: "a", image: "x" }] });
    await sleep(200);
    equal(pod(w.kube, "web")?.status?.phase, "Pending");
    w.kubelets.setNodeFault("gpu-abc12", undefined);
    await waitFor("Running", () => pod(w.kube, "web")?.status?.phase === "Running" || undefined);
  });
});

Deno.test("a pod bound while the startup NoExecute taint is on the node is rejected by kubelet admission", async () => {
  await withWorld({}, async (w) => {
    addGpuVm(w.pve);
    attachSeed(w.pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(w.kube.store, TOKEN);
    await waitFor("the node", () => node(w.kube, "gpu-abc12")?.status?.allocatable);
    createPod(w.kube, "early", { containers: [{ name: "a", image: "x" }] });
    const p = await waitFor("Failed", () => {
      const x = pod(w.kube, "early");
      return x?.status?.phase === "Failed" ? x : undefined;
    });
    equal(p.status!.reason, "TaintToleration");
    equal(p.status!.message, "Pod was rejected: Predicate TaintToleration failed");
  });
});
