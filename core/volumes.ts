/**
 * Persistent volumes as scheduling constraints. A pod mounting a claim bound to a volume with
 * node affinity (a local PersistentVolume, a zonal disk) can only run where that volume is
 * reachable: the volume's node selector terms are ANDed into the pod's required node affinity.
 * A volume whose affinity names a single node (kubernetes.io/hostname) pins the pod: provisioning
 * cannot make a new node for it, and consolidation must not move it unless the pool's storage is
 * replicated. A claim not yet bound whose StorageClass waits for the first consumer binds where
 * the pod lands, within the class's allowed topologies (added as a constraint); one whose class
 * binds immediately makes the pod wait for the volume, not for a node.
 *
 * May import: nothing outside core/.
 */
import type {
  NodeSelectorTerm,
  PersistentVolume,
  Pod,
  StorageClass,
  VolumeClaim,
} from "./model.ts";

const HOSTNAME = "kubernetes.io/hostname";

/** (A1 or A2 ...) and (B1 or B2 ...) as one list of terms: every Ai merged with every Bj. */
export function intersectTerms(
  a: readonly NodeSelectorTerm[] | undefined,
  b: readonly NodeSelectorTerm[],
): NodeSelectorTerm[] {
  if (!a || a.length === 0) return [...b];
  const out: NodeSelectorTerm[] = [];
  for (const x of a) {
    for (const y of b) {
      const term: NodeSelectorTerm = {
        matchExpressions: [...(x.matchExpressions ?? []), ...(y.matchExpressions ?? [])],
      };
      const fields = [...(x.matchFields ?? []), ...(y.matchFields ?? [])];
      if (fields.length) term.matchFields = fields;
      out.push(term);
    }
  }
  return out;
}

/** Does this volume's affinity tie it to named nodes (a local volume)? */
export function isNodeLocal(pv: PersistentVolume): boolean {
  return (pv.nodeAffinity ?? []).some((t) =>
    (t.matchExpressions ?? []).some((e) => e.key === HOSTNAME && e.operator === "In")
  );
}

/**
 * The pods with their bound volumes' node affinity applied. Pods without claims are returned
 * as they are (same objects), so callers pay nothing when no pod mounts a volume.
 */
export function applyVolumeAffinity(
  pods: readonly Pod[],
  claims: readonly VolumeClaim[],
  volumes: readonly PersistentVolume[],
  classes: readonly StorageClass[] = [],
): Pod[] {
  if (claims.length === 0) return [...pods];
  const claimByKey = new Map(claims.map((c) => [`${c.namespace}/${c.name}`, c]));
  const pvByName = new Map(volumes.map((v) => [v.name, v]));
  const classByName = new Map(classes.map((c) => [c.name, c]));
  return pods.map((pod) => {
    if (!pod.volumeClaims?.length) return pod;
    let terms: NodeSelectorTerm[] = pod.requiredNodeAffinity ?? [];
    let pinned = false;
    let changed = false;
    let waits: string | undefined;
    for (const name of pod.volumeClaims) {
      const c = claimByKey.get(`${pod.namespace}/${name}`);
      if (c && !c.volumeName) {
        const sc = c.storageClassName ? classByName.get(c.storageClassName) : undefined;
        if (sc?.volumeBindingMode === "Immediate") waits ??= name;
        else if (sc?.allowedTopologies?.length) {
          terms = intersectTerms(terms, sc.allowedTopologies);
          changed = true;
        }
        continue;
      }
      const pv = c?.volumeName ? pvByName.get(c.volumeName) : undefined;
      if (!pv?.nodeAffinity?.length) continue;
      terms = intersectTerms(terms, pv.nodeAffinity);
      pinned ||= isNodeLocal(pv);
      changed = true;
    }
    if (waits !== undefined && !pod.nodeName) return { ...pod, waitsForVolume: waits };
    if (!changed) return pod;

    return { ...pod, requiredNodeAffinity: terms, ...(pinned ? { volumePinned: true } : {}) };
  });
}
