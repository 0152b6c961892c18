/**
 * proxscale's rendered seeds, booted by the fake cluster's independent kubelets: a VM carrying
 * the kubeadm, k3s or Talos seed proxscale builds for a claim registers a Node named after the
 * claim, with the providerID, register-time taints and exactly the self-settable labels the
 * seed passes; labels a kubelet may not set itself never reach the Node through the seed.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { buildSeedIso, renderNoCloudSeed } from "../adapters/bootstrap/render.ts";
import { input, TALOS_VALUES, token } from "../adapters/bootstrap/testing/sample.ts";
import type { KObj } from "../fakes/fake_kube/objects.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import { startKubelets } from "../fakes/cluster/kubelet/kubelets.ts";
import { addBootstrapToken, waitFor } from "../fakes/cluster/kubelet/testing/seeded_vm.ts";

const GiB = 2 ** 30;

for (const template of ["kubeadm", "k3s", "talos"] as const) {
  Deno.test(`a VM booting proxscale's ${template} seed registers the claim's Node with the seed's labels and taints`, async () => {
    const seed = renderNoCloudSeed(
      input(
        { mode: "nocloudIso", template },
        template === "talos" ? { values: TALOS_VALUES } : {},
      ),
    );
    if (!seed.ok) throw new Error(JSON.stringify(seed.error));
    const pve = await startFakePve({ hosts: 1, model: { templates: false } });
    const kube = await startFakeKube({ tls: false, seed: 3 });
    const kubelets = startKubelets({
      store: kube.store,
      pve,
      provider: "fallback",
      bootDelayMs: 0,
      requireSeed: true,
      renewIntervalMs: 50,
      tickMs: 10,
    });
    try {
      const iso = buildSeedIso(seed.value);
      const st = pve.model.st;
      st.volumesOf("pve1", st.storages.get("local")!).set("iso/seed.iso", {
        storage: "local",
        name: "iso/seed.iso",
        size: iso.length,
        content: "iso",
        data: iso,
      });
      addBootstrapToken(kube.store, `${token.id}.${token.secret}`);
      pve.model.addVm({
        vmid: 1234,
        node: "pve1",
        name: "gpu-pool-7f3k2",
        config: { cores: "4", memory: "16384", ide3: "local:iso/seed.iso,media=cdrom" },
        disks: [{ key: "scsi0", storage: "local-lvm", size: 32 * GiB }],
        running: true,
      });
      const n: KObj = await waitFor("the Node", () => {
        const r = kube.store.get("nodes", undefined, "gpu-pool-7f3k2");
        return r.ok && r.value.status?.allocatable ? r.value : undefined;
      });
      equal(n.spec?.providerID, "proxmox://pve-a/1234");
      const taints = (n.spec?.taints ?? []) as { key: string }[];
      deepEqual(taints.map((t) => t.key), [
        "proxscale.io/unregistered",
        "dedicated",
        "cilium.io/agent-not-ready",
      ]);
      const labels = n.metadata.labels ?? {};
      equal(labels["example.com/gpu"], "true");
      equal(labels["example.com/rack"], "r1");
      equal(labels["proxscale.io/nodepool"], "gpu-pool");
      equal(labels["proxscale.io/nodeclaim"], "gpu-pool-7f3k2");
      equal(labels["topology.kubernetes.io/zone"], "rack-a");
      equal(labels["node.kubernetes.io/instance-type"], "4c-16Gi");
      equal(labels["kubernetes.io/hostname"], "gpu-pool-7f3k2");
      ok(!("node-role.kubernetes.io/worker" in labels), "restricted labels are proxscale's to set");
      equal(n.status!.allocatable.cpu, "3900m");
      equal(kubelets.nodeOfVm(1234), "gpu-pool-7f3k2");
    } finally {
      kubelets.stop();
      await kube.close();
      await pve.close();
    }
  });
}
