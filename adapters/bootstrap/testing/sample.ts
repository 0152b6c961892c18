/**
 * Sample inputs for bootstrap tests: a MachineTemplate with two NICs, a NodePool with a taint,
 * a claim identity, a known token and Talos operator values. Test-only.
 */
import type { MachineTemplate, NodePool } from "../../../core/model.ts";
import type { ClaimIdentity, SeedInput } from "../render.ts";

const GiB = 2 ** 30;

export function machineTemplate(bootstrap: MachineTemplate["bootstrap"]): MachineTemplate {
  return {
    name: "worker",
    provider: "pve-a",
    shapes: [{ name: "4c-16Gi", cpu: 4000, memory: 16 * GiB }],
    vmMemOverhead: 256 * 2 ** 20,
    reserved: { cpu: 100, memory: 512 * 2 ** 20 },
    maxPods: 110,
    source: { kind: "clone", templateVmid: 9000, full: false },
    disks: [],
    network: [
      { slot: "net0", model: "virtio", bridge: "vmbr0", ipconfig: "ip=dhcp" },
      { slot: "net1", model: "virtio", bridge: "vmbr1", ipconfig: "ip=10.1.0.5/24,gw=10.1.0.1" },
    ],
    bootstrap,
    labels: { "node-role.kubernetes.io/worker": "", "example.com/rack": "r1" },
    annotations: {},
    taints: [],
    startupTaints: [{ key: "cilium.io/agent-not-ready", effect: "NoSchedule" }],
    tags: ["k8s"],
  };
}

export const pool: NodePool = {
  name: "gpu-pool",
  machineTemplate: "worker",
  weight: 10,
  requirements: [],
  labels: { "example.com/gpu": "true" },
  annotations: {},
  taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
  startupTaints: [],
  limits: {},
  minNodes: 0,
  scaleUp: { batchSize: 10, stabilizationWindow: 0, maxConcurrent: 10 },
  scaleDown: { maxConcurrent: 1, drainTimeout: 600_000, stabilizationWindow: 600_000 },
  disruption: {
    consolidationPolicy: "WhenEmpty",
    consolidateAfter: 0,
    expireAfter: null,
    terminationGracePeriod: null,
    budgets: [],
    drainTimeoutAction: "uncordon",
  },
};

export const claim: ClaimIdentity = {
  name: "gpu-pool-7f3k2",
  vmid: 1234,
  provider: "pve-a",
  host: "pve1",
  zone: "rack-a",
  macs: { net0: "02:00:00:04:D2:00", net1: "02:00:00:04:d2:01" },
};

export const token = { id: "k3x9qa", secret: "0f1e2d3c4b5a6978" };
export const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
export const CA_HASH = `sha256:${"ab".repeat(32)}`;

export function input(
  bootstrap: MachineTemplate["bootstrap"],
  extra: Partial<SeedInput> = {},
): SeedInput {
  return {
    template: machineTemplate(bootstrap),
    pool,
    claim,
    cluster: { server: "10.0.0.10:6443", caPEM: CA_PEM, caCertHash: CA_HASH },
    join: { token, expiresAt: Date.UTC(2026, 8, 1, 12, 30) },
    ...extra,
  };
}

export const TALOS_VALUES = {
  machineToken: "trustd-token-abc123",
  machineCACert: "TUFDSElORUNB",
  clusterID: "cluster-id-1",
  clusterSecret: "cluster-secret-xyz789",
  clusterName: "homelab",
  installDisk: "/dev/sda",
  installImage: "factory.talos.dev/installer/abc:v1.10.5",
};
