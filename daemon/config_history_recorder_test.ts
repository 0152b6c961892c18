import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { readHistory } from "../adapters/kubernetes/config_history.ts";
import { historyRecorder } from "./config_history_recorder.ts";

const NS = "proxscale-system";
const pool = (nodes: number) => ({
  apiVersion: "proxscale.io/v1alpha1",
  kind: "NodePool",
  metadata: { name: "general" },
  spec: { machineTemplate: "worker", limits: { nodes } },
});

Deno.test("only the leader records a generation; a standby reads the live one and writes nothing", async () => {
  const fake = await startFakeKube({ seed: 8 });
  try {
    fake.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    const kube = kubeClientFromKubeconfig(fake.kubeconfig());
    const quiet = { info() {}, warn() {}, error() {} };
    let leaderLive: unknown;
    let standbyLive: unknown;
    const leader = historyRecorder(
      kube,
      NS,
      { setLive: (l) => (leaderLive = l) },
      quiet,
      () => true,
    );
    const standby = historyRecorder(
      kube,
      NS,
      { setLive: (l) => (standbyLive = l) },
      quiet,
      () => false,
    );
    await standby([pool(1)]);
    const none = await readHistory(kube, NS);
    assert.ok(none.ok && none.value.length === 0, "a standby never writes");
    await leader([pool(2)]);
    await standby([pool(1)]); // a lagging standby's older configuration
    const h = await readHistory(kube, NS);
    assert.ok(h.ok);
    assert.deepEqual(h.value.map((e) => e.generation), [1]);
    assert.deepEqual(leaderLive, { generation: 1, digest: h.value[0]!.digest });
    assert.deepEqual(standbyLive, leaderLive);
  } finally {
    await fake.close();
  }
});
