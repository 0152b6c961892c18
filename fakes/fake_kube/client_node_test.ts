/**
 * @kubernetes/client-node 2.0.1 against the fake over a real socket (HTTPS with the
 * kubeconfig the fake writes): list, informer (watch, dropped watches, 410, faults),
 * patches with explicit content types, eviction, Lease create/update with MicroTime, and
 * CRD apply followed by custom-resource CRUD and status.
 */
import assert from "node:assert/strict";
import {
  type ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type V1Pod,
} from "@kubernetes/client-node";
import { nodePoolCrd } from "./testing/crds.ts";
import type { FakeKube } from "./server.ts";
import { withKube } from "./testing/client.ts";

function config(k: FakeKube): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(k.kubeconfig());
  return kc;
}

async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function apiError(
  e: unknown,
): {
  code: number;
  body: { reason?: string; message?: string; details?: { causes?: { message: string }[] } };
} {
  const x = e as ApiException<string>;
  return { code: x.code, body: typeof x.body === "string" ? JSON.parse(x.body) : {} };
}

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] },
});

// client-node keeps pooled undici sockets alive past the test body; they close with the server.
const clientTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });

clientTest(
  "12.1.6 client-node lists and reads over HTTPS using the fake's kubeconfig",
  async () => {
    await withKube({ tls: true }, async (k) => {
      const core = config(k).makeApiClient(CoreV1Api);
      const ns = await core.listNamespace();
      assert.deepEqual(ns.items.map((n) => n.metadata?.name).sort(), [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
      ]);
      assert.equal(ns.metadata?.resourceVersion, k.store.resourceVersion());
      const def = await core.readNamespace({ name: "default" });
      assert.equal(def.status?.phase, "Active");
      const missing = await core.readNamespacedPod({ name: "nope", namespace: "default" }).catch((
        e,
      ) => e);
      assert.equal(apiError(missing).code, 404);
      assert.equal(apiError(missing).body.reason, "NotFound");
    });
  },
);

clientTest(
  "12.2.6 client-node accepts the HTTP kubeconfig (insecure-skip-tls-verify, no CA)",
  async () => {
    await withKube({ tls: false }, async (k) => {
      const core = config(k).makeApiClient(CoreV1Api);
      assert.equal((await core.listNode()).items.length, 0);
    });
  },
);

clientTest(
  "12.2.28 12.2.29 client-node informer: typed list objects, raw watch objects, recovery from dropped watches and 410, stop on 500",
  async () => {
    await withKube({ tls: true, seed: 11 }, async (k) => {
      const kc = config(k);
      const core = kc.makeApiClient(CoreV1Api);
      k.store.create("pods", pod("listed"));
      const informer = makeInformer<V1Pod>(
        kc,
        "/api/v1/pods",
        () => core.listPodForAllNamespaces(),
      );
      const added: V1Pod[] = [];
      const deleted: string[] = [];
      const errors: unknown[] = [];
      informer.on("add", (p) => added.push(p));
      informer.on("delete", (p) => deleted.push(p.metadata!.name!));
      informer.on("error", (e) => errors.push(e));
      await informer.start();
      try {
        await until("listed pod", () => added.length === 1);
        assert.ok(added[0]!.metadata!.creationTimestamp instanceof Date, "list objects are typed");
        k.store.create("pods", pod("watched"));
        await until("watched pod", () => added.length === 2);
        assert.equal(
          typeof added[1]!.metadata!.creationTimestamp,
          "string",
          "watch objects are raw JSON",
        );

        k.faults.dropWatches("close");
        k.store.create("pods", pod("after-drop"));
        await until(
          "pod after a dropped watch",
          () => added.some((p) => p.metadata?.name === "after-drop"),
        );

        const lists = () =>
          k.requests.filter((r) => r.path === "/api/v1/pods" && !r.query.includes("watch")).length;
        const listsBefore = lists();
        k.faults.dropWatches("close");
        k.store.delete("pods", "default", "listed", { gracePeriodSeconds: 0 });
        k.store.create("pods", pod("after-410"));
        k.store.compactHistory();
        await until(
          "relist after 410",
          () => added.some((p) => p.metadata?.name === "after-410") && deleted.includes("listed"),
        );
        assert.equal(lists(), listsBefore + 1, "the informer relisted");
        assert.equal(informer.list().length, 3);
        assert.equal(errors.length, 0);

        k.faults.watchErrorRate = 1;
        k.faults.dropWatches("close");
        await until("informer error on a 500 watch", () => errors.length > 0);
      } finally {
        await informer.stop();
      }
    });
  },
);

