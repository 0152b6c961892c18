/**
 * Renders the generated Helm chart without Helm: the chart uses only the template forms listed
 * in helm_chart.ts `TEMPLATE_FORMS`, and this is an interpreter for exactly those. Tests and the
 * install checks render the chart with it (default values from values.yaml, or overrides) and
 * read the objects a `helm install` would apply.
 *
 * May import: core/, adapters/.
 */
import { parse, parseAllDocuments, stringify } from "yaml";
import { CHART_DIR, renderChart } from "./helm_chart.ts";
import type { KubeObject } from "./manifests.ts";

/** Chart values, as values.yaml holds them. */
export type ChartValues = Record<string, unknown>;

function lookup(values: ChartValues, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (v, k) => (v && typeof v === "object" ? (v as ChartValues)[k] : undefined),
    values,
  );
}

/** Renders one template; throws on template text outside the supported forms. */
export function renderTemplate(text: string, values: ChartValues, namespace: string): string {
  let out = text.replace(
    /\{\{- if \.Values\.([\w.]+) \}\}\n([\s\S]*?)\{\{- end \}\}\n/g,
    (_m, path: string, body: string) => (lookup(values, path) ? body : ""),
  );
  out = out.replace(
    /\s*\{\{- toYaml \.Values\.([\w.]+) \| nindent (\d+) \}\}/g,
    (_m, path: string, n: string) => {
      const pad = " ".repeat(Number(n));
      return "\n" + stringify(lookup(values, path)).trimEnd().split("\n").map((l) => pad + l)
        .join("\n");
    },
  );
  out = out.replaceAll("{{ .Release.Namespace }}", namespace);
  out = out.replace(
    /\{\{ \.Values\.([\w.]+) \| quote \}\}/g,
    (_m, p: string) => JSON.stringify(String(lookup(values, p))),
  );
  out = out.replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, p: string) => String(lookup(values, p)));
  if (out.includes("{{")) throw new Error(`unsupported template text left:\n${out}`);
  return out;
}

/** The chart's default values (its values.yaml). */
export function defaultChartValues(): ChartValues {
  return parse(renderChart()[`${CHART_DIR}/values.yaml`]!);
}

/** Every object the chart's templates render to with `values` in `namespace`. */
export function renderChartObjects(values: ChartValues, namespace: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [path, text] of Object.entries(renderChart())) {
    if (!path.startsWith(`${CHART_DIR}/templates/`)) continue;
    const rendered = renderTemplate(text, values, namespace);
    for (const d of parseAllDocuments(rendered)) {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.join("; ")}`);
      const o = d.toJS();
      if (o) objects.push(o);
    }
  }
  return objects;
}
