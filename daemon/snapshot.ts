/**
 * Builds the core's Snapshot from what the daemon observes: the informers' caches (pods, nodes,
 * PDBs, NodeClaims, DaemonSets, and volumes whose node affinity constrains the pods using them) and each Provider's owned VMs and host inventory, read fresh every pass
 * (PVE has no watch). A provider that cannot be read makes the pass fail rather than decide on
 * a partial view: deciding without its VMs would count them as vanished.
 *
 * May import: core/, adapters/.
 */
import type { Host, Snapshot, VM } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { applyVolumeAffinity } from "../core/volumes.ts";
import type { ClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import type { MachineProvider } from "../adapters/proxmox/port.ts";

/** One provider could not be listed; the message keeps PVE's words. */
export type SnapshotError = { kind: "ProviderUnavailable"; provider: string; message: string };

/** Reads everything a pass decides on. */
export async function buildSnapshot(
  informers: ClusterInformers,
  providers: ReadonlyMap<string, MachineProvider>,
  now: number,
): Promise<Result<Snapshot, SnapshotError>> {
  const vms: VM[] = [];
  const hosts: Host[] = [];
  const reads = await Promise.all(
    [...providers].map(async ([name, p]) => ({
      name,
      list: await p.list(),
      inventory: await p.inventory(),
    })),
  );
  for (const r of reads) {
    if (!r.list.ok) {
      return err({ kind: "ProviderUnavailable", provider: r.name, message: r.list.error.message });
    }
    if (!r.inventory.ok) {
      return err({
        kind: "ProviderUnavailable",
        provider: r.name,
        message: r.inventory.error.message,
      });
    }
    vms.push(...r.list.value);
    hosts.push(...r.inventory.value);
  }
  const k = informers.snapshot();
  return ok({
    now,
    // A bound local or zonal volume is a node constraint of every pod that mounts it.
    pods: applyVolumeAffinity(k.pods, k.volumeClaims, k.volumes, k.storageClasses),
    daemonSets: k.daemonSets,
    nodes: k.nodes,
    nodeClaims: k.nodeClaims,
    pdbs: k.pdbs,
    hosts,
    vms,
  });
}
