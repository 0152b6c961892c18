/**
 * A whole fake cluster: the fake Proxmox VE and the fake Kubernetes API server, made into a
 * cluster by the fakes' own scheduler, controllers and kubelets. It behaves like Kubernetes on
 * Proxmox whether or not proxscale is right: a VM a pod cannot use leaves the pod Pending, a VM
 * that never gets a token never becomes a Node, and every VM on the PVE side can be counted.
 *
 * `proxscale fake-cluster` runs one for people and kubectl; the harness and the end-to-end tests
 * start one in-process.
 *
 * May import: fakes/ (never core/).
 */
import { type FakeKube, type FakeKubeOptions, startFakeKube } from "../fake_kube/server.ts";
import { type FakePve, type FakePveOptions, startFakePve } from "../fake_pve/server.ts";
import { startControllers } from "./controllers/controllers.ts";
import { type Kubelets, startKubelets } from "./kubelet/kubelets.ts";
import { startScheduler } from "./scheduler/scheduler.ts";
import { type FaultPlan, runFaultPlan } from "./fault_plan.ts";
import { type FakeRedfish, startFakeRedfish, type SystemSpec } from "../fake_redfish/server.ts";
import { type BareMetalKubelets, startBareMetalKubelets } from "./kubelet/bare_metal.ts";

/** How to start a fake cluster. Durations in ms. */
export type FakeClusterOptions = {
  /** Proxmox hosts (each with a template VM 9000 + index). Default 3. */
  hosts?: number;
  /** Fake API server port; 0 (default) picks a free one. */
  kubePort?: number;
  /** Fake PVE port; 0 (default) picks a free one. */
  pvePort?: number;
  seed?: number;
  /** The Provider name kubelets put in providerIDs when the seed names none. Default "fake". */
  provider?: string;
  /** VM started -> kubelet registers its Node. Default 3000. */
  bootDelayMs?: number;
  /** Boot only VMs whose seed carries a join token the cluster accepts. Default true. */
  requireSeed?: boolean;
  /** Kubelet Lease renewal period. Default 10000. */
  renewIntervalMs?: number;
  /** The kubelets' kube-reserved + system-reserved (default 100m cpu, 256Mi memory). */
  kubeletReservation?: { cpuMillis: number; memoryBytes: number };
  /** Node lifecycle: heartbeat older than this -> NotReady/Unknown. Default 40000. */
  nodeMonitorGracePeriodMs?: number;
  /** Faults applied at start and on a timeline. */
  faults?: FaultPlan;
  kube?: Omit<FakeKubeOptions, "port" | "seed">;
  pve?: Omit<FakePveOptions, "port" | "seed" | "hosts">;
  /**
   * Bare-metal machines behind a fake Redfish BMC: each that powers on from a NoCloud seed on
   * its virtual CD runs a kubelet (providerID region `provider`, default "metal").
   */
  bareMetal?: { systems: SystemSpec[]; port?: number; provider?: string; powerOnDelayMs?: number };
};

/** A running fake cluster. */
export type FakeCluster = {
  pve: FakePve;
  kube: FakeKube;
  kubelets: Kubelets;
  provider: string;
  /** The fake BMC and its machines' kubelets, with `bareMetal`. */
  bmc?: FakeRedfish;
  bareMetalKubelets?: BareMetalKubelets;
  /** Stops the glue, then both servers. */
  close(): Promise<void>;
};

/** Starts both servers and the glue that makes them a cluster. */
export async function startFakeCluster(o: FakeClusterOptions = {}): Promise<FakeCluster> {
  const seed = o.seed ?? 1;
  const provider = o.provider ?? "fake";
  const pve = await startFakePve({
    hosts: o.hosts ?? 3,
    port: o.pvePort ?? 0,
    seed,
    ...(o.faults?.pve ? { faults: o.faults.pve } : {}),
    ...o.pve,
  });
  let kube: FakeKube;
  try {
    kube = await startFakeKube({ port: o.kubePort ?? 0, seed, ...o.kube });
  } catch (e) {
    await pve.close();
    throw e;
  }
  if (o.faults?.kube) Object.assign(kube.faults, o.faults.kube);
  // The cluster comes with proxscale's namespace, as the first install step makes it, so a
  // daemon started outside the cluster finds where its leader Lease lives.
  kube.store.create("namespaces", { metadata: { name: "proxscale-system" } });
  const scheduler = startScheduler(kube.store);
  const controllers = startControllers(kube.store, {
    seed,
    ...(o.nodeMonitorGracePeriodMs !== undefined
      ? { nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs }
      : {}),
  });
  const kubelets = startKubelets({
    store: kube.store,
    pve,
    provider,
    bootDelayMs: o.bootDelayMs ?? 3_000,
    requireSeed: o.requireSeed ?? true,
    ...(o.renewIntervalMs !== undefined ? { renewIntervalMs: o.renewIntervalMs } : {}),
    ...(o.kubeletReservation !== undefined ? { reservation: o.kubeletReservation } : {}),
  });
  const timeline = runFaultPlan(o.faults?.timeline ?? [], { pve, kube, kubelets });
  let bmc: FakeRedfish | undefined;
  let metal: BareMetalKubelets | undefined;
  if (o.bareMetal) {
    bmc = await startFakeRedfish({
      systems: o.bareMetal.systems,
      port: o.bareMetal.port ?? 0,
      model: { powerOnDelayMs: o.bareMetal.powerOnDelayMs ?? 2_000 },
    });
    metal = startBareMetalKubelets({
      store: kube.store,
      bmc: bmc.model,
      provider: o.bareMetal.provider ?? "metal",
      bootDelayMs: o.bootDelayMs ?? 3_000,
      requireSeed: o.requireSeed ?? true,
      ...(o.renewIntervalMs !== undefined ? { renewIntervalMs: o.renewIntervalMs } : {}),
    });
  }
  return {
    pve,
    kube,
    kubelets,
    provider,
    ...(bmc ? { bmc } : {}),
    ...(metal ? { bareMetalKubelets: metal } : {}),
    close: async () => {
      metal?.stop();
      await bmc?.close();
      timeline.stop();
      kubelets.stop();
      controllers.stop();
      scheduler.stop();
      await kube.close();
      await pve.close();
    },
  };
}
