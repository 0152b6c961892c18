/**
 * Builds the core's Snapshot from what the daemon observes: the informers' caches (pods, nodes,
 * PDBs, NodeClaims, DaemonSets, and volumes whose node affinity constrains the pods using
 * them) and each Provider's owned VMs and host inventory, read fresh every pass (PVE has no
 * watch). A provider or host that cannot be read is marked so, never read as empty: deciding
 * without its VMs would count them as vanished.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import type { Host, MachineTemplate, Snapshot, VM } from "../core/model.ts";
import { applyVolumeAffinity } from "../core/volumes.ts";
import type { ClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import type { MachineProvider } from "./ports/provider.ts";

/** One provider could not be listed; the message keeps PVE's words. */
export type SnapshotError = { kind: "ProviderUnavailable"; provider: string; message: string };

/**
 * Reads everything a pass decides on. A provider that cannot be read does not stop the pass:
 * it is named in `unavailableProviders` (the core then decides nothing from its VMs' absence)
 * and in `problems`, so registration, initialisation and disruption, which only need
 * Kubernetes, keep going while PVE is down.
 */
export async function buildSnapshot(
  informers: ClusterInformers,
  providers: ReadonlyMap<string, MachineProvider>,
  now: number,
  templates: readonly MachineTemplate[] = [],
  tenantSelectors = false,
): Promise<{ snapshot: Snapshot; problems: SnapshotError[] }> {
  const vms: VM[] = [];
  const hosts: Host[] = [];
  const problems: SnapshotError[] = [];
  const reads = await Promise.all(
    [...providers].map(async ([name, p]) => ({
      name,
      list: await p.list(),
      inventory: await p.inventory(templates.filter((t) => t.provider === name)),
    })),
  );
  for (const r of reads) {
    const failed = !r.list.ok ? r.list.error : !r.inventory.ok ? r.inventory.error : undefined;
    if (failed || !r.list.ok || !r.inventory.ok) {
      problems.push({
        kind: "ProviderUnavailable",
        provider: r.name,
        message: failed?.message ?? "unreadable",
      });
      continue;
    }
    vms.push(...r.list.value);
    hosts.push(...r.inventory.value);
  }
  // Template locality: which hosts each template can be cloned to (PVE's storage facts).
  // A provider that cannot answer leaves the template to its configuration's limits.
  const templateHosts: Record<string, string[]> = {};
  for (const t of templates) {
    const p = providers.get(t.provider);
    if (!p?.templateHosts || problems.some((x) => x.provider === t.provider)) continue;
    const r = await p.templateHosts(t);
    if (r.ok) templateHosts[t.name] = r.value;
  }
  const k = informers.snapshot();
  // Namespace labels matter only to Tenants that select namespaces by label.
  const namespaceLabels: Record<string, Record<string, string>> = {};
  if (tenantSelectors) { for (const n of k.namespaces) namespaceLabels[n.name] = n.labels; }
  return {
    snapshot: {
      now,
      // A bound local or zonal volume is a node constraint of every pod that mounts it.
      pods: applyVolumeAffinity(k.pods, k.volumeClaims, k.volumes, k.storageClasses),
      daemonSets: k.daemonSets,
      nodes: k.nodes,
      nodeClaims: k.nodeClaims,
      pdbs: k.pdbs,
      hosts,
      vms,
      ...(Object.keys(templateHosts).length ? { templateHosts } : {}),
      ...(tenantSelectors ? { namespaceLabels } : {}),
      ...(problems.length ? { unavailableProviders: problems.map((p) => p.provider) } : {}),
    },
    problems,
  };
}
