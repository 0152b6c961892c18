/**
 * The in-cluster install as plain objects: Namespace, ServiceAccount, RBAC (from rbac.ts),
 * Deployment, PodDisruptionBudget, metrics Service and NetworkPolicy. `proxscale manifests`
 * prints them, deploy/proxscale.yaml is their committed output, and the Helm chart is derived
 * from the same objects (helm_chart.ts), so the three cannot drift apart.
 */
import { stringify } from "yaml";
import { type DeployOptions, PVE_TOKEN_DIR } from "./options.ts";
import { podRunArgs } from "./run_options.ts";
import {
  BOOTSTRAP_NAMESPACE,
  BOOTSTRAP_RULES,
  CLUSTER_RULES,
  NAMESPACE_RULES,
  type PolicyRule,
} from "./rbac.ts";

/** A Kubernetes object as written in a manifest. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata:
    & { name: string; namespace?: string; labels?: Record<string, string> }
    & Record<
      string,
      unknown
    >;
} & Record<string, unknown>;

export const NAME = "proxscale";
/** Labels on every object; the selector uses the first one only (selectors are immutable). */
export const LABELS = {
  "app.kubernetes.io/name": NAME,
  "app.kubernetes.io/component": "controller",
  "app.kubernetes.io/part-of": NAME,
};
const SELECTOR = { "app.kubernetes.io/name": NAME };
export const METRICS_SERVICE = "proxscale-metrics";
export const BOOTSTRAP_ROLE = "proxscale-bootstrap-tokens";

/** Default container resources: the daemon stays under 150 MB with 1,000 nodes (issue 6). */
export const DEFAULT_RESOURCES = {
  requests: { cpu: "100m", memory: "128Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};

function meta(name: string, namespace?: string): KubeObject["metadata"] {
  return namespace ? { name, namespace, labels: { ...LABELS } } : { name, labels: { ...LABELS } };
}

function rules(rs: PolicyRule[]): PolicyRule[] {
  return rs.map((r) => ({ ...r, apiGroups: [...r.apiGroups], resources: [...r.resources] }));
}

/** ServiceAccount, ClusterRole(+Binding), Role(+Binding) here and in kube-system. */
export function rbacObjects(ns: string): KubeObject[] {
  const subject = [{ kind: "ServiceAccount", name: NAME, namespace: ns }];
  const ref = (kind: string, name: string) => ({
    apiGroup: "rbac.authorization.k8s.io",
    kind,
    name,
  });
  const rbac = "rbac.authorization.k8s.io/v1";
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(NAME, ns) },
    { apiVersion: rbac, kind: "ClusterRole", metadata: meta(NAME), rules: rules(CLUSTER_RULES) },
    {
      apiVersion: rbac,
      kind: "ClusterRoleBinding",
      metadata: meta(NAME),
      roleRef: ref("ClusterRole", NAME),
      subjects: subject,
    },
    { apiVersion: rbac, kind: "Role", metadata: meta(NAME, ns), rules: rules(NAMESPACE_RULES) },
    {
      apiVersion: rbac,
      kind: "RoleBinding",
      metadata: meta(NAME, ns),
      roleRef: ref("Role", NAME),
      subjects: subject,
    },
    {
      apiVersion: rbac,
      kind: "Role",
      metadata: meta(BOOTSTRAP_ROLE, BOOTSTRAP_NAMESPACE),
      rules: rules(BOOTSTRAP_RULES),
    },
    {
      apiVersion: rbac,
      kind: "RoleBinding",
      metadata: meta(BOOTSTRAP_ROLE, BOOTSTRAP_NAMESPACE),
      roleRef: ref("Role", BOOTSTRAP_ROLE),
      subjects: subject,
    },
  ];
}

/** Values that the Helm chart turns into template expressions (helm_chart.ts). */
export type Templated = {
  replicas: number | string;
  image: string;
  metricsPort: number | string;
  resources: unknown;
  egress: unknown;
};

