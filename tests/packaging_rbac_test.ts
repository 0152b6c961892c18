/**
 * The RBAC that ships in deploy/proxscale.yaml against the real adapters: the fake API server
 * stores those objects and authorizes proxscale's ServiceAccount token from them, every adapter
 * call the daemon makes succeeds, and calls outside the rules get 403. The daemon-wide version of this (the demo
 * under enforced RBAC) belongs to the observability/security work; this one keeps the rules and
 * the adapters from drifting apart call by call.
 */
import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { createClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { setConfigStatus } from "../adapters/kubernetes/config_status_writer.ts";
import { LeaderElector } from "../adapters/kubernetes/leader_elector.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import {
  deleteNode,
  setNodeLabels,
  setNodeUnschedulable,
  updateNodeTaints,
} from "../adapters/kubernetes/node_writer.ts";
import {
  createNodeClaim,
  deleteNodeClaim,
  setNodeClaimStatus,
} from "../adapters/kubernetes/nodeclaim_writer.ts";
import { Evictor } from "../adapters/kubernetes/eviction.ts";
import {
  createBootstrapTokenSecret,
  deleteBootstrapTokenSecret,
  deleteExpiredBootstrapTokenSecrets,
} from "../adapters/kubernetes/bootstrap_secrets.ts";
import {
  forgetMintedTokens,
  readMintedTokens,
  recordMintedToken,
} from "../adapters/kubernetes/bootstrap_token_ledger.ts";
import { migrateText } from "../cli/migrate.ts";
import { reason } from "../core/reason.ts";
import type { NodeClaim } from "../core/model.ts";
import { eventually, podBody } from "./testing/kubernetes.ts";
import { applyShippedRbac } from "./testing/shipped_rbac.ts";

const NS = DEFAULT_NAMESPACE;
const SA = `system:serviceaccount:${NS}:proxscale`;
const root = new URL("../", import.meta.url);

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }, what: string): T {
  assert.ok(r.ok, `${what}: ${JSON.stringify(!r.ok && r.error)}`);
  return r.value;
}

const claim: NodeClaim = {
  name: "general-rbac1",
  nodePool: "general",
  machineTemplate: "worker",
  provider: "homelab",
  shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * 2 ** 30 },
  createdAt: 0,
  labels: {},
  taints: [],
  startupTaints: [],
  conditions: [],
};

