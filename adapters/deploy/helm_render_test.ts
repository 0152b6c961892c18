/**
 * Tests of helm_render.ts: the interpreter of the chart's few template forms (if blocks,
 * toYaml with nindent, quote, plain values, the release namespace), its refusal of anything
 * else, and the chart rendered with its defaults.
 *
 * May import: this folder, core/, adapters/.
 */
import assert from "node:assert/strict";
import { defaultChartValues, renderChartObjects, renderTemplate } from "./helm_render.ts";
import { DEFAULT_OPTIONS } from "./options.ts";
import { renderObjects } from "./manifests.ts";
import { tenantIsolationObjects } from "./tenancy_policy.ts";

const values = {
  replicas: 2,
  image: { repository: "r/p", tag: "1.0" },
  on: true,
  off: false,
  resources: { limits: { cpu: "1" } },
};

Deno.test("an if block stays when its value is truthy and goes when it is not", () => {
  const text =
    "a: 1\n{{- if .Values.on }}\nb: 2\n{{- end }}\n{{- if .Values.off }}\nc: 3\n{{- end }}\n";
  assert.equal(renderTemplate(text, values, "ns"), "a: 1\nb: 2\n");
  assert.equal(
    renderTemplate("{{- if .Values.missing.deep }}\nx: 1\n{{- end }}\n", values, "n"),
    "",
  );
});

Deno.test("toYaml with nindent writes the value on new lines, indented", () => {
  const text = "spec:\n  resources: {{- toYaml .Values.resources | nindent 4 }}\n";
  assert.equal(
    renderTemplate(text, values, "ns"),
    'spec:\n  resources:\n    limits:\n      cpu: "1"\n',
  );
});

Deno.test("quote, plain values and the release namespace are substituted", () => {
  const text =
    "image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\nn: {{ .Values.replicas | quote }}\nns: {{ .Release.Namespace }}\n";
  assert.equal(renderTemplate(text, values, "tenant"), 'image: r/p:1.0\nn: "2"\nns: tenant\n');
});

Deno.test("template text outside the supported forms is refused", () => {
  assert.throws(
    () => renderTemplate('x: {{ include "name" . }}\n', values, "ns"),
    /unsupported template text/,
  );
});

Deno.test("the chart with its default values renders the plain install's objects and the tenant isolation policy, Namespace aside", () => {
  const chart = renderChartObjects(defaultChartValues(), "proxscale-system");
  // The plain install ships the isolation policy beside it (deploy/tenancy/); the chart has it on.
  const plain = [
    ...renderObjects(DEFAULT_OPTIONS).filter((o) => o.kind !== "Namespace"),
    ...(tenantIsolationObjects() as unknown as ReturnType<typeof renderObjects>),
  ];
  const key = (o: { kind: string; metadata: { name: string; namespace?: string } }) =>
    `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  assert.deepEqual(chart.map(key).sort(), plain.map(key).sort());
  const dep = (objs: typeof chart) => objs.find((o) => o.kind === "Deployment")!;
  assert.deepEqual(dep(chart).spec, JSON.parse(JSON.stringify(dep(plain).spec)));
});

Deno.test("overridden values reach the rendered objects", () => {
  const v = defaultChartValues();
  const chart = renderChartObjects({ ...v, replicas: 5 }, "elsewhere");
  const dep = chart.find((o) => o.kind === "Deployment")!;
  assert.equal((dep.spec as { replicas: number }).replicas, 5);
  assert.equal(dep.metadata.namespace, "elsewhere");
});
