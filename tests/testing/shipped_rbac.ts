/**
 * Test helper: puts the RBAC that proxscale ships (the ServiceAccount, ClusterRole, Roles and
 * bindings of deploy/proxscale.yaml, read from the file) into a fake API server, which then
 * enforces exactly those rules, and hands back a token of that ServiceAccount. The install's
 * namespace can be moved (the demo cluster runs proxscale in `default`), and a negative control
 * can drop one verb from the rules.
 */
import { parseAllDocuments } from "yaml";
import type { FakeKube } from "../../fakes/fake_kube/server.ts";

const SHIPPED_NS = "proxscale-system";
const RBAC_KINDS = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
]);
const REFS: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  ClusterRole: "clusterroles.rbac.authorization.k8s.io",
  ClusterRoleBinding: "clusterrolebindings.rbac.authorization.k8s.io",
  Role: "roles.rbac.authorization.k8s.io",
  RoleBinding: "rolebindings.rbac.authorization.k8s.io",
};

type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[] };
type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  subjects?: { namespace?: string }[];
};

/** The ServiceAccount and RBAC objects of deploy/proxscale.yaml, moved to `namespace`. */
export async function shippedRbacObjects(namespace = SHIPPED_NS): Promise<Obj[]> {
  const text = await Deno.readTextFile(new URL("../../deploy/proxscale.yaml", import.meta.url));
  const objs = parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) =>
    o && RBAC_KINDS.has(o.kind)
  );
  const move = (ns: string | undefined) => (ns === SHIPPED_NS ? namespace : ns);
  for (const o of objs) {
    if (o.metadata.namespace) o.metadata.namespace = move(o.metadata.namespace)!;
    for (const s of o.subjects ?? []) if (s.namespace) s.namespace = move(s.namespace)!;
  }
  return objs;
}

/**
 * Applies the shipped RBAC to `kube` (creating `namespace` if needed) and returns a token of
 * the `proxscale` ServiceAccount. `drop` removes one verb on one resource (`nodeclaims`,
 * `pods/eviction`) from every rule, for negative controls.
 */
export async function applyShippedRbac(
  kube: FakeKube,
  namespace = SHIPPED_NS,
  drop?: { resource: string; verb: string },
): Promise<string> {
  if (!kube.store.peek("namespaces", undefined, namespace)) {
    const r = kube.store.create("namespaces", { metadata: { name: namespace } } as never);
    if (!r.ok) throw new Error(`Namespace ${namespace}: ${r.error.message}`);
  }
  for (const o of await shippedRbacObjects(namespace)) {
    if (drop) {
      o.rules = (o.rules ?? []).map((rule) =>
        rule.resources?.includes(drop.resource)
          ? { ...rule, verbs: (rule.verbs ?? []).filter((v) => v !== drop.verb) }
          : rule
      );
    }
    const r = kube.store.create(REFS[o.kind]!, o as never, {
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    });
    if (!r.ok) throw new Error(`${o.kind}/${o.metadata.name}: ${r.error.message}`);
  }
  const t = kube.tokenFor(namespace, "proxscale");
  if (!t.ok) throw new Error(`ServiceAccount token: ${t.error.message}`);
  return t.value.token;
}
