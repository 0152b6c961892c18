/**
 * The tenant isolation admission policy shipped in deploy/tenancy/ and the Helm chart: a
 * ValidatingAdmissionPolicy (CEL, evaluated by the API server itself, no webhook server) with
 * its binding. The binding runs the policy once per Tenant (the Tenant is the policy's param):
 * a pod whose namespace is not the Tenant's may not tolerate or select (nodeSelector or required
 * node affinity) that tenant's nodes, labelled and tainted proxscale.io/tenant=<tenant>; a
 * tenant's shared pools' nodes (proxscale.io/tenant-shared=<tenant>) also take pods of
 * namespaces labelled proxscale.io/tenant=<guest> for a guest the Tenant lists under sharing.
 * A toleration of every taint (operator Exists without key) tolerates every tenant's nodes.
 *
 * May import: ../kubernetes/crds.ts (group names).
 */
import { GROUP, VERSION } from "../kubernetes/crds.ts";

/** Name of the shipped policy and of its binding. */
export const TENANT_POLICY_NAME = "proxscale-tenant-isolation";

// CEL fragments over the pod (`object`): does it tolerate or select nodes labelled KEY=VALUE?
const tolerates = (key: string) =>
  `has(object.spec.tolerations) && object.spec.tolerations.exists(t, ` +
  `((!has(t.key) || t.key == '') && has(t.operator) && t.operator == 'Exists') || ` +
  `(has(t.key) && t.key == '${key}' && ((has(t.operator) && t.operator == 'Exists') || ` +
  `(has(t.value) && t.value == params.metadata.name))))`;
const selects = (key: string) =>
  `(has(object.spec.nodeSelector) && '${key}' in object.spec.nodeSelector && ` +
  `object.spec.nodeSelector['${key}'] == params.metadata.name) || ` +
  `(has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && ` +
  `has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) && ` +
  `object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.exists(term, ` +
  `has(term.matchExpressions) && term.matchExpressions.exists(e, e.key == '${key}' && ` +
  `(e.operator == 'Exists' || (e.operator == 'In' && has(e.values) && params.metadata.name in e.values)))))`;

/** Is the request's namespace one of the param Tenant's (listed, or selected by its labels)? */
const MEMBER = "(has(params.spec.namespaces) && request.namespace in params.spec.namespaces) || " +
  "(has(params.spec.namespaceSelector) && namespaceObject != null && " +
  "has(namespaceObject.metadata.labels) && " +
  "params.spec.namespaceSelector.matchLabels.all(k, " +
  "k in namespaceObject.metadata.labels && " +
  "namespaceObject.metadata.labels[k] == params.spec.namespaceSelector.matchLabels[k]))";

/**
 * The label that takes a namespace out of the tenant policies' scope: for the namespaces of node
 * agents (CNI, monitoring, log shippers) whose DaemonSets tolerate every taint and so every
 * tenant's nodes. Labelling a namespace is a cluster administrator's act, not a tenant's.
 */
export const TENANCY_EXEMPT_LABEL = "proxscale.io/tenancy-exempt";

/** Outside the bindings: kube-system (kube-proxy, CNI) and namespaces labelled exempt. */
const OUTSIDE_TENANCY = {
  namespaceSelector: {
    matchExpressions: [{
      key: "kubernetes.io/metadata.name",
      operator: "NotIn",
      values: ["kube-system"],
    }, {
      key: TENANCY_EXEMPT_LABEL,
      operator: "DoesNotExist",
    }],
  },
};

/** Name of the optional mutating policy and of its binding. */
export const TENANT_DEFAULTS_POLICY_NAME = "proxscale-tenant-defaults";

/**
 * The optional MutatingAdmissionPolicy (admissionregistration.k8s.io/v1alpha1, Kubernetes 1.32+
 * where the alpha API is enabled) and its binding: a new pod of a tenant's namespace gets the
 * tenant's toleration and, unless it already selects a tenant label, the tenant's nodeSelector,
 * so it lands on the tenant's own nodes without writing either.
 */
