/**
 * Every generated file under deploy/ (except deploy/crds/, which adapters/kubernetes/crds.ts
 * owns, and the systemd environment example): path -> exact text. `deno task deploy` writes them; tests/packaging_deploy_test.ts
 * checks the committed copies are current.
 */
import { dashboardJson } from "./grafana.ts";
import { renderChart } from "./helm_chart.ts";
import { GENERATED_HEADER, renderObjects, toYaml } from "./manifests.ts";
import { DEFAULT_OPTIONS } from "./options.ts";
import { systemdUnit } from "./systemd_unit.ts";
import { prometheusRule } from "./alerts.ts";
import { tenantDefaultsObjects, tenantIsolationObjects } from "./tenancy_policy.ts";

/** Relative path from the repository root -> file text. */
export function generatedDeployFiles(): Record<string, string> {
  return {
    "deploy/proxscale.yaml": toYaml(renderObjects(DEFAULT_OPTIONS), GENERATED_HEADER),
    "deploy/grafana-dashboard.json": dashboardJson(),
    // Apart from proxscale.yaml: it needs the prometheus-operator CRDs.
    "deploy/prometheus-rules.yaml": toYaml(
      [prometheusRule(DEFAULT_OPTIONS.namespace)],
      GENERATED_HEADER,
    ),
    "deploy/systemd/proxscale.service": systemdUnit(),
    "deploy/tenancy/tenant-isolation-policy.yaml": toYaml(
      tenantIsolationObjects() as never,
      GENERATED_HEADER,
    ),
    "deploy/tenancy/tenant-defaults-mutating-policy.yaml": toYaml(
      tenantDefaultsObjects() as never,
      GENERATED_HEADER,
    ),
    ...renderChart(),
  };
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  for (const [path, text] of Object.entries(generatedDeployFiles())) {
    const url = new URL(path, root);
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, text);
    console.log(`wrote ${path}`);
  }
}
