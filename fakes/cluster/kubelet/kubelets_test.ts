/**
 * Kubelets bound to an in-process fake PVE and fake API server: registration from the VM's
 * hardware and the seed's flags, TLS bootstrap, heartbeats and their failures, and pods.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { type FakeKube, startFakeKube } from "../../fake_kube/server.ts";
import { type FakePve, startFakePve } from "../../fake_pve/server.ts";
import { type Kubelets, startKubelets } from "./kubelets.ts";
import {
  addBootstrapToken,
  attachSeed,
  attachSnippet,
  sleep,
  waitFor,
} from "./testing/seeded_vm.ts";

const TOKEN = "abcdef.0123456789abcdef";
const GiB = 1024 ** 3;
const RENEW_MS = 60;

const KUBEADM_SEED = `#cloud-config
hostname: gpu-abc12
write_files:
  - path: /etc/proxscale/join.yaml
    content: |
      apiVersion: kubeadm.k8s.io/v1beta4
      kind: JoinConfiguration
      discovery:
        bootstrapToken:
          apiServerEndpoint: "10.0.0.1:6443"
          token: "${TOKEN}"
      nodeRegistration:
        name: "gpu-abc12"
        taints: [ { key: proxscale.io/unregistered, effect: NoExecute } ]
        kubeletExtraArgs:
          - name: provider-id
            value: "proxmox://lab/150"
          - name: node-labels
            value: "proxscale.io/nodepool=gpu,node.kubernetes.io/instance-type=g1"
runcmd:
  - [kubeadm, join, --config, /etc/proxscale/join.yaml]
`;

type World = { pve: FakePve; kube: FakeKube; kubelets: Kubelets };

async function withWorld(
  opts: { requireSeed?: boolean; hold?: boolean },
  fn: (w: World) => Promise<void>,
): Promise<void> {
  const pve = await startFakePve({ hosts: 2, model: { templates: false } });
  const kube = await startFakeKube({
    tls: false,
    seed: 7,
    ...(opts.hold ? { gracefulDeletion: "hold" as const } : {}),
  });
  const kubelets = startKubelets({
    store: kube.store,
    pve,
    provider: "lab",
    bootDelayMs: 30,
    requireSeed: opts.requireSeed ?? true,
    renewIntervalMs: RENEW_MS,
    tickMs: 10,
  });
  try {
    await fn({ pve, kube, kubelets });
  } finally {
    kubelets.stop();
    await kube.close();
    await pve.close();
  }
}

/** A running VM with 4 cores, 8 GiB, a 32 GiB boot disk and one passed-through PCI device. */
function addGpuVm(pve: FakePve, vmid = 150, host = "pve1"): void {
  pve.model.addVm({
    vmid,
    node: host,
    name: `vm-${vmid}`,
    config: {
      cores: "4",
      memory: "8192",
      hostpci0: "0000:01:00,pcie=1",
      ipconfig0: "ip=10.1.2.3/24,gw=10.1.2.1",
      boot: "order=scsi0",
    },
    disks: [{ key: "scsi0", storage: "local-lvm", size: 32 * GiB }],
    running: true,
  });
}

const node = (kube: FakeKube, name: string): KObj | undefined => {
  const r = kube.store.get("nodes", undefined, name);
  return r.ok ? r.value : undefined;
};
const readyOf = (n: KObj | undefined) =>
  (n?.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) =>
    c.type === "Ready"
  );
const renewTime = (kube: FakeKube, name: string): string | undefined => {
  const r = kube.store.get("leases.coordination.k8s.io", "kube-node-lease", name);
  return r.ok ? r.value.spec?.renewTime : undefined;
};

Deno.test("a VM with 4 cores, 8 GiB and one hostpci registers its Node from its hardware and exactly the seed's --node-labels", async () => {
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

Deno.test("a VM without a seed registers under its VM name with only the kubelet's own labels when no seed is required", async () => {
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

function createPod(kube: FakeKube, name: string, spec: Record<string, unknown>, ann = {}): void {
  const r = kube.store.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations: ann },
    spec,
  }, { namespace: "default" });
  if (!r.ok) throw new Error(r.error.message);
  const b = kube.store.bind("default", name, {
    metadata: { name },
    target: { kind: "Node", name: "gpu-abc12" },
  });
  if (!b.ok) throw new Error(b.error.message);
}

const pod = (kube: FakeKube, name: string): KObj | undefined => {
  const r = kube.store.get("pods", "default", name);
  return r.ok ? r.value : undefined;
};

async function registered(w: World): Promise<void> {
  addGpuVm(w.pve);
  attachSeed(w.pve, 150, { userData: KUBEADM_SEED });
  addBootstrapToken(w.kube.store, TOKEN);
  await waitFor("the node", () => node(w.kube, "gpu-abc12")?.status?.allocatable);
  // What proxscale does once the Node is registered: the startup taint goes.
  const r = w.kube.store.patch("nodes", undefined, "gpu-abc12", "merge", {
    spec: { taints: null },
  });
  if (!r.ok) throw new Error(r.error.message);
}

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
