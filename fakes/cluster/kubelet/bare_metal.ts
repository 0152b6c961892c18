/**
 * Kubelets for bare-metal machines behind a fake Redfish BMC: a machine that completes a
 * power-on from its virtual CD holding a NoCloud `cidata` ISO boots a kubelet configured by
 * that seed (after `bootDelayMs`), which registers its own Node from the machine's real size
 * (the System's processors and memory) once its join token is accepted; a power-off ends the
 * kubelet (its Node goes silent; deleting it is the autoscaler's job). A machine that booted
 * anything else (its disk, PXE, a foreign image) runs no kubelet of this cluster.
 *
 * Independent of proxscale's core/: it reads the bytes the BMC fetched, not what proxscale
 * meant to put there.
 *
 * May import: fakes/, adapters/bootstrap/iso9660_reader.ts, npm yaml.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import type { VmState } from "../../fake_pve/state.ts";
import type { BmcModel, PowerEvent } from "../../fake_redfish/model.ts";
import { Kubelet } from "./kubelet.ts";
import { groupPods } from "./kubelets.ts";
import { DEFAULT_RESERVATION } from "./node_status.ts";
import { parseSeed } from "./seed.ts";
import { seedFilesFromIso } from "./seed_media.ts";

/** How the bare-metal kubelets behave; times in ms. */
export type BareMetalKubeletOptions = {
  store: KubeStore;
  bmc: BmcModel;
  /** The providerID region used when the seed passes no `--provider-id`. */
  provider: string;
  bootDelayMs: number;
  requireSeed?: boolean;
  renewIntervalMs?: number;
  tickMs?: number;
};

/** The running bare-metal kubelets. */
export type BareMetalKubelets = {
  stop(): void;
  /** The Node name a System's kubelet registered (kept after power-off), if any. */
  nodeOfSystem(id: string): string | undefined;
};

type Boot = { startedAt: number; event: PowerEvent; kubelet?: Kubelet };

/** Follows the BMC's power events and runs a kubelet per machine booted from a seed. */
export function startBareMetalKubelets(o: BareMetalKubeletOptions): BareMetalKubelets {
  const boots = new Map<string, Boot>();
  const registered = new Map<string, string>();
  const off = o.bmc.onPower((e) => {
    if (e.state === "Off") boots.delete(e.system);
    else boots.set(e.system, { startedAt: o.store.now(), event: e });
  });
  const step = () => {
    const now = o.store.now();
    let pods: Map<string, KObj[]> | undefined;
    for (const [id, b] of boots) {
      if (now < b.startedAt + o.bootDelayMs) continue;
      if (!b.kubelet) {
        const files = b.event.image ? seedFilesFromIso(b.event.image.bytes) : undefined;
        if (!files) continue; // booted something that is not a NoCloud seed: not a node here
        const sys = o.bmc.system(id);
        if (!sys) continue;
        b.kubelet = new Kubelet({
          store: o.store,
          vm: machineAsVm(
            sys.id,
            sys.cpus,
            sys.memoryGiB,
            b.startedAt,
            [...o.bmc.systems.keys()].indexOf(id) + 1,
          ),
          seed: parseSeed(files),
          requireSeed: o.requireSeed ?? true,
          provider: o.provider,
          reservation: DEFAULT_RESERVATION,
          renewIntervalMs: o.renewIntervalMs ?? 10_000,
          bootedAt: b.startedAt + o.bootDelayMs,
        });
      }
      pods ??= groupPods(o.store);
      const k = b.kubelet;
      k.step(now, undefined, () => pods!.get(k.name) ?? []);
      if (k.phase === "registered") registered.set(id, k.name);
    }
  };
  const timer = setInterval(step, o.tickMs ?? 100);
  return {
    stop: () => {
      clearInterval(timer);
      off();
    },
    nodeOfSystem: (id) => registered.get(id),
  };
}

/** The machine's hardware in the shape the kubelet reads a VM's (cores, memory MiB, a disk). */
function machineAsVm(
  name: string,
  cpus: number,
  memoryGiB: number,
  at: number,
  index: number,
): VmState {
  return {
    vmid: 100_000 + index,
    node: `bmc-${name}`,
    status: "running",
    createdAt: at,
    startedAt: at,
    conf: {
      values: new Map([
        ["name", name],
        ["cores", String(cpus)],
        ["memory", String(Math.round(memoryGiB * 1024))],
        ["scsi0", `local:${name}-disk,size=480G`],
      ]),
    },
  };
}
