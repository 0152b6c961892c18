/**
 * The configuration history under the RBAC proxscale ships: the daemon's ServiceAccount can
 * create the history ConfigMap and add generations to it, and can patch no other ConfigMap
 * with the rule that allows it (the fake API server enforces the rendered deploy/ objects).
 */
import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { PatchType } from "../adapters/kubernetes/client.ts";
import { readHistory, recordGeneration } from "../adapters/kubernetes/config_history.ts";
import { applyShippedRbac } from "./testing/shipped_rbac.ts";

const NS = "proxscale-system";
const pool = (nodes: number) => ({
  apiVersion: "proxscale.io/v1alpha1",
  kind: "NodePool",
  metadata: { name: "general" },
  spec: { machineTemplate: "worker", limits: { nodes } },
});

Deno.test("the shipped RBAC lets the daemon keep the configuration history, and only that ConfigMap", async () => {
  const kube = await startFakeKube({ seed: 4 });
  try {
    const saToken = await applyShippedRbac(kube, NS);
    const sa = kubeClientFromKubeconfig(kube.kubeconfig().replace(kube.token, saToken));
    const first = await recordGeneration(sa, NS, [pool(1)]);
    assert.ok(first.ok, JSON.stringify(!first.ok && first.error));
    const second = await recordGeneration(sa, NS, [pool(2)]);
    assert.ok(second.ok && second.value.generation === 2, JSON.stringify(second));
    const h = await readHistory(sa, NS);
    assert.ok(h.ok && h.value.length === 2);
    assert.ok(
      kube.store.create("configmaps", {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "someone-else", namespace: NS },
        data: {},
      } as never, { namespace: NS }).ok,
    );
    const other = await sa.requestJson(
      "PATCH",
      `/api/v1/namespaces/${NS}/configmaps/someone-else`,
      {
        body: { data: { x: "y" } },
        contentType: PatchType.MergePatch,
      },
    );
    assert.ok(!other.ok, "another ConfigMap cannot be patched");
  } finally {
    await kube.close();
  }
});
