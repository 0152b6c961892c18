/**
 * The configuration the demo runs the real daemon with: one Provider pointing at the fake PVE
 * (pinned fingerprint), a MachineTemplate cloning each host's template with two VM sizes, and a
 * NodePool with windows short enough for a one-minute demo (batch window 300 ms / 2 s,
 * consolidateAfter 2 s). Also the fast task timings of the fake PVE.
 *
 * May import: core/, sim/.
 */
import type { Config, MachineTemplate, NodePool, Provider } from "../core/model.ts";
import { GiB, MiB } from "../core/quantity.ts";
import { shapeOf } from "../sim/policies/default_config.ts";

/** Where the fake PVE listens and how to trust it. */
export type DemoPveEndpoint = {
  url: string;
  tokenId: string;
  fingerprint: string;
  hosts: string[];
};

/** Fake PVE task durations (ms) that keep a launch under a second. */
export const DEMO_PVE_TIMING = {
  durations: {
    qmcreate: 150,
    qmclone: 200,
    qmconfig: 30,
    resize: 30,
    qmstart: 150,
    qmstop: 60,
    qmshutdown: 100,
    qmreboot: 100,
    qmdestroy: 80,
    qmtemplate: 50,
    imgcopy: 20,
    imgdel: 20,
  },
  cloneBytesPerSecond: 1024 * GiB,
  lockWaitMs: 2_000,
  cloneLockWaitMs: 500,
  createLockWaitMs: 500,
  storageLockWaitMs: 2_000,
};

/** The demo's Config, with the Provider aimed at `pve`. */
export function demoConfig(pve: DemoPveEndpoint): Config {
  const provider: Provider = {
    name: "demo",
    endpoint: pve.url,
    tokenId: pve.tokenId,
    tokenSecret: { env: "PROXSCALE_DEMO_TOKEN" },
    tls: { fingerprint: pve.fingerprint, insecureSkipVerify: false },
    hosts: pve.hosts.map((name) => ({
      name,
      zone: name,
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      reserved: { cpu: 1000, memory: 2 * GiB },
    })),
    vmidRange: { lower: 1000, upper: 1999 },
    managedTag: "proxscale",
    placement: "leastAllocated",
  };
  const template: MachineTemplate = {
    name: "worker",
    provider: "demo",
    shapes: [shapeOf(2, 4), shapeOf(4, 8)],
    vmMemOverhead: 256 * MiB,
    reserved: { cpu: 100, memory: 256 * MiB },
    // The fake kubelets keep the kubelet's default 100Mi memory.available threshold free too.
    evictionHardMemory: 100 * MiB,
    maxPods: 110,
    source: {
      kind: "clone",
      perHost: Object.fromEntries(pve.hosts.map((h, i) => [h, 9000 + i])),
      full: false,
    },
    disks: [],
    network: [],
    // The whole secure path: a per-claim join token and a NoCloud seed ISO on each host's
    // `local` storage; the world boots only VMs whose seed carries an accepted token.
    bootstrap: {
      mode: "nocloudIso",
      template: "kubeadm",
      isoStorage: "local",
      clusterServer: "10.0.0.10:6443",
    },
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    tags: ["k8s"],
  };
  const pool: NodePool = {
    name: "general",
    machineTemplate: "worker",
    weight: 50,
    requirements: [],
    labels: { team: "demo" },
    annotations: {},
    taints: [],
    startupTaints: [],
    limits: { nodes: 20 },
    minNodes: 0,
    scaleUp: { batchSize: 20, stabilizationWindow: 0, maxConcurrent: 20 },
    scaleDown: { maxConcurrent: 5, drainTimeout: 20_000, stabilizationWindow: 1_000 },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: 2_000,
      expireAfter: null,
      terminationGracePeriod: null,
      budgets: [{ nodes: "100%" }],
      drainTimeoutAction: "force",
    },
  };
  return {
    providers: [provider],
    machineTemplates: [template],
    nodePools: [pool],
    settings: {
      cost: { perVcpuHour: 0.02, perGiBHour: 0.0025 },
      batchIdle: 300,
      batchMax: 2_000,
      launchTimeout: 30_000,
      registrationTimeout: 30_000,
      nodeRepairAfter: 30_000,
      orphanGracePeriod: 3_000,
    },
  };
}
