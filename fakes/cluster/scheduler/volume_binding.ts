/**
 * VolumeBinding, for the pod's persistentVolumeClaim volumes:
 *
 * - a missing claim, a claim being deleted, or an unbound claim whose StorageClass binds
 *   Immediately make the pod unschedulable before any node is looked at (one message for the
 *   whole pod: `persistentvolumeclaim "X" not found`, `... is being deleted`,
 *   "pod has unbound immediate PersistentVolumeClaims");
 * - a claim bound to a PV with spec.nodeAffinity admits only nodes its required terms match
 *   ("node(s) had volume node affinity conflict"); a claim bound to a PV that does not exist
 *   admits none;
 * - an unbound claim whose StorageClass is WaitForFirstConsumer does not block (when the class
 *   lists allowedTopologies, the node must be inside them); at bind time the scheduler
 *   annotates it `volume.kubernetes.io/selected-node: <node>` so a provisioner creates a PV
 *   there.
 *
 * Static PV matching for unbound claims and CSI storage capacity are not modelled.
 *
 * May import: ./cluster_state.ts, ./label_match.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { ClusterState, NodeState } from "./cluster_state.ts";
import { anyTermMatches, type NodeSelectorTerm } from "./label_match.ts";

/** The annotation that tells a provisioner which node the consumer pod went to. */
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/** A pod with an unbound claim that should already have been bound. */
export const UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";
/** A node outside a bound PV's node affinity. */
export const VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict";
/** A claim bound to a PV that is gone. */
export const PV_NOT_EXIST =
  "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/** A node outside a WaitForFirstConsumer class's allowedTopologies. */
export const BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";

/** The pod's volume constraints, or the message that rules out every node. */
export type VolumeBinding =
  | { ok: false; message: string }
  | { ok: true; filter(n: NodeState): string[]; claimsToSelect: KObj[] };

const NONE: string[] = [];

function claimNames(pod: KObj): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const name = v?.persistentVolumeClaim?.claimName;
    if (typeof name === "string") out.push(name);
  }
  return out;
}

function requiredTerms(pv: KObj): NodeSelectorTerm[] | undefined {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  return Array.isArray(terms) ? terms : undefined;
}

// deno-lint-ignore no-explicit-any
function inAllowedTopologies(topologies: any[], n: NodeState): boolean {
  for (const t of topologies) {
    const exprs = t?.matchLabelExpressions ?? [];
    // deno-lint-ignore no-explicit-any
    if (exprs.every((e: any) => (e?.values ?? []).includes(n.labels[e?.key]))) return true;
  }
  return false;
}

/** Checks the pod's claims once; the returned filter judges each node. */
export function volumeBinding(pod: KObj, cluster: ClusterState): VolumeBinding {
  const names = claimNames(pod);
  if (names.length === 0) return { ok: true, filter: () => NONE, claimsToSelect: [] };
  const ns = pod.metadata.namespace ?? "default";
  const pinned: NodeSelectorTerm[][] = [];
  let missingPv = false;
  const delayed: KObj[] = [];
  const topologies: unknown[][] = [];
  let immediate = false;
  for (const name of names) {
    const pvc = cluster.pvcs.get(`${ns}/${name}`);
    if (!pvc) return { ok: false, message: `persistentvolumeclaim "${name}" not found` };
    if (pvc.metadata.deletionTimestamp) {
      return { ok: false, message: `persistentvolumeclaim "${name}" is being deleted` };
    }
    const volumeName = pvc.spec?.volumeName;
    if (volumeName) {
      const pv = cluster.pvs.get(volumeName);
      if (!pv) missingPv = true;
      else {
        const terms = requiredTerms(pv);
        if (terms) pinned.push(terms);
      }
      continue;
    }
    const className = pvc.spec?.storageClassName;
    const sc = className ? cluster.storageClasses.get(className) : undefined;
    if (className && !sc) {
      return { ok: false, message: `storageclass.storage.k8s.io "${className}" not found` };
    }
    if (sc?.volumeBindingMode === "WaitForFirstConsumer") {
      delayed.push(pvc);
      if (Array.isArray(sc.allowedTopologies) && sc.allowedTopologies.length > 0) {
        topologies.push(sc.allowedTopologies);
      }
    } else immediate = true;
  }
  if (immediate) return { ok: false, message: UNBOUND_IMMEDIATE };
  return {
    ok: true,
    claimsToSelect: delayed,
    filter(n: NodeState): string[] {
      const reasons: string[] = [];
      if (missingPv) return [PV_NOT_EXIST];
      if (pinned.some((terms) => !anyTermMatches(terms, n.labels, n.name))) {
        reasons.push(VOLUME_NODE_CONFLICT);
      }
      if (topologies.some((t) => !inAllowedTopologies(t as unknown[], n))) {
        reasons.push(BIND_CONFLICT);
      }
      return reasons;
    },
  };
}
