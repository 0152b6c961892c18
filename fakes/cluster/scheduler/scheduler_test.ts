/**
 * The scheduler loop against an in-process fake API server: it binds through pods/binding,
 * marks what fits nowhere Unschedulable with kube-scheduler's message (once, with a
 * FailedScheduling Event, and a Scheduled Event when it binds), retries when a
 * node appears, keeps creation order, leaves other schedulers' pods alone, and annotates
 * WaitForFirstConsumer claims with the chosen node.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import type { ResourceDef } from "../../fake_kube/resources.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { withKube } from "../../fake_kube/testing/client.ts";
import { startScheduler } from "./scheduler.ts";
import { node, pod } from "./testing/objects.ts";

async function until<T>(what: string, probe: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function get(store: KubeStore, name: string): KObj {
  const r = store.get("pods", "default", name);
  if (!r.ok) throw new Error(`Pod ${name} is gone`);
  return r.value;
}

const boundTo = (store: KubeStore, name: string) =>
  get(store, name).spec?.nodeName as string | undefined;
const scheduledCondition = (store: KubeStore, name: string) =>
  // deno-lint-ignore no-explicit-any
  (get(store, name).status?.conditions ?? []).find((c: any) => c.type === "PodScheduled");

/** The Events about pod `name`, oldest first. */
function podEvents(store: KubeStore, name: string) {
  const r = store.list("events", { namespace: "default" });
  if (!r.ok) throw new Error(r.error.message);
  return (r.value.items as KObj[])
    .filter((e) => e.involvedObject?.kind === "Pod" && e.involvedObject?.name === name)
    .map((e) => ({
      type: e.type as string,
      reason: e.reason as string,
      message: e.message as string,
      uid: e.involvedObject.uid as string,
      from: e.source?.component as string,
    }));
}

function create(store: KubeStore, ref: string, obj: KObj): void {
  const ns = obj.metadata.namespace;
  const r = store.create(ref, obj, ns ? { namespace: ns } : {});
  if (!r.ok) throw new Error(`Create ${obj.metadata.name} failed: ${r.error.message}`);
}

Deno.test("a pending pod is bound through the binding subresource to a node it fits", async () => {
  await withKube({}, async (k) => {
    create(k.store, "nodes", node("small", { allocatable: { cpu: "1" } }));
    create(k.store, "nodes", node("big", { allocatable: { cpu: "8" } }));
    create(k.store, "pods", pod("web", { cpu: "2" }));
    const s = startScheduler(k.store, { retryMs: 50 });
    try {
      equal(await until("bind", () => boundTo(k.store, "web")), "big");
      const cond = scheduledCondition(k.store, "web");
      equal(cond.status, "True");
    } finally {
      s.stop();
    }
  });
});

