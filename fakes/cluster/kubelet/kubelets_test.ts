/**
 * Kubelets bound to an in-process fake PVE and fake API server: registration from the VM's
 * hardware and the seed's flags, TLS bootstrap, and heartbeats and their failures.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  addGpuVm,
  GiB,
  KUBEADM_SEED,
  node,
  readyOf,
  RENEW_MS,
  renewTime,
  TOKEN,
  withWorld,
} from "./testing/world.ts";
import {
  addBootstrapToken,
  attachSeed,
  attachSnippet,
  sleep,
  waitFor,
} from "./testing/seeded_vm.ts";

Deno.test("a VM with 4 cores, 8 GiB and one hostpci registers its Node from its hardware, exactly the seed's --node-labels and its GPU's feature labels", async () => {
  await withWorld({}, async ({ pve, kube, kubelets }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    const n = await waitFor("the node to register", () => node(kube, "gpu-abc12"));
    equal(n.spec?.providerID, "proxmox://lab/150");
    deepEqual(n.spec?.taints, [{ key: "proxscale.io/unregistered", effect: "NoExecute" }]);
    deepEqual(n.metadata.labels, {
      "beta.kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/hostname": "gpu-abc12",
      "kubernetes.io/os": "linux",
      "node.kubernetes.io/instance-type": "g1",
      "nvidia.com/gpu.count": "1",
      "nvidia.com/gpu.product": "A100-PCIe-40GB",
      "nvidia.com/gpu.replicas": "1",
      "nvidia.com/gpu.sharing-strategy": "none",
      "proxscale.io/nodepool": "gpu",
    });
    const full = await waitFor("node status", () => {
      const x = node(kube, "gpu-abc12");
      return x?.status?.allocatable ? x : undefined;
    });
    const st = full.status!;
    equal(st.capacity.cpu, "4");
    equal(st.capacity.memory, `${8 * 1024 * 1024}Ki`);
    equal(st.capacity["nvidia.com/gpu"], "1");
    equal(st.capacity.pods, "110");
    equal(st.capacity["ephemeral-storage"], `${32 * 1024 * 1024}Ki`);
    equal(st.allocatable.cpu, "3900m");
    equal(st.allocatable.memory, `${(8192 - 256 - 100) * 1024}Ki`);
    equal(st.allocatable["nvidia.com/gpu"], "1");
    equal(st.allocatable["ephemeral-storage"], String(Math.floor(32 * GiB * 0.9)));
    deepEqual(st.addresses, [
      { type: "InternalIP", address: "10.1.2.3" },
      { type: "Hostname", address: "gpu-abc12" },
    ]);
    equal(st.nodeInfo.kubeletVersion, "v1.32.0");
    equal(st.nodeInfo.containerRuntimeVersion, "containerd://1.7");
    const ready = readyOf(full) as Record<string, string>;
    equal(ready.status, "True");
    equal(ready.reason, "KubeletReady");
    equal(ready.message, "kubelet is posting ready status");
    ok(renewTime(kube, "gpu-abc12"));
    equal(kubelets.nodeOfVm(150), "gpu-abc12");
  });
});

Deno.test("a VM whose seed token no bootstrap-token Secret accepts never registers", async () => {
  await withWorld({}, async ({ pve, kube, kubelets }) => {
    addGpuVm(pve, 150);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, "abcdef.ffffffffffffffff");
    await sleep(300);
    const nodes = kube.store.list("nodes");
    deepEqual(nodes.ok ? nodes.value.items : undefined, []);
    equal(kubelets.nodeOfVm(150), undefined);
    // The same seed registers once its token is valid: the wait above was not too short.
    kube.store.delete("secrets", "kube-system", "bootstrap-token-abcdef");
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("registration with a valid token", () => node(kube, "gpu-abc12"));
  });
});

Deno.test("an expired bootstrap token is refused", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN, Date.now() - 1000);
    await sleep(250);
    equal(node(kube, "gpu-abc12"), undefined);
  });
});

Deno.test("a VM without a seed registers under its VM name with only the kubelet's own labels and its GPU's when no seed is required", async () => {
  await withWorld({ requireSeed: false }, async ({ pve, kube, kubelets }) => {
    addGpuVm(pve, 160);
    const n = await waitFor("the node", () => node(kube, "vm-160"));
    equal(n.spec?.providerID, "proxmox://lab/160");
    equal(n.spec?.taints, undefined);
    deepEqual(Object.keys(n.metadata.labels ?? {}).sort(), [
      "beta.kubernetes.io/arch",
      "beta.kubernetes.io/os",
      "kubernetes.io/arch",
      "kubernetes.io/hostname",
      "kubernetes.io/os",
      "nvidia.com/gpu.count",
      "nvidia.com/gpu.product",
      "nvidia.com/gpu.replicas",
      "nvidia.com/gpu.sharing-strategy",
    ]);
    equal(kubelets.nodeOfVm(160), "vm-160");
  });
});

Deno.test("a seed passing a restricted kubernetes.io label keeps the kubelet from starting", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, {
      userData: KUBEADM_SEED.replace(
        "proxscale.io/nodepool=gpu",
        "node-role.kubernetes.io/worker=true",
      ),
    });
    addBootstrapToken(kube.store, TOKEN);
    await sleep(250);
    equal(node(kube, "gpu-abc12"), undefined);
  });
});

Deno.test("stopping the VM stops the Lease renewals and leaves the Node in place", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("the lease", () => renewTime(kube, "gpu-abc12"));
    const first = renewTime(kube, "gpu-abc12");
    await waitFor("a renewal", () => renewTime(kube, "gpu-abc12") !== first || undefined);
    pve.model.st.vms.get(150)!.status = "stopped";
    await sleep(30);
    const last = renewTime(kube, "gpu-abc12");
    await sleep(RENEW_MS * 4);
    equal(renewTime(kube, "gpu-abc12"), last);
    ok(node(kube, "gpu-abc12"), "the kubelet does not delete its Node");
  });
});

Deno.test("a PVE host going offline silences its VMs' kubelets", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("the lease", () => renewTime(kube, "gpu-abc12"));
    pve.model.setHostOnline("pve1", false);
    await sleep(30);
    const last = renewTime(kube, "gpu-abc12");
    await sleep(RENEW_MS * 4);
    equal(renewTime(kube, "gpu-abc12"), last);
    pve.model.setHostOnline("pve1", true);
    await waitFor("renewals to resume", () => renewTime(kube, "gpu-abc12") !== last || undefined);
  });
});

Deno.test("a notready fault keeps the Lease renewing with Ready=False; unreachable silences both", async () => {
  await withWorld({}, async ({ pve, kube, kubelets }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("the lease", () => renewTime(kube, "gpu-abc12"));
    kubelets.setNodeFault("gpu-abc12", "notready");
    const r = await waitFor("Ready=False", () => {
      const c = readyOf(node(kube, "gpu-abc12"));
      return c?.status === "False" ? c : undefined;
    }) as unknown as Record<string, string>;
    equal(r.reason, "KubeletNotReady");
    const before = renewTime(kube, "gpu-abc12");
    await waitFor(
      "a renewal while NotReady",
      () => renewTime(kube, "gpu-abc12") !== before || undefined,
    );
    kubelets.setNodeFault("gpu-abc12", "unreachable");
    await sleep(30);
    const lease = renewTime(kube, "gpu-abc12");
    const hb = (readyOf(node(kube, "gpu-abc12")) as unknown as Record<string, string>)
      .lastHeartbeatTime;
    await sleep(1100 + RENEW_MS);
    equal(renewTime(kube, "gpu-abc12"), lease);
    equal(
      (readyOf(node(kube, "gpu-abc12")) as unknown as Record<string, string>).lastHeartbeatTime,
      hb,
    );
    kubelets.setNodeFault("gpu-abc12", undefined);
    await waitFor(
      "Ready=True again",
      () => readyOf(node(kube, "gpu-abc12"))?.status === "True" || undefined,
    );
  });
});

Deno.test("a destroyed VM's kubelet falls silent but its Node stays for the autoscaler to delete", async () => {
  await withWorld({}, async ({ pve, kube, kubelets }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("the lease", () => renewTime(kube, "gpu-abc12"));
    pve.model.st.vms.delete(150);
    await sleep(30);
    const last = renewTime(kube, "gpu-abc12");
    await sleep(RENEW_MS * 4);
    equal(renewTime(kube, "gpu-abc12"), last);
    ok(node(kube, "gpu-abc12"));
    equal(kubelets.nodeOfVm(150), "gpu-abc12");
  });
});

Deno.test("a VM stopped and started through the PVE API boots a new kubelet that takes its Node back", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    attachSeed(pve, 150, { userData: KUBEADM_SEED });
    addBootstrapToken(kube.store, TOKEN);
    await waitFor("the lease", () => renewTime(kube, "gpu-abc12"));
    const bootID = () => node(kube, "gpu-abc12")?.status?.nodeInfo?.bootID;
    const firstBoot = bootID();
    ok(pve.model.powerVm("pve1", 150, "stop", {}, "root@pam").ok);
    await waitFor(
      "the VM to stop",
      () => pve.model.st.vms.get(150)!.status === "stopped" || undefined,
    );
    ok(pve.model.powerVm("pve1", 150, "start", {}, "root@pam").ok);
    await waitFor("a new boot", () => bootID() !== firstBoot || undefined, 4000);
    const after = renewTime(kube, "gpu-abc12");
    await waitFor("renewals", () => renewTime(kube, "gpu-abc12") !== after || undefined);
  });
});

Deno.test("a VM configured through PVE's cloud-init drive reads its kubelet flags from the cicustom user-data snippet", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    pve.model.addVm({
      vmid: 170,
      node: "pve2",
      name: "ci-node",
      config: { cores: "2", memory: "4096" },
      disks: [
        { key: "scsi0", storage: "local-lvm", size: 8 * GiB },
        { key: "ide2", storage: "local-lvm", size: 0, cloudinit: true },
      ],
      running: true,
    });
    attachSnippet(pve, 170, KUBEADM_SEED.replaceAll("gpu-abc12", "ci-node"));
    addBootstrapToken(kube.store, TOKEN);
    const n = await waitFor("the node", () => node(kube, "ci-node"));
    equal(n.metadata.labels?.["proxscale.io/nodepool"], "gpu");
    equal(n.metadata.labels?.["kubernetes.io/hostname"], "ci-node");
  });
});

Deno.test("a seed that writes an NVIDIA device plugin time-slicing config makes the Node advertise each GPU replicas times", async () => {
  await withWorld({}, async ({ pve, kube }) => {
    addGpuVm(pve);
    const plugin = [
      "  - path: /etc/nvidia-device-plugin/config.yaml",
      "    content: |",
      "      version: v1",
      "      sharing:",
      "        timeSlicing:",
      "          resources:",
      "            - name: nvidia.com/gpu",
      "              replicas: 4",
      "",
    ].join("\n");
    attachSeed(pve, 150, {
      userData: KUBEADM_SEED.replace("write_files:\n", `write_files:\n${plugin}`),
    });
    addBootstrapToken(kube.store, TOKEN);
    const n = await waitFor("node status", () => {
      const x = node(kube, "gpu-abc12");
      return x?.status?.allocatable ? x : undefined;
    });
    equal(n.status!.capacity["nvidia.com/gpu"], "4");
    equal(n.status!.allocatable["nvidia.com/gpu"], "4");
    equal(n.metadata.labels!["nvidia.com/gpu.product"], "A100-PCIe-40GB-SHARED");
    equal(n.metadata.labels!["nvidia.com/gpu.replicas"], "4");
    equal(n.metadata.labels!["nvidia.com/gpu.count"], "1");
  });
});
