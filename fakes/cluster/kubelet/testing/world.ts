/**
 * A small world for the fake kubelets' tests: a fake PVE (two hosts, no templates) and a fake
 * API server with kubelets started on them at test speed, a GPU VM fixture, a kubeadm seed,
 * and readers for Nodes, Leases and Pods.
 *
 * May import: fakes/.
 */
import type { KObj } from "../../../fake_kube/objects.ts";
import { type FakeKube, startFakeKube } from "../../../fake_kube/server.ts";
import { type FakePve, startFakePve } from "../../../fake_pve/server.ts";
import { GPU_MODELS } from "../../../fake_pve/pci_inventory.ts";
import { type Kubelets, startKubelets } from "../kubelets.ts";
import { addBootstrapToken, attachSeed, waitFor } from "./seeded_vm.ts";

/** The join token the sample seed carries. */
export const TOKEN = "abcdef.0123456789abcdef";
/** Bytes in a GiB. */
export const GiB = 1024 ** 3;
/** The kubelets' Lease renewal period in these tests (ms). */
export const RENEW_MS = 60;

/** kubeadm user-data for node gpu-abc12: providerID, two --node-labels, the startup taint. */
export const KUBEADM_SEED = `#cloud-config
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

/** What a test gets to drive. */
export type World = { pve: FakePve; kube: FakeKube; kubelets: Kubelets };

/** Runs `fn` with fresh fakes and kubelets (boot 30 ms, tick 10 ms), always stopping them. */
export async function withWorld(
  opts: { requireSeed?: boolean; hold?: boolean },
  fn: (w: World) => Promise<void>,
): Promise<void> {
  // each host has one GPU at 0000:01:00.0, the device addGpuVm passes through
  const gpu = [{ id: "0000:01:00.0", ...GPU_MODELS.a100, iommugroup: 12 }];
  const pve = await startFakePve({
    hosts: 2,
    model: { templates: false, pci: { devices: { pve1: gpu, pve2: gpu } } },
  });
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

/** A running q35 VM with 4 cores, 8 GiB, a 32 GiB boot disk and the host's GPU passed through. */
export function addGpuVm(pve: FakePve, vmid = 150, host = "pve1"): void {
  pve.model.addVm({
    vmid,
    node: host,
    name: `vm-${vmid}`,
    config: {
      cores: "4",
      memory: "8192",
      hostpci0: "0000:01:00,pcie=1",
      machine: "q35",
      ipconfig0: "ip=10.1.2.3/24,gw=10.1.2.1",
      boot: "order=scsi0",
    },
    disks: [{ key: "scsi0", storage: "local-lvm", size: 32 * GiB }],
    running: true,
  });
}

/** The Node, or undefined. */
export const node = (kube: FakeKube, name: string): KObj | undefined => {
  const r = kube.store.get("nodes", undefined, name);
  return r.ok ? r.value : undefined;
};
/** The Node's Ready condition. */
export const readyOf = (n: KObj | undefined) =>
  (n?.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) =>
    c.type === "Ready"
  );
/** The renewTime of the node's Lease, or undefined. */
export const renewTime = (kube: FakeKube, name: string): string | undefined => {
  const r = kube.store.get("leases.coordination.k8s.io", "kube-node-lease", name);
  return r.ok ? r.value.spec?.renewTime : undefined;
};

/** Creates a pod in default and binds it to gpu-abc12. */
export function createPod(
  kube: FakeKube,
  name: string,
  spec: Record<string, unknown>,
  ann = {},
): void {
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

/** The pod in default, or undefined. */
export const pod = (kube: FakeKube, name: string): KObj | undefined => {
  const r = kube.store.get("pods", "default", name);
  return r.ok ? r.value : undefined;
};

/** Boots the GPU VM, waits for its Node, and removes the startup taint as proxscale would. */
export async function registered(w: World): Promise<void> {
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