Deno.test("a pod that fits nowhere is Unschedulable with the message, written once, and bound when a node is added", async () => {
  await withKube({}, async (k) => {
    create(k.store, "nodes", node("a", { allocatable: { cpu: "1" } }));
    create(
      k.store,
      "nodes",
      node("b", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
    );
    create(k.store, "pods", pod("big", { cpu: "2" }));
    const s = startScheduler(k.store, { retryMs: 20 });
    try {
      const cond = await until("Unschedulable", () => scheduledCondition(k.store, "big"));
      deepEqual(
        [cond.status, cond.reason, cond.message],
        [
          "False",
          "Unschedulable",
          "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: db}. " +
          "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        ],
      );
      const rv = get(k.store, "big").metadata.resourceVersion;
      await new Promise((r) => setTimeout(r, 120));
      equal(
        get(k.store, "big").metadata.resourceVersion,
        rv,
        "an unchanged message is not rewritten",
      );
      create(k.store, "nodes", node("c"));
      equal(await until("bind after a node is added", () => boundTo(k.store, "big")), "c");
      equal(scheduledCondition(k.store, "big").status, "True");
      // What `kubectl describe pod` lists: one FailedScheduling while the message held, then
      // Scheduled, both from default-scheduler and naming the pod's uid.
      const uid = get(k.store, "big").metadata.uid;
      deepEqual(
        podEvents(k.store, "big").map((e) => [e.type, e.reason, e.message, e.uid, e.from]),
        [
          ["Warning", "FailedScheduling", cond.message, uid, "default-scheduler"],
          [
            "Normal",
            "Scheduled",
            "Successfully assigned default/big to c",
            uid,
            "default-scheduler",
          ],
        ],
      );
    } finally {
      s.stop();
    }
  });
});

Deno.test("pods are placed in creation order, not list order, and each sees the binds before it", async () => {
  let clock = Date.parse("2026-01-01T00:00:10Z");
  await withKube({ now: () => clock }, async (k) => {
    create(k.store, "nodes", node("only", { allocatable: { cpu: "3" } }));
    create(k.store, "namespaces", { metadata: { name: "a" } });
    create(k.store, "namespaces", { metadata: { name: "b" } });
    // Listed first (its namespace is stored first) but created later by the clock.
    create(k.store, "pods", pod("a/second", { cpu: "2" }));
    clock = Date.parse("2026-01-01T00:00:00Z");
    create(k.store, "pods", pod("b/first", { cpu: "2" }));
    const s = startScheduler(k.store, { retryMs: 50 });
    try {
      const podIn = (ns: string, name: string) => {
        const r = k.store.get("pods", ns, name);
        return r.ok ? r.value : undefined;
      };
      equal(await until("first bound", () => podIn("b", "first")?.spec?.nodeName), "only");
      const cond = await until("second Unschedulable", () =>
        // deno-lint-ignore no-explicit-any
        podIn("a", "second")?.status?.conditions?.find((c: any) => c.type === "PodScheduled"));
      equal(cond.message.split(".")[0], "0/1 nodes are available: 1 Insufficient cpu");
    } finally {
      s.stop();
    }
  });
});

Deno.test("replicas with hostname anti-affinity created together land on different nodes, and the one too many waits", async () => {
  await withKube({}, async (k) => {
    create(k.store, "nodes", node("a"));
    create(k.store, "nodes", node("b"));
    const anti = {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [{
            labelSelector: { matchLabels: { app: "web" } },
            topologyKey: "kubernetes.io/hostname",
          }],
        },
      },
    };
    for (const name of ["web-1", "web-2", "web-3"]) {
      create(k.store, "pods", pod(name, { cpu: "100m" }, anti, { labels: { app: "web" } }));
    }
    const s = startScheduler(k.store, { retryMs: 50 });
    try {
      const cond = await until(
        "the third Unschedulable",
        () => scheduledCondition(k.store, "web-3"),
      );
      deepEqual([boundTo(k.store, "web-1"), boundTo(k.store, "web-2")].sort(), ["a", "b"]);
      equal(
        cond.message,
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " +
          "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
      );
    } finally {
      s.stop();
    }
  });
});

Deno.test("pods for another scheduler are left alone", async () => {
  await withKube({}, async (k) => {
    create(k.store, "nodes", node("n"));
    create(k.store, "pods", pod("mine", {}, {}));
    create(k.store, "pods", pod("theirs", {}, { schedulerName: "other" }));
    const s = startScheduler(k.store, { retryMs: 20 });
    try {
      await until("mine bound", () => boundTo(k.store, "mine"));
      await new Promise((r) => setTimeout(r, 60));
      equal(boundTo(k.store, "theirs"), undefined);
      equal(scheduledCondition(k.store, "theirs"), undefined);
    } finally {
      s.stop();
    }
  });
});

function serve(store: KubeStore, group: string, plural: string, kind: string, namespaced: boolean) {
  const base = store.resolve("configmaps")!;
  const def: ResourceDef = {
    ...base,
    group,
    plural,
    kind,
    singular: kind.toLowerCase(),
    listKind: `${kind}List`,
    namespaced,
  };
  store.addResource(def);
}

Deno.test("a WaitForFirstConsumer claim gets the selected-node annotation and its pod is bound", async () => {
  await withKube({}, async (k) => {
    // The storage kinds, in case this fake API server does not serve them itself.
    if (!k.store.resolve("persistentvolumeclaims")) {
      serve(k.store, "", "persistentvolumeclaims", "PersistentVolumeClaim", true);
    }
    if (!k.store.resolve("storageclasses.storage.k8s.io")) {
      serve(k.store, "storage.k8s.io", "storageclasses", "StorageClass", false);
    }
    create(k.store, "storageclasses.storage.k8s.io", {
      metadata: { name: "local-path" },
      provisioner: "fake.local-path",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    create(k.store, "persistentvolumeclaims", {
      metadata: { name: "data", namespace: "default" },
      spec: { storageClassName: "local-path", accessModes: ["ReadWriteOnce"] },
    });
    create(k.store, "nodes", node("n1"));
    create(
      k.store,
      "pods",
      pod("db", {}, { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }] }),
    );
    const s = startScheduler(k.store, { retryMs: 20 });
    try {
      equal(await until("bind", () => boundTo(k.store, "db")), "n1");
      const pvc = k.store.get("persistentvolumeclaims", "default", "data");
      ok(pvc.ok);
      equal(pvc.value.metadata.annotations?.["volume.kubernetes.io/selected-node"], "n1");
    } finally {
      s.stop();
    }
  });
});