/** The Deployment: two replicas behind a Lease, locked down, off proxscale's own nodes. */
export function deployment(o: DeployOptions, t: Templated): KubeObject {
  const probe = (path: string, period: number, failures: number) => ({
    httpGet: { path, port: "metrics" },
    periodSeconds: period,
    timeoutSeconds: 5,
    failureThreshold: failures,
  });
  const fieldEnv = (name: string, fieldPath: string) => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(NAME, o.namespace),
    spec: {
      replicas: t.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...SELECTOR } },
      // One at a time: the standby takes the Lease while the other restarts.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: { labels: { ...LABELS } },
        spec: {
          serviceAccountName: NAME,
          priorityClassName: "system-cluster-critical",
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          affinity: {
            // Never on a node proxscale manages: it would drain the node it runs on.
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{
                  matchExpressions: [{ key: "proxscale.io/nodepool", operator: "DoesNotExist" }],
                }],
              },
            },
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{
                weight: 100,
                podAffinityTerm: {
                  labelSelector: { matchLabels: { ...SELECTOR } },
                  topologyKey: "kubernetes.io/hostname",
                },
              }],
            },
          },
          containers: [{
            name: NAME,
            image: t.image,
            imagePullPolicy: "IfNotPresent",
            args: podRunArgs(t.metricsPort),
            env: [
              fieldEnv("POD_NAME", "metadata.name"),
              fieldEnv("POD_NAMESPACE", "metadata.namespace"),
            ],
            ports: [{ name: "metrics", containerPort: t.metricsPort, protocol: "TCP" }],
            livenessProbe: probe("/healthz", 10, 3),
            readinessProbe: probe("/readyz", 5, 2),
            resources: t.resources,
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              runAsNonRoot: true,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumeMounts: [
              { name: "pve-token", mountPath: PVE_TOKEN_DIR, readOnly: true },
              { name: "tmp", mountPath: "/tmp" },
            ],
          }],
          volumes: [
            // optional: a Provider may read its token from a Secret reference or env instead.
            {
              name: "pve-token",
              secret: { secretName: o.pveTokenSecret, defaultMode: 0o440, optional: true },
            },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
}

/** Voluntary disruptions keep one replica (maxUnavailable works with any replica count). */
export function podDisruptionBudget(ns: string): KubeObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(NAME, ns),
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...SELECTOR } } },
  };
}

/** Service in front of /metrics for Prometheus. */
export function metricsService(ns: string, port: number | string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...meta(METRICS_SERVICE, ns),
      annotations: {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(port),
        "prometheus.io/path": "/metrics",
      },
    },
    spec: {
      type: "ClusterIP",
      selector: { ...SELECTOR },
      ports: [{ name: "metrics", port, targetPort: "metrics", protocol: "TCP" }],
    },
  };
}

/** Egress rules: DNS, the API server, the PVE endpoints, and whatever else was asked for. */
export function egressRules(o: DeployOptions): unknown[] {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  const to = (cidr: string) => [{ ipBlock: { cidr } }];
  const dns = {
    to: [{
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    }],
    ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
  };
  const apiServer = o.apiServer.length > 0
    ? o.apiServer.map((t) => ({ to: to(t.cidr), ports: [tcp(t.port)] }))
    : [{ ports: [tcp(443), tcp(6443)] }];
  const pve = o.pveEndpoints.length > 0
    ? o.pveEndpoints.map((t) => ({ to: to(t.cidr), ports: [tcp(t.port)] }))
    : [{ ports: [tcp(8006)] }];
  const extra = o.extraEgress.map((t) => ({ to: to(t.cidr), ports: [tcp(t.port)] }));
  return [dns, ...apiServer, ...pve, ...extra];
}

/** Ingress only to the metrics port; egress only to DNS, the API server and PVE. */
export function networkPolicy(ns: string, port: number | string, egress: unknown): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(NAME, ns),
    spec: {
      podSelector: { matchLabels: { ...SELECTOR } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ ports: [{ protocol: "TCP", port }] }],
      egress,
    },
  };
}

/** Everything but the Namespace and the CRDs, in apply order. */
export function workloadObjects(o: DeployOptions, t: Templated): KubeObject[] {
  return [
    ...rbacObjects(o.namespace),
    deployment(o, t),
    podDisruptionBudget(o.namespace),
    metricsService(o.namespace, t.metricsPort),
    networkPolicy(o.namespace, t.metricsPort, t.egress),
  ];
}

/** The full plain install (CRDs excluded: they live in deploy/crds/). */
export function renderObjects(o: DeployOptions): KubeObject[] {
  const ns: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: meta(o.namespace) };
  return [
    ns,
    ...workloadObjects(o, {
      replicas: o.replicas,
      image: o.image,
      metricsPort: o.metricsPort,
      resources: DEFAULT_RESOURCES,
      egress: egressRules(o),
    }),
  ];
}

/** Header of every generated file. */
export const GENERATED_HEADER =
  "# Generated by `proxscale manifests` (adapters/deploy/). Do not edit; regenerate with:\n" +
  "#   npx -y deno@2.9.6 task deploy\n";

/** Multi-document YAML, the way `kubectl apply -f` reads it. */
export function toYaml(objects: object[], header = ""): string {
  return header + objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
}
