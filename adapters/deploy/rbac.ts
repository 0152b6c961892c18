/**
 * adapters/deploy: the Kubernetes manifests and packaging artefacts proxscale ships (deploy/,
 * the Helm chart, the Grafana dashboard), rendered from code so that the committed files, the
 * `proxscale manifests` output and the tests all come from one place. Only cli/ and tests import
 * this folder; it does no I/O except where a function says so.
 *
 * This file is the single source of truth for proxscale's RBAC: every API call the adapters in
 * adapters/kubernetes/ make is listed here with exactly the verbs it needs, and nothing more.
 * The rendered ClusterRole/Roles come from these rules, and `rbacAuthorizer` lets a test run
 * the fake API server with the same rules enforced.
 */
import { GROUP } from "../kubernetes/crds.ts";

/** One rbac.authorization.k8s.io/v1 PolicyRule. */
export type PolicyRule = {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
};

/** Namespace of the kubeadm bootstrap-token Secrets (kubernetes-api.md §10.5). */
export const BOOTSTRAP_NAMESPACE = "kube-system";

/** The CRDs proxscale checks are installed (`proxscale diagnose`); nothing else is readable. */
export const CRD_NAMES = ["nodepools", "machinetemplates", "providers", "nodeclaims"].map((p) =>
  `${p}.${GROUP}`
);

/**
 * Cluster-wide rules. Each line names the adapter call that needs it, so removing a call makes
 * the rule visibly dead and adding one without a rule fails the RBAC-enforcing test.
 */
export const CLUSTER_RULES: PolicyRule[] = [
  // cluster_informers.ts (pods informer); eviction.ts and daemon/kube_actions.ts delete a pod only
  // when drainTimeoutAction is "force".
  { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "delete"] },
  // eviction.ts, daemon/kube_actions.ts: POST pods/<p>/eviction (honours PodDisruptionBudgets).
  { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
  // cluster_informers.ts; node_writer.ts reads, labels/taints/cordons (PATCH) and removes nodes.
  {
    apiGroups: [""],
    resources: ["nodes"],
    verbs: ["get", "list", "watch", "patch", "delete"],
  },
  // events.ts: core/v1 Events for NodePools, NodeClaims, nodes and pods, repeats counted by PATCH.
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  // cluster_informers.ts: PodDisruptionBudgets feed the disruption decisions.
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["list", "watch"] },
  // cluster_informers.ts: DaemonSets add per-node overhead; bound volumes constrain pods.
  { apiGroups: ["apps"], resources: ["daemonsets"], verbs: ["list", "watch"] },
  { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["list", "watch"] },
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims", "persistentvolumes"],
    verbs: ["list", "watch"],
  },
  // config_loader.ts / config_watcher.ts list and watch the configuration kinds;
  // config_status_writer.ts reads one (GET) and patches its status.
  {
    apiGroups: [GROUP],
    resources: ["nodepools", "machinetemplates", "providers"],
    verbs: ["get", "list", "watch"],
  },
  {
    apiGroups: [GROUP],
    resources: ["nodepools/status", "machinetemplates/status", "providers/status"],
    verbs: ["patch"],
  },
  // nodeclaim_writer.ts and daemon/kube_actions.ts create, read and delete claims, and PATCH the
  // claim to release its finalizer; cluster_informers.ts watches them.
  {
    apiGroups: [GROUP],
    resources: ["nodeclaims"],
    verbs: ["create", "get", "list", "watch", "patch", "delete"],
  },
  { apiGroups: [GROUP], resources: ["nodeclaims/status"], verbs: ["patch"] },
  // `proxscale diagnose` (issue 9): are the CRDs installed? Only proxscale's own, by name.
  {
    apiGroups: ["apiextensions.k8s.io"],
    resources: ["customresourcedefinitions"],
    verbs: ["get"],
    resourceNames: CRD_NAMES,
  },
];

/** Rules in proxscale's own namespace (a Role, not cluster-wide). */
export const NAMESPACE_RULES: PolicyRule[] = [
  // leader_elector.ts: GET, POST on 404, PUT with the read resourceVersion.
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
  // config_loader.ts / config_watcher.ts: the proxscale-settings ConfigMap.
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
  // Provider tokenSecret / Redis password `secret:` references, read from this namespace only.
  { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
];

/** Rules in kube-system: per-node bootstrap-token Secrets (bootstrap_secrets.ts). */
export const BOOTSTRAP_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete", "list"] },
];

/** What an authorizer is asked (the shape of fakes/fake_kube's AuthzRequest). */
export type AccessRequest = {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
};

function ruleAllows(r: PolicyRule, q: AccessRequest): boolean {
  const resource = q.subresource ? `${q.resource}/${q.subresource}` : q.resource;
  const any = (xs: string[], v: string) => xs.includes("*") || xs.includes(v);
  if (!any(r.apiGroups, q.group) || !any(r.resources, resource) || !any(r.verbs, q.verb)) {
    return false;
  }
  if (r.resourceNames && r.resourceNames.length > 0) {
    return q.name !== undefined && r.resourceNames.includes(q.name);
  }
  return true;
}

/**
 * Decides a request the way the API server's RBAC authorizer would for proxscale's
 * ServiceAccount: cluster rules anywhere, namespace rules only in `namespace`, bootstrap rules
 * only in kube-system. For the fake API server's `authorize` hook in RBAC-enforcement tests.
 */
export function rbacAuthorizer(namespace: string): (q: AccessRequest) => boolean {
  return (q) =>
    CLUSTER_RULES.some((r) => ruleAllows(r, q)) ||
    (q.namespace === namespace && NAMESPACE_RULES.some((r) => ruleAllows(r, q))) ||
    (q.namespace === BOOTSTRAP_NAMESPACE && BOOTSTRAP_RULES.some((r) => ruleAllows(r, q)));
}