clientTest(
  "12.2.18 client-node patches: JSON patch by default, merge, strategic and server-side apply by header",
  async () => {
    await withKube({ tls: true }, async (k) => {
      const core = config(k).makeApiClient(CoreV1Api);
      await core.createNode({ body: { metadata: { name: "n1", labels: { a: "1" } } } });
      const objectAsJsonPatch = await core.patchNode({
        name: "n1",
        body: { metadata: { labels: { b: "2" } } },
      }).catch((e) => e);
      assert.equal(
        apiError(objectAsJsonPatch).code,
        400,
        "a forgotten Content-Type fails as in production",
      );
      const jp = await core.patchNode({
        name: "n1",
        body: [{ op: "add", path: "/spec/unschedulable", value: true }],
      });
      assert.equal(jp.spec?.unschedulable, true);
      const merge = await core.patchNode({
        name: "n1",
        body: { metadata: { labels: { a: null } } },
      }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      assert.equal(merge.metadata?.labels?.a, undefined);
      const smp = await core.patchNode(
        {
          name: "n1",
          body: {
            spec: {
              taints: [{ key: "proxscale.io/disrupted", value: "true", effect: "NoSchedule" }],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      );
      assert.equal(smp.spec?.taints?.[0]?.key, "proxscale.io/disrupted");
      const ssa = await core.patchNodeStatus(
        {
          name: "n1",
          fieldManager: "proxscale",
          force: true,
          body: {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name: "n1" },
            status: { conditions: [{ type: "Ready", status: "True" }] },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
      assert.equal(ssa.status?.conditions?.[0]?.status, "True");
      const last = k.requests.filter((r) => r.method === "PATCH").map((r) => r.contentType);
      assert.deepEqual(last, [
        "application/json-patch+json",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
      ]);
    });
  },
);

clientTest(
  "12.1.12 client-node eviction: 201, then 429 with the PDB message in a JSON body string, 404 when gone",
  async () => {
    await withKube({ tls: true, gracefulDeletion: { scale: 0 } }, async (k) => {
      const kc = config(k);
      const core = kc.makeApiClient(CoreV1Api);
      for (const n of ["web-1", "web-2"]) {
        await core.createNamespacedPod({ namespace: "default", body: pod(n, { app: "web" }) });
        await core.patchNamespacedPodStatus(
          {
            name: n,
            namespace: "default",
            body: { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      }
      const objects = KubernetesObjectApi.makeApiClient(kc);
      await objects.create(
        {
          apiVersion: "policy/v1",
          kind: "PodDisruptionBudget",
          metadata: { name: "web", namespace: "default" },
          spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
        } as never,
      );
      const evict = (name: string, uid?: string) =>
        core.createNamespacedPodEviction({
          name,
          namespace: "default",
          body: {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name, namespace: "default" },
            ...(uid ? { deleteOptions: { preconditions: { uid } } } : {}),
          },
        });
      await evict("web-1");
      const blocked = apiError(await evict("web-2").catch((e) => e));
      assert.equal(blocked.code, 429);
      assert.equal(
        blocked.body.message,
        "Cannot evict pod as it would violate the pod's disruption budget.",
      );
      assert.equal(
        blocked.body.details?.causes?.[0]?.message,
        "The disruption budget web needs 1 healthy pods and has 1 currently",
      );
      const gone = apiError(await evict("web-1").catch((e) => e));
      assert.equal(gone.code, 404);
    });
  },
);

clientTest(
  "12.2.22 client-node Lease create and update with V1MicroTime; 409 on a stale update; a plain Date is rejected",
  async () => {
    await withKube({ tls: true }, async (k) => {
      const coord = config(k).makeApiClient(CoordinationV1Api);
      const now = new V1MicroTime(Date.UTC(2026, 10, 26, 3, 40, 32, 182));
      const spec = {
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      const created = await coord.createNamespacedLease({
        namespace: "default",
        body: { metadata: { name: "proxscale-leader" }, spec },
      });
      assert.equal(
        k.store.peek("leases.coordination.k8s.io", "default", "proxscale-leader")?.spec.renewTime,
        "2026-11-26T03:40:32.182000Z",
      );
      const renewed = await coord.replaceNamespacedLease({
        name: "proxscale-leader",
        namespace: "default",
        body: {
          ...created,
          spec: { ...spec, renewTime: new V1MicroTime(Date.UTC(2026, 10, 26, 3, 40, 34)) },
        },
      });
      assert.notEqual(renewed.metadata?.resourceVersion, created.metadata?.resourceVersion);
      const stale = apiError(
        await coord.replaceNamespacedLease({
          name: "proxscale-leader",
          namespace: "default",
          body: { ...created, spec: { ...spec, holderIdentity: "b" } },
        }).catch((e) => e),
      );
      assert.equal(stale.code, 409);
      assert.equal(stale.body.reason, "Conflict");
      const plain = apiError(
        await coord.createNamespacedLease({
          namespace: "default",
          body: { metadata: { name: "plain" }, spec: { renewTime: new Date() as V1MicroTime } },
        }).catch((e) => e),
      );
      assert.equal(plain.code, 400);
    });
  },
);

clientTest(
  "12.1.14 client-node applies a CRD, then creates, reads, lists, patches, writes status and deletes custom resources",
  async () => {
    await withKube({ tls: true }, async (k) => {
      const kc = config(k);
      const ext = kc.makeApiClient(ApiextensionsV1Api);
      // Typed bodies go through client-node's ObjectSerializer, which knows `default` as
      // `_default`: raw JSON must be loaded with loadYaml, or defaults are silently dropped.
      await ext.createCustomResourceDefinition({ body: loadYaml(JSON.stringify(nodePoolCrd())) });
      const crd = await ext.readCustomResourceDefinition({ name: "nodepools.proxscale.io" });
      assert.ok(
        crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"),
      );
      const co = kc.makeApiClient(CustomObjectsApi);
      const g = { group: "proxscale.io", version: "v1alpha1", plural: "nodepools" };
      const created = await co.createClusterCustomObject({
        ...g,
        body: {
          apiVersion: "proxscale.io/v1alpha1",
          kind: "NodePool",
          metadata: { name: "default" },
          spec: { providerRef: "pve" },
        },
      });
      assert.equal(created.spec.minNodes, 0);
      const list = await co.listClusterCustomObject(g);
      assert.equal(list.items.length, 1);
      const patched = await co.patchClusterCustomObject({
        ...g,
        name: "default",
        body: { spec: { minNodes: 2 } },
      }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      assert.equal(patched.metadata.generation, 2);
      const status = await co.patchClusterCustomObjectStatus(
        {
          ...g,
          name: "default",
          fieldManager: "proxscale",
          force: true,
          body: {
            apiVersion: "proxscale.io/v1alpha1",
            kind: "NodePool",
            metadata: { name: "default" },
            status: { conditions: [{ type: "Ready", status: "True" }] },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
      assert.equal(status.status.conditions[0].type, "Ready");
      assert.equal(status.metadata.generation, 2);
      const objects = KubernetesObjectApi.makeApiClient(kc);
      const read = await objects.read({
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodePool",
        metadata: { name: "default" },
      });
      assert.equal((read as unknown as { spec: { minNodes: number } }).spec.minNodes, 2);
      const invalid = apiError(
        await co.createClusterCustomObject({
          ...g,
          body: {
            apiVersion: "proxscale.io/v1alpha1",
            kind: "NodePool",
            metadata: { name: "bad" },
            spec: { mode: "x" },
          },
        }).catch((e) => e),
      );
      assert.equal(invalid.code, 422);
      await co.deleteClusterCustomObject({ ...g, name: "default" });
      assert.equal((await co.listClusterCustomObject(g)).items.length, 0);
    });
  },
);
