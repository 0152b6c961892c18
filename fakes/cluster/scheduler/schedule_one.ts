/**
 * One scheduling attempt for one pod against one pass's cluster state: the pod-wide checks,
 * then the filters per node in kube-scheduler's plugin order (NodeUnschedulable,
 * TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, VolumeBinding,
 * PodTopologySpread, InterPodAffinity; the first plugin that rejects a node gives that node's
 * reasons), then the score. Pure: nothing is written here.
 *
 * May import: the filter modules of this folder, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { ClusterState, NodeState } from "./cluster_state.ts";
import { fitErrorMessage } from "./fit_message.ts";
import { interPodAffinity } from "./inter_pod_affinity.ts";
import { hasNodeConstraints, nodeAffinity, preferredNodeAffinityScore } from "./node_affinity.ts";
import { nodePorts } from "./node_ports.ts";
import { resourceFitter } from "./node_resources_fit.ts";
import { pickNode, type ScoreInputs } from "./node_score.ts";
import { toleratesCordon, UNSCHEDULABLE } from "./node_unschedulable.ts";
import { hostPorts, podRequests, type ResourceList } from "./pod_requests.ts";
import { podTopologySpread } from "./pod_topology_spread.ts";
import { intolerablePreferNoSchedule, taintToleration } from "./taint_toleration.ts";
import { volumeBinding } from "./volume_binding.ts";

/** Each node's reasons (empty = it fits), or the one reason that rules out every node. */
export type Verdicts =
  | { preFilter: string }
  | { preFilter?: undefined; byNode: Map<string, string[]> };

const NONE: string[] = [];
const CORDONED = [UNSCHEDULABLE];

type Prepared = {
  requests: ResourceList;
  verdicts: Verdicts;
  feasible: NodeState[];
  claimsToSelect: KObj[];
  score: Omit<ScoreInputs, "requests" | "nodeAffinity">;
};

function prepare(pod: KObj, cluster: ClusterState): Prepared {
  const requests = podRequests(pod);
  const volumes = volumeBinding(pod, cluster);
  const tolerations = pod.spec?.tolerations ?? [];
  if (!volumes.ok) {
    return {
      requests,
      verdicts: { preFilter: volumes.message },
      feasible: [],
      claimsToSelect: [],
      score: {},
    };
  }
  const ports = hostPorts(pod);
  const spread = podTopologySpread(pod, cluster);
  const ipa = interPodAffinity(pod, cluster);
  const cordonOk = toleratesCordon(pod);
  const constrained = hasNodeConstraints(pod);
  const fits = resourceFitter(requests);
  const byNode = new Map<string, string[]>();
  const feasible: NodeState[] = [];
  for (const n of cluster.nodes) {
    let r = n.unschedulable && !cordonOk ? CORDONED : NONE;
    if (r.length === 0 && n.taints.length > 0) r = taintToleration(tolerations, n);
    if (r.length === 0 && constrained) r = nodeAffinity(pod, n);
    if (r.length === 0 && ports.length > 0) r = nodePorts(ports, n);
    if (r.length === 0) r = fits(n);
    if (r.length === 0) r = volumes.filter(n);
    if (r.length === 0) r = spread.filter(n);
    if (r.length === 0) r = ipa.filter(n);
    byNode.set(n.name, r);
    if (r.length === 0) feasible.push(n);
  }
  return {
    requests,
    verdicts: { byNode },
    feasible,
    claimsToSelect: volumes.claimsToSelect,
    score: {
      ...(cluster.nodes.some((n) => n.taints.length > 0)
        ? { taints: (n: NodeState) => intolerablePreferNoSchedule(tolerations, n) }
        : {}),
      ...(ipa.scored ? { podAffinity: ipa.score } : {}),
      ...(spread.scored ? { spread: spread.score } : {}),
    },
  };
}

/** Every node's filter verdict for `pod` (what the differential tests compare). */
export function nodeVerdicts(pod: KObj, cluster: ClusterState): Verdicts {
  return prepare(pod, cluster).verdicts;
}

/** Where the pod goes (and which WaitForFirstConsumer claims to annotate), or why nowhere. */
export type Decision =
  | { ok: true; node: NodeState; requests: ResourceList; claimsToSelect: KObj[] }
  | { ok: false; message: string };

/** Filters and scores the nodes for one pod. */
export function scheduleOne(pod: KObj, cluster: ClusterState): Decision {
  const p = prepare(pod, cluster);
  if (p.verdicts.preFilter !== undefined) {
    return { ok: false, message: fitErrorMessage(cluster.nodes.length, [], p.verdicts.preFilter) };
  }
  if (p.feasible.length === 0) {
    return {
      ok: false,
      message: fitErrorMessage(cluster.nodes.length, p.verdicts.byNode.values()),
    };
  }
  const prefersNodes =
    pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution != null;
  const node = p.feasible.length === 1 ? p.feasible[0]! : pickNode(p.feasible, {
    requests: p.requests,
    ...p.score,
    ...(prefersNodes ? { nodeAffinity: (n: NodeState) => preferredNodeAffinityScore(pod, n) } : {}),
  });
  return { ok: true, node, requests: p.requests, claimsToSelect: p.claimsToSelect };
}
