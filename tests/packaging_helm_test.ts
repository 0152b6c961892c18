/**
 * The Helm chart renders the same objects as `proxscale manifests`. Helm is not available here,
 * so the chart's templates are rendered by the few template forms the generator emits
 * (helm_chart.ts TEMPLATE_FORMS); any other template text fails the test.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { CHART_DIR, renderChart } from "../adapters/deploy/helm_chart.ts";
import {
  type ChartValues,
  defaultChartValues,
  renderChartObjects,
} from "../adapters/deploy/helm_render.ts";
import { type KubeObject, renderObjects } from "../adapters/deploy/manifests.ts";
import { DEFAULT_OPTIONS, type DeployOptions } from "../adapters/deploy/options.ts";
import { renderCrds } from "../adapters/kubernetes/crds.ts";
import {
  tenantDefaultsObjects,
  tenantIsolationObjects,
} from "../adapters/deploy/tenancy_policy.ts";

type Values = ChartValues;
const renderChartLite = renderChartObjects;
const defaultValues = defaultChartValues;

const key = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
// The tenant isolation policy ships separately (deploy/tenancy/), checked on its own below.
const isPolicy = (o: KubeObject) => o.kind.startsWith("ValidatingAdmissionPolicy");
const isAnyPolicy = (o: KubeObject) => isPolicy(o) || o.kind.startsWith("MutatingAdmissionPolicy");
const sorted = (objs: KubeObject[]) =>
  [...objs].sort((a, b) => key(a).localeCompare(key(b))).filter((o) =>
    o.kind !== "Namespace" && !isAnyPolicy(o)
  );

Deno.test("the Helm chart renders the tenant isolation policy of deploy/tenancy unless disabled", () => {
  const values = defaultValues();
  const policy = renderChartLite(values, DEFAULT_OPTIONS.namespace).filter(isPolicy);
  assert.deepEqual(policy, tenantIsolationObjects());
  Object.assign(values, { tenantIsolationPolicy: { enabled: false } });
  assert.equal(renderChartLite(values, DEFAULT_OPTIONS.namespace).filter(isPolicy).length, 0);
  // The mutating policy is opt-in (an alpha API in Kubernetes 1.32).
  const mutating = (o: KubeObject) => o.kind.startsWith("MutatingAdmissionPolicy");
  assert.equal(renderChartLite(values, DEFAULT_OPTIONS.namespace).filter(mutating).length, 0);
  Object.assign(values, { tenantDefaultsPolicy: { enabled: true } });
  assert.deepEqual(
    renderChartLite(values, DEFAULT_OPTIONS.namespace).filter(mutating),
    tenantDefaultsObjects(),
  );
});

Deno.test("the Helm chart with its default values renders what proxscale manifests prints", () => {
  const chart = renderChartLite(defaultValues(), DEFAULT_OPTIONS.namespace);
  assert.deepEqual(sorted(chart), sorted(renderObjects(DEFAULT_OPTIONS)));
});

Deno.test("Helm values change the same fields as the manifests options", () => {
  const values = defaultValues();
  const options: DeployOptions = {
    ...DEFAULT_OPTIONS,
    namespace: "autoscaler",
    replicas: 3,
    image: "registry.lan/proxscale:1.2.3",
    metricsPort: 9090,
    pveTokenSecret: "pve",
    pveEndpoints: [{ cidr: "10.0.0.11/32", port: 8006 }],
  };
  const plain = renderObjects(options);
  const np = plain.find((o) => o.kind === "NetworkPolicy") as unknown as {
    spec: { egress: unknown };
  };
  Object.assign(values, {
    replicas: 3,
    image: options.image,
    metricsPort: 9090,
    pveTokenSecret: "pve",
    networkPolicy: { enabled: true, egress: np.spec.egress },
  });
  assert.deepEqual(sorted(renderChartLite(values, "autoscaler")), sorted(plain));
  values.networkPolicy = { enabled: false, egress: [] };
  const without = renderChartLite(values, "autoscaler").filter((o) => !isAnyPolicy(o));
  assert.ok(!without.some((o) => o.kind === "NetworkPolicy"));
  assert.equal(without.length, sorted(plain).length - 1);
});

Deno.test("the chart ships the generated CRDs in crds/ and a v2 Chart.yaml", () => {
  const files = renderChart();
  for (const [file, text] of Object.entries(renderCrds())) {
    assert.equal(files[`${CHART_DIR}/crds/${file}`], text);
  }
  const chart = parse(files[`${CHART_DIR}/Chart.yaml`]!);
  assert.equal(chart.apiVersion, "v2");
  assert.equal(chart.name, "proxscale");
  assert.match(chart.version, /^\d+\.\d+\.\d+$/);
});
