import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  checkBootstrapTemplate,
  formatTemplateError,
  renderTemplateText,
  type TemplateVars,
} from "./template.ts";

const vars: TemplateVars = {
  node: {
    name: "general-7f3k2",
    vmid: 9001,
    labels: { "proxscale.io/nodepool": "general", "example.com/x": "" },
    taints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }],
    interfaces: [{ name: "net0", mac: "02:00:00:00:23:29:00" }],
  },
  cluster: { caPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
  values: { "ssh.key": "ssh-ed25519 AAAA" },
};

function render(text: string): string {
  const r = renderTemplateText(text, vars);
  if (!r.ok) throw new Error(r.error.map((e) => formatTemplateError(e)).join("\n"));
  return r.value;
}

Deno.test("variables render as text and filters apply left to right", () => {
  assert.equal(render("name: {{ node.name }} vmid={{node.vmid}}"), "name: general-7f3k2 vmid=9001");
  assert.equal(render("{{ node.name | quote }}"), '"general-7f3k2"');
  assert.equal(render("{{ node.name | b64 }}"), btoa("general-7f3k2"));
  assert.equal(render("{{ node.interfaces.0.mac }}"), "02:00:00:00:23:29:00");
  assert.equal(render("{{ values.ssh.key | quote }}"), '"ssh-ed25519 AAAA"');
  assert.deepEqual(JSON.parse(render("{{ node.labels | json }}")), {
    "proxscale.io/nodepool": "general",
    "example.com/x": "",
  });
  assert.equal(atob(render("{{ node.labels | json | b64 }}")), render("{{ node.labels | json }}"));
});

Deno.test("the yaml filter gives one line that parses back to the same value", () => {
  const out = render("taints: {{ node.taints | yaml }}\nca: {{ cluster.caPEM | yaml }}\n");
  assert.equal(out.split("\n").length, 3, "each value stays on its own line");
  assert.deepEqual(parse(out), {
    taints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }],
    ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  });
  assert.deepEqual(parse(`x: ${render("{{ node.vmid | quote }}")}`), { x: "9001" });
});

Deno.test("an unknown variable is reported with its line and column and a suggestion", () => {
  const r = checkBootstrapTemplate("#cloud-config\nhostname: {{ node.nmae }}\nx: {{ foo }}\n");
  assert.ok(!r.ok);
  assert.equal(r.error.length, 2);
  assert.deepEqual(
    [r.error[0]!.kind, r.error[0]!.line, r.error[0]!.col],
    ["UnknownVariable", 2, 14],
  );
  assert.match(r.error[0]!.message, /unknown variable "node\.nmae", did you mean node\.name\?/);
  assert.deepEqual([r.error[1]!.line, r.error[1]!.col], [3, 7]);
  assert.equal(
    formatTemplateError(r.error[0]!, "kubeadm.yaml"),
    'kubeadm.yaml:2:14: unknown variable "node.nmae", did you mean node.name?',
  );
});

Deno.test("syntax problems, unknown filters and maps without a filter are errors, not throws", () => {
  const unclosed = checkBootstrapTemplate("a\nb {{ node.name \nc {{ node.vmid }}");
  assert.ok(!unclosed.ok);
  assert.deepEqual(
    unclosed.error.map((e) => [e.kind, e.line, e.col]),
    [["TemplateSyntax", 2, 3]],
  );
  const filter = checkBootstrapTemplate("{{ node.name | upper }}");
  assert.ok(!filter.ok);
  assert.equal(filter.error[0]!.kind, "UnknownFilter");
  const map = checkBootstrapTemplate("labels: {{ node.labels }}");
  assert.ok(!map.ok);
  assert.equal(map.error[0]!.kind, "NeedsFilter");
  assert.match(map.error[0]!.message, /node\.labels \| yaml/);
  const empty = checkBootstrapTemplate("{{ }}");
  assert.ok(!empty.ok);
  const known = checkBootstrapTemplate(
    "{{ node.labels.anything }} {{ values.whatever-key }} {{ node.taints | yaml }}",
  );
  assert.ok(known.ok);
});

Deno.test("a missing operator value is reported at render time with its position", () => {
  const r = renderTemplateText("ok\n  {{ values.machineToken }}", vars);
  assert.ok(!r.ok);
  assert.deepEqual([r.error[0]!.kind, r.error[0]!.line, r.error[0]!.col], ["MissingValue", 2, 6]);
  assert.match(r.error[0]!.message, /operator Secret/);
});

Deno.test("string literals write braces through, for cloud-init's own jinja", () => {
  assert.equal(
    render('{{ "{{" }} ds.meta_data.zone {{ "}}" }} and {{ "a|b" | quote }}'),
    '{{ ds.meta_data.zone }} and "a|b"',
  );
});
