/**
 * The fakes both memory probes fill (memory_probe.ts in process, memory_probe_process.ts for
 * the real `run` process): a fake API server with proxscale's CRDs and a fake PVE with one host
 * per 50 VMs, both in the probe's parent process, then the managed inventory loaded into them
 * for `config` (harness/memory_probe_inventory.ts).
 *
 * May import: core/, adapters/, harness/, fakes/fake_kube/ and fakes/fake_pve/ (lazily: the
 * parent's heap only, never the daemon's).
 */
import type { Config } from "../core/model.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import type { FakeKube } from "../fakes/fake_kube/server.ts";
import type { FakePve } from "../fakes/fake_pve/server.ts";
import { fillInventory, hostNames } from "./memory_probe_inventory.ts";

/** The running fakes; `fill` loads the inventory once the configuration is known. */
export type ProbeFakes = {
  kube: FakeKube;
  pve: FakePve;
  fill(config: Config): void;
  close(): Promise<void>;
};

/** Starts the fakes for `nodes` managed nodes and `pods` pods (filled by `fill`). */
export async function startProbeFakes(nodes: number, pods: number): Promise<ProbeFakes> {
  const { startFakeKube } = await import("../fakes/fake_kube/server.ts");
  const { startFakePve } = await import("../fakes/fake_pve/server.ts");
  const kube = await startFakeKube({ seed: 1, tls: false, historyLimit: 100 });
  const pve = await startFakePve({
    seed: 1,
    model: {
      hosts: hostNames(nodes).map((name) => ({ name, cpus: 256, memory: 512 * 2 ** 30 })),
    },
  });
  for (const k of KINDS) {
    kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
  }
  return {
    kube,
    pve,
    fill: (config) =>
      fillInventory(
        kube.store as unknown as Parameters<typeof fillInventory>[0],
        pve.model,
        config,
        nodes,
        pods,
      ),
    close: async () => {
      await pve.close();
      await kube.close();
    },
  };
}