export function tenantDefaultsObjects(): Record<string, unknown>[] {
  const toleration = "Object.spec.tolerations{key: 'proxscale.io/tenant', operator: 'Equal', " +
    "value: params.metadata.name, effect: 'NoSchedule'}";
  const policy = {
    apiVersion: "admissionregistration.k8s.io/v1alpha1",
    kind: "MutatingAdmissionPolicy",
    metadata: { name: TENANT_DEFAULTS_POLICY_NAME },
    spec: {
      failurePolicy: "Fail",
      reinvocationPolicy: "Never",
      paramKind: { apiVersion: `${GROUP}/${VERSION}`, kind: "Tenant" },
      matchConstraints: {
        resourceRules: [{
          apiGroups: [""],
          apiVersions: ["v1"],
          operations: ["CREATE"],
          resources: ["pods"],
        }],
      },
      variables: [
        { name: "member", expression: MEMBER },
        {
          name: "tolerated",
          expression: "has(object.spec.tolerations) && object.spec.tolerations.exists(t, " +
            "has(t.key) && t.key == 'proxscale.io/tenant' && has(t.value) && " +
            "t.value == params.metadata.name)",
        },
        {
          name: "selects",
          expression: "has(object.spec.nodeSelector) && " +
            "('proxscale.io/tenant' in object.spec.nodeSelector || " +
            "'proxscale.io/tenant-shared' in object.spec.nodeSelector)",
        },
      ],
      mutations: [{
        patchType: "JSONPatch",
        jsonPatch: {
          expression: "!variables.member ? [] : " +
            "(variables.tolerated ? [] : has(object.spec.tolerations) ? " +
            `[JSONPatch{op: 'add', path: '/spec/tolerations/-', value: ${toleration}}] : ` +
            `[JSONPatch{op: 'add', path: '/spec/tolerations', value: [${toleration}]}]) + ` +
            "(variables.selects ? [] : has(object.spec.nodeSelector) ? " +
            "[JSONPatch{op: 'add', path: '/spec/nodeSelector/proxscale.io~1tenant', " +
            "value: params.metadata.name}] : " +
            "[JSONPatch{op: 'add', path: '/spec/nodeSelector', " +
            "value: {'proxscale.io/tenant': params.metadata.name}}])",
        },
      }],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1alpha1",
    kind: "MutatingAdmissionPolicyBinding",
    metadata: { name: TENANT_DEFAULTS_POLICY_NAME },
    spec: {
      policyName: TENANT_DEFAULTS_POLICY_NAME,
      paramRef: { selector: {}, parameterNotFoundAction: "Allow" },
      matchResources: OUTSIDE_TENANCY,
    },
  };
  return [policy, binding];
}

/** The ValidatingAdmissionPolicy and its binding, in apply order. */
export function tenantIsolationObjects(): Record<string, unknown>[] {
  const policy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: TENANT_POLICY_NAME },
    spec: {
      failurePolicy: "Fail",
      paramKind: { apiVersion: `${GROUP}/${VERSION}`, kind: "Tenant" },
      matchConstraints: {
        resourceRules: [{
          apiGroups: [""],
          apiVersions: ["v1"],
          operations: ["CREATE", "UPDATE"],
          resources: ["pods"],
        }],
      },
      variables: [
        { name: "member", expression: MEMBER },
        {
          name: "guest",
          expression: "has(params.spec.sharing) && has(params.spec.sharing.tenants) && " +
            "namespaceObject != null && has(namespaceObject.metadata.labels) && " +
            "'proxscale.io/tenant' in namespaceObject.metadata.labels && " +
            "namespaceObject.metadata.labels['proxscale.io/tenant'] in params.spec.sharing.tenants",
        },
        {
          name: "wantsPrivate",
          expression: `(${tolerates("proxscale.io/tenant")}) || ${selects("proxscale.io/tenant")}`,
        },
        {
          name: "wantsShared",
          expression: `(${tolerates("proxscale.io/tenant-shared")}) || ${
            selects("proxscale.io/tenant-shared")
          }`,
        },
      ],
      validations: [
        {
          expression: "variables.member || !variables.wantsPrivate",
          reason: "Forbidden",
          messageExpression: "'namespace ' + request.namespace + ' is not in tenant ' + " +
            "params.metadata.name + ': its pods may not tolerate or select the nodes of tenant ' + " +
            "params.metadata.name + ' (proxscale.io/tenant=' + params.metadata.name + ')'",
        },
        {
          expression: "variables.member || variables.guest || !variables.wantsShared",
          reason: "Forbidden",
          messageExpression: "'namespace ' + request.namespace + ' is not in tenant ' + " +
            "params.metadata.name + ' nor in a tenant it shares with: its pods may not tolerate ' + " +
            "'or select the shared nodes of tenant ' + params.metadata.name + " +
            "' (proxscale.io/tenant-shared=' + params.metadata.name + ')'",
        },
      ],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: TENANT_POLICY_NAME },
    spec: {
      policyName: TENANT_POLICY_NAME,
      validationActions: ["Deny"],
      // Every Tenant is a param; with no Tenant the policy has nothing to check.
      paramRef: { selector: {}, parameterNotFoundAction: "Allow" },
      matchResources: OUTSIDE_TENANCY,
    },
  };
  return [policy, binding];
}
