/**
 * The Kubernetes half of `proxscale diagnose`: is the API server reachable, are proxscale's
 * CRDs installed, and may the identity in use make every call the daemon makes. Permissions are
 * asked with SelfSubjectAccessReview (what `kubectl auth can-i` does), one per verb of each rule
 * in adapters/deploy/rbac.ts, so nothing is written; a denied verb is a FAIL line naming the rule.
 */
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_RULES,
  CLUSTER_RULES,
  CRD_NAMES,
  NAMESPACE_RULES,
  type PolicyRule,
} from "../adapters/deploy/rbac.ts";
import type { Check } from "./diagnose_pve.ts";

type Ask = { verb: string; group: string; resource: string; subresource?: string; name?: string };

/** Every (verb, resource) the rules grant, as SelfSubjectAccessReview attributes. */
export function rulesToAsks(rules: PolicyRule[]): { rule: PolicyRule; asks: Ask[] }[] {
  return rules.map((rule) => ({
    rule,
    asks: rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((res) => {
        const [resource, subresource] = res.split("/") as [string, string | undefined];
        return rule.verbs.flatMap((verb) =>
          (rule.resourceNames?.length ? rule.resourceNames : [undefined]).map((name) => ({
            verb,
            group,
            resource,
            ...(subresource ? { subresource } : {}),
            ...(name ? { name } : {}),
          }))
        );
      })
    ),
  }));
}

async function canI(kube: KubeClient, a: Ask, namespace?: string): Promise<boolean | string> {
  const r = await kube.requestJson(
    "POST",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { ...a, ...(namespace ? { namespace } : {}) } },
      },
    },
  );
  if (!r.ok) return r.error.message;
  return (r.value.body as { status?: { allowed?: boolean } })?.status?.allowed === true;
}

const ruleText = (r: PolicyRule) =>
  `${r.verbs.join(",")} ${r.resources.join(",")}${
    r.apiGroups[0] ? `.${r.apiGroups.join(",")}` : ""
  }${r.resourceNames ? ` (${r.resourceNames.length} named)` : ""}`;

/** All Kubernetes checks for the identity `kube` authenticates as. */
export async function kubeChecks(kube: KubeClient, namespace: string): Promise<Check[]> {
  const checks: Check[] = [];
  const v = await kube.requestJson("GET", "/version");
  if (!v.ok) {
    checks.push({
      name: "kubernetes: API reachable",
      ok: false,
      detail: v.error.message,
      fix: "check the kubeconfig (server, CA, credentials) or run in-cluster",
    });
    return checks;
  }
  const ver = v.value.body as { gitVersion?: string };
  checks.push({
    name: "kubernetes: API reachable",
    ok: true,
    detail: `Kubernetes ${ver.gitVersion ?? "?"}`,
  });

  const groups: [PolicyRule[], string | undefined, string][] = [
    [CLUSTER_RULES, undefined, "ClusterRole proxscale"],
    [NAMESPACE_RULES, namespace, `Role proxscale in ${namespace}`],
    [BOOTSTRAP_RULES, BOOTSTRAP_NAMESPACE, `Role proxscale-bootstrap in ${BOOTSTRAP_NAMESPACE}`],
  ];
  for (const [rules, ns, where] of groups) {
    for (const { rule, asks } of rulesToAsks(rules)) {
      const denied: string[] = [];
      let error: string | undefined;
      for (const a of asks) {
        const r = await canI(kube, a, ns);
        if (typeof r === "string") error = r;
        else if (!r) {
          denied.push(`${a.verb} ${a.subresource ? `${a.resource}/${a.subresource}` : a.resource}`);
        }
      }
      const name = `kubernetes: may ${ruleText(rule)}${ns ? ` in ${ns}` : ""}`;
      if (error !== undefined) {
        checks.push({
          name,
          ok: false,
          detail: `SelfSubjectAccessReview failed: ${error}`,
          fix: "the API server must serve authorization.k8s.io/v1",
        });
      } else if (denied.length > 0) {
        checks.push({
          name,
          ok: false,
          detail: `denied: ${[...new Set(denied)].join(", ")}`,
          fix:
            `apply deploy/proxscale.yaml (${where} and its binding to proxscale's ServiceAccount)`,
        });
      } else checks.push({ name, ok: true, detail: "allowed" });
    }
  }

  for (const crd of CRD_NAMES) {
    const r = await kube.requestJson(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`,
    );
    checks.push(
      r.ok ? { name: `kubernetes: CRD ${crd}`, ok: true, detail: "installed" } : {
        name: `kubernetes: CRD ${crd}`,
        ok: false,
        detail: r.error.message,
        fix: r.error.kind === "Status" && r.error.code === 404
          ? "kubectl apply -f deploy/crds/"
          : "see the permission lines above",
      },
    );
  }
  return checks;
}
