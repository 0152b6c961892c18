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
import { TOKEN_LEDGER_CONFIGMAP } from "../kubernetes/bootstrap_token_ledger.ts";
import { CONFIG_HISTORY_CONFIGMAP } from "../kubernetes/config_history.ts";
import { DEMAND_HISTORY_CONFIGMAP } from "../kubernetes/demand_history_store.ts";

/** One rbac.authorization.k8s.io/v1 PolicyRule. */
export type PolicyRule = {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
};

/** Namespace of the kubeadm bootstrap-token Secrets. */
export const BOOTSTRAP_NAMESPACE = "kube-system";

/** The CRDs proxscale checks are installed (`proxscale diagnose`); nothing else is readable. */
export const CRD_NAMES = ["nodepools", "machinetemplates", "providers", "nodeclaims", "tenants"]
  .map((
    p,
  ) => `${p}.${GROUP}`);

/** A rule with the reason each of its verbs exists (rendered into docs/operations.md). */
export type DocumentedRule = { rule: PolicyRule; why: string };

/**
 * Cluster-wide rules. Each names the adapter call that needs it, so removing a call makes the
 * rule visibly dead and adding one without a rule fails the RBAC-enforcing test.
 */
export const CLUSTER_RULE_DOCS: DocumentedRule[] = [
  {
    rule: { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch", "delete"] },
    why: "list/watch: the pods informer (cluster_informers.ts) sees pending and running pods; " +
      "delete: eviction.ts and daemon/kube_actions.ts delete a pod only when " +
      "drainTimeoutAction is force",
  },
  {
    rule: { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
    why: "create: drains evict through POST pods/NAME/eviction, which honours " +
      "PodDisruptionBudgets",
  },
  {
    rule: {
      apiGroups: [""],
      resources: ["nodes"],
      verbs: ["get", "list", "watch", "patch", "delete"],
    },
    why: "list/watch: the nodes informer; get: node_writer.ts reads a node before patching its " +
      "taints; patch: labels, taints and cordon; delete: removes the Node of a deleted VM",
  },
  {
    rule: { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    why: "create: Events on NodePools, NodeClaims, nodes and pods (events.ts); patch: counts " +
      "a repeated Event instead of creating another",
  },
  {
    rule: { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
    why: "list/watch: the namespaces informer (cluster_informers.ts) reads namespace labels for " +
      "Tenants that select their namespaces by label",
  },
  {
    rule: { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["list", "watch"] },
    why: "list/watch: PodDisruptionBudgets feed the disruption decisions",
  },
  {
    rule: { apiGroups: ["apps"], resources: ["daemonsets"], verbs: ["list", "watch"] },
    why: "list/watch: DaemonSets add per-node overhead to a new node's capacity",
  },
  {
    rule: {
      apiGroups: ["storage.k8s.io"],
      resources: ["storageclasses"],
      verbs: ["list", "watch"],
    },
    why: "list/watch: a StorageClass's topology constrains where a pod's volume can bind",
  },
  {
    rule: {
      apiGroups: [""],
      resources: ["persistentvolumeclaims", "persistentvolumes"],
      verbs: ["list", "watch"],
    },
    why: "list/watch: bound volumes pin pods to zones and hosts",
  },
  {
    rule: {
      apiGroups: [GROUP],
      resources: ["nodepools", "machinetemplates", "providers", "tenants"],
      verbs: ["get", "list", "watch"],
    },
    why: "list/watch: config_loader.ts and config_watcher.ts load and hot-reload the " +
      "configuration kinds (Tenants included); get: config_status_writer.ts reads one before patching its status",
  },
  {
    rule: {
      apiGroups: [GROUP],
      resources: ["nodepools/status", "machinetemplates/status", "providers/status"],
      verbs: ["patch"],
    },
    why: "patch: reports each configuration object's validity and usage in its status",
  },
  {
    rule: {
      apiGroups: [GROUP],
      resources: ["nodeclaims"],
      verbs: ["create", "get", "list", "watch", "patch", "delete"],
    },
    why: "create/get/delete: nodeclaim_writer.ts and daemon/kube_actions.ts; patch: the join " +
      "token id annotation and the finalizer's release; list/watch: the NodeClaim informer " +
      "and the token sweep's recorded ids",
  },
  {
    rule: { apiGroups: [GROUP], resources: ["nodeclaims/status"], verbs: ["patch"] },
    why: "patch: the claim's VMID, host, node and conditions",
  },
  {
    rule: {
      apiGroups: ["apiextensions.k8s.io"],
      resources: ["customresourcedefinitions"],
      verbs: ["get"],
      resourceNames: CRD_NAMES,
    },
    why: "get: `proxscale diagnose` checks proxscale's own four CRDs are installed, by name only",
  },
];

/** Rules in proxscale's own namespace (a Role, not cluster-wide). */
export const NAMESPACE_RULE_DOCS: DocumentedRule[] = [
  {
    rule: {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "create", "update"],
    },
    why: "get/create/update: leader_elector.ts reads the Lease, creates it on 404 and renews " +
      "it with the resourceVersion it read",
  },
  {
    rule: { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
    why: "get: the settings and maintenance ConfigMaps and the token ledger; list/watch: " +
      "config_watcher.ts hot-reloads the settings ConfigMap",
  },
  {
    rule: { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
    why: "create: the first join token minted creates the token ledger ConfigMap (create " +
      "cannot be limited to a name)",
  },
  {
    rule: {
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["patch"],
      resourceNames: [TOKEN_LEDGER_CONFIGMAP, CONFIG_HISTORY_CONFIGMAP],
    },
    why:
      `patch: records and forgets minted join token ids in ConfigMap ${TOKEN_LEDGER_CONFIGMAP}, ` +
      `and records applied configuration generations in ${CONFIG_HISTORY_CONFIGMAP}; only those`,
  },
  {
    rule: {
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["patch"],
      resourceNames: [DEMAND_HISTORY_CONFIGMAP],
    },
    why: `patch: the leader stores the NodePools' demand history (scaleUp.forecast) in ConfigMap ` +
      `${DEMAND_HISTORY_CONFIGMAP}, and only that one`,
  },
  {
    rule: { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    why: "get: Provider tokenSecret and Redis password `secret:` references, read by name " +
      "from this namespace only",
  },
];

/**
 * Rules in kube-system: per-node bootstrap-token Secrets (bootstrap_secrets.ts), each named
 * by its token id. No list or watch: a list returns every Secret's data in kube-system.
 */
export const BOOTSTRAP_RULE_DOCS: DocumentedRule[] = [
  {
    rule: { apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "delete"] },
    why: "create: one join token Secret per NodeClaim; get: the expiry sweep reads a recorded " +
      "token's own expiration by name; delete: after registration, a failed launch, the " +
      "claim's end or expiry. Never list or watch",
  },
];

/** Cluster-wide rules (the ClusterRole). */
export const CLUSTER_RULES: PolicyRule[] = CLUSTER_RULE_DOCS.map((d) => d.rule);
/** Rules in proxscale's own namespace (the Role). */
export const NAMESPACE_RULES: PolicyRule[] = NAMESPACE_RULE_DOCS.map((d) => d.rule);
/** Rules in kube-system (the bootstrap Role). */
export const BOOTSTRAP_RULES: PolicyRule[] = BOOTSTRAP_RULE_DOCS.map((d) => d.rule);

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
