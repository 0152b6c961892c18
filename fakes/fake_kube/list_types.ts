/**
 * Server-side apply list types of the built-in kinds the fake serves: which lists merge as
 * maps (and by which keys), which are sets of scalars, and which are atomic. These are the
 * `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` markers of the v1.32 OpenAPI; they
 * differ from strategic-merge-patch keys in places (a container port is keyed by
 * containerPort AND protocol, a missing protocol meaning TCP; tolerations are atomic). Custom resources take theirs from the
 * CRD schema (schema.ts).
 *
 * | Field (relative to a pod spec, `spec` of Pod, `spec.template.spec` of workloads) | Type |
 * |---|---|
 * | containers, initContainers, ephemeralContainers | map by name |
 * | containers[].ports | map by containerPort, protocol |
 * | containers[].env | map by name |
 * | containers[].volumeMounts | map by mountPath |
 * | containers[].volumeDevices | map by devicePath |
 * | containers[].envFrom, args, command | atomic |
 * | volumes, imagePullSecrets, schedulingGates, resourceClaims | map by name |
 * | hostAliases | map by ip |
 * | topologySpreadConstraints | map by topologyKey, whenUnsatisfiable |
 * | tolerations, readinessGates | atomic |
 *
 * | Kind | Field | Type |
 * |---|---|---|
 * | every kind | metadata.finalizers | set |
 * | every kind | metadata.ownerReferences | map by uid |
 * | Node | spec.taints | atomic |
 * | Node | spec.podCIDRs | set |
 * | Node | status.conditions, status.addresses | map by type |
 * | Pod, Deployment, Namespace, PodDisruptionBudget, Node | status.conditions | map by type |
 * | Deployment, ReplicaSet, StatefulSet, DaemonSet, Job | spec.selector | atomic struct |
 * | CronJob | spec.jobTemplate.spec.selector (pod spec at spec.jobTemplate.spec.template.spec) | atomic struct |
 * | Service | spec.ports | map by port, protocol |
 * | Service | spec.clusterIPs, spec.externalIPs, spec.ipFamilies | atomic |
 * | Role, ClusterRole | rules | atomic |
 * | RoleBinding, ClusterRoleBinding | subjects | atomic |
 * | PodDisruptionBudget | spec.selector | atomic struct |
 * | anything not listed | – | atomic |
 *
 * May import: patch.ts (types), resources.ts (types).
 */
import type { ListRule, ListRules } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";

const byName: ListRule = { key: "name" };

const CONTAINER: Record<string, ListRule> = {
  ports: {
    key: "containerPort",
    keys: ["containerPort", "protocol"],
    keyDefaults: { protocol: "TCP" },
  },
  env: byName,
  volumeMounts: { key: "mountPath" },
  volumeDevices: { key: "devicePath" },
};

const POD_SPEC: Record<string, ListRule> = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  volumes: byName,
  imagePullSecrets: byName,
  schedulingGates: byName,
  resourceClaims: byName,
  hostAliases: { key: "ip" },
  topologySpreadConstraints: { key: "topologyKey", keys: ["topologyKey", "whenUnsatisfiable"] },
};

function podSpecRules(prefix: string): Record<string, ListRule> {
  const out: Record<string, ListRule> = {};
  for (const [k, r] of Object.entries(POD_SPEC)) out[`${prefix}.${k}`] = r;
  for (const c of ["containers", "initContainers", "ephemeralContainers"]) {
    for (const [k, r] of Object.entries(CONTAINER)) out[`${prefix}.${c}.${k}`] = r;
  }
  return out;
}

const CONDITIONS: Record<string, ListRule> = { "status.conditions": { key: "type" } };
// A workload's label selector is an atomic struct: applied and owned as one value.
const WORKLOAD: Record<string, ListRule> = {
  ...podSpecRules("spec.template.spec"),
  ...CONDITIONS,
  "spec.selector": "replace",
};

/** The SSA list types per built-in kind (dotted paths without list indices). */
export const BUILTIN_LIST_TYPES: Record<string, Record<string, ListRule>> = {
  Pod: { ...podSpecRules("spec"), ...CONDITIONS },
  Deployment: WORKLOAD,
  ReplicaSet: WORKLOAD,
  StatefulSet: WORKLOAD,
  DaemonSet: WORKLOAD,
  Job: WORKLOAD,
  CronJob: {
    ...podSpecRules("spec.jobTemplate.spec.template.spec"),
    "spec.jobTemplate.spec.selector": "replace",
  },
  Node: {
    "spec.podCIDRs": "set",
    "status.conditions": { key: "type" },
    "status.addresses": { key: "type" },
  },
  Service: {
    "spec.ports": { key: "port", keys: ["port", "protocol"], keyDefaults: { protocol: "TCP" } },
  },
  Namespace: CONDITIONS,
  PodDisruptionBudget: { ...CONDITIONS, "spec.selector": "replace" },
};

const COMMON: Record<string, ListRule> = {
  "metadata.finalizers": "set",
  "metadata.ownerReferences": { key: "uid" },
};

/** The list rules server-side apply merges and tracks ownership with, for one resource. */
export function applyListRules(def: ResourceDef): ListRules {
  if (!def.builtin) return def.listRules;
  const own = BUILTIN_LIST_TYPES[def.kind] ?? {};
  return (p) => own[p] ?? COMMON[p];
}