Deno.test("every adapter call works under proxscale's RBAC, and nothing more is allowed", async () => {
  const fake = await startFakeKube({ seed: 11 });
  const denied = () =>
    fake.denials.filter((d) => d.user === SA).map((d) =>
      d.resourceRequest
        ? `${d.verb} ${d.group}/${d.resource}${d.subresource ? "/" + d.subresource : ""}`
        : `${d.verb} ${d.path}`
    );
  const store = fake.store;
  const made = (r: { ok: true } | { ok: false; error: { message?: string } }) => {
    if (!r.ok) throw new Error(r.error.message);
  };
  try {
    // The administrator's part: CRDs, namespace, configuration, a node and a pod.
    for (const k of KINDS) {
      made(
        store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k) as never, {}),
      );
    }
    made(store.create("namespaces", { metadata: { name: NS } } as never, {}));
    const admin = kubeClientFromKubeconfig(fake.kubeconfig());
    await eventually(
      "custom resources served",
      async () => (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims")).ok,
    );
    const example = await Deno.readTextFile(new URL("config.example.yaml", root));
    const migration = migrateText(example, "config.example.yaml");
    assert.ok(migration.ok);
    for (const m of migration.value.manifests) {
      const path = m.kind === "ConfigMap"
        ? `/api/v1/namespaces/${NS}/configmaps`
        : `/apis/proxscale.io/v1alpha1/${m.kind.toLowerCase()}s`;
      must(await admin.requestJson("POST", path, { body: m }), `${m.kind}/${m.metadata.name}`);
    }
    made(store.create("nodes", {
      metadata: { name: "n1" },
      status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" } },
    } as never, {}));
    made(
      store.create(
        "pods",
        podBody("web-a", {
          spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx" }] },
        }) as never,
        {},
      ),
    );

    // proxscale's part, as its ServiceAccount, with the shipped RBAC stored in the cluster.
    const saToken = await applyShippedRbac(fake, NS);
    const sa = kubeClientFromKubeconfig(fake.kubeconfig().replace(fake.token, saToken));
    const informers = createClusterInformers(sa);
    informers.start();
    await informers.synced();
    await informers.stop();
    must(await loadConfigFromCluster(sa, NS), "load configuration");
    must(
      await setConfigStatus(sa, "nodepools", "general", { nodes: 0 }),
      "NodePool status",
    );

    const elector = new LeaderElector({
      client: sa,
      namespace: NS,
      name: "proxscale-leader",
      identity: "proxscale-0",
      config: { leaseDuration: 2500, renewDeadline: 1600, retryPeriod: 250, jitterFactor: 0 },
    });
    elector.start();
    await eventually("leader", () => elector.isLeader());
    await elector.stop();

    const rec = new EventRecorder(sa, { instance: "proxscale-0" });
    const subject = { apiVersion: "proxscale.io/v1alpha1", kind: "NodePool", name: "general" };
    must(await rec.record(subject, reason("PodsPending", "3 pods pending")), "event");
    must(await rec.record(subject, reason("PodsPending", "3 pods pending")), "event repeat");

    must(await setNodeLabels(sa, "n1", { "proxscale.io/nodepool": "general" }), "labels");
    must(await setNodeUnschedulable(sa, "n1", true), "cordon");
    must(
      await updateNodeTaints(sa, "n1", {
        add: [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }],
      }),
      "taint",
    );
    const evictor = new Evictor(sa, { minIntervalMs: 0 });
    must(await evictor.evict({ namespace: "default", name: "web-a" }), "evict");
    must(await deleteNode(sa, "n1"), "delete node");

    must(await createNodeClaim(sa, claim), "create claim");
    must(await setNodeClaimStatus(sa, claim.name, { vmid: 9001, host: "pve1" }), "claim status");
    must(await deleteNodeClaim(sa, claim.name), "delete claim");

    const now = Date.now();
    const token = { id: "rbac01", secret: "0123456789abcdef" };
    must(
      await createBootstrapTokenSecret(sa, token, now, 60_000, { nodeClaim: claim.name }),
      "token",
    );
    must(await recordMintedToken(sa, NS, token.id, "2030-01-01T00:00:00Z"), "ledger record");
    assert.deepEqual(must(await readMintedTokens(sa, NS), "ledger read"), [token.id]);
    assert.deepEqual(
      must(await deleteExpiredBootstrapTokenSecrets(sa, now + 120_000, [token.id]), "expired"),
      { deleted: ["bootstrap-token-rbac01"], gone: ["rbac01"] },
    );
    must(await forgetMintedTokens(sa, NS, [token.id]), "ledger forget");
    must(await deleteBootstrapTokenSecret(sa, "abc123"), "delete token");

    assert.deepEqual(denied(), [], "the rules miss calls the adapters make");

    // Outside the rules: 403 for the ServiceAccount.
    const forbidden = [
      await sa.requestJson("POST", "/api/v1/namespaces/default/secrets", {
        body: { apiVersion: "v1", kind: "Secret", metadata: { name: "x" } },
      }),
      await sa.requestJson(
        "DELETE",
        `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/proxscale-leader`,
      ),
      await sa.requestJson("GET", "/api/v1/namespaces/kube-system/secrets"),
      await sa.requestJson("GET", "/api/v1/secrets"),
      await sa.requestJson("PATCH", `/api/v1/namespaces/${NS}/configmaps/proxscale-settings`, {
        body: { data: { x: "1" } },
        contentType: "application/merge-patch+json",
      }),
      await sa.requestJson("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
      await sa.requestJson("DELETE", "/apis/proxscale.io/v1alpha1/nodepools/general"),
    ];
    for (const r of forbidden) {
      assert.ok(!r.ok && r.error.kind === "Status" && r.error.code === 403, JSON.stringify(r));
    }
    assert.equal(denied().length, forbidden.length, denied().join("\n"));
  } finally {
    await fake.close();
  }
});
