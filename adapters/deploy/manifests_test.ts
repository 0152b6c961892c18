/**
 * Tests of manifests.ts: the plain install's objects in apply order, bound to one
 * ServiceAccount, the Deployment starting `proxscale run` with arguments it accepts, and the
 * NetworkPolicy's egress narrowed to exactly the targets given.
 *
 * May import: this folder, core/, adapters/, npm:yaml.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { DEFAULT_OPTIONS, type DeployOptions } from "./options.ts";
import { egressRules, type KubeObject, LABELS, renderObjects, toYaml } from "./manifests.ts";
import { parseRunArgs, type RunSettings } from "./run_options.ts";

const opts = (o: Partial<DeployOptions> = {}): DeployOptions => ({
  ...DEFAULT_OPTIONS,
  namespace: "ops",
  ...o,
});
const find = (objs: KubeObject[], kind: string, ns?: string) =>
  objs.filter((o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns));

Deno.test("objects come Namespace first, then RBAC, then the workload, all labelled", () => {
  const objs = renderObjects(opts());
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}`), [
    "Namespace/",
    "ServiceAccount/ops",
    "ClusterRole/",
    "ClusterRoleBinding/",
    "Role/ops",
    "RoleBinding/ops",
    "Role/kube-system",
    "RoleBinding/kube-system",
    "Deployment/ops",
    "PodDisruptionBudget/ops",
    "Service/ops",
    "NetworkPolicy/ops",
  ]);
  assert.equal(objs[0]!.metadata.name, "ops");
  for (const o of objs) assert.deepEqual(o.metadata.labels, LABELS, o.kind);
});

Deno.test("every binding names the ServiceAccount in the install's namespace and a role that exists", () => {
  const objs = renderObjects(opts());
  const roles = new Set(
    objs.filter((o) => /Role$/.test(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`),
  );
  const bindings = objs.filter((o) => /Binding$/.test(o.kind));
  assert.equal(bindings.length, 3);
  for (const b of bindings) {
    assert.deepEqual(b.subjects, [{ kind: "ServiceAccount", name: "proxscale", namespace: "ops" }]);
    const ref = b.roleRef as { kind: string; name: string };
    assert.ok(roles.has(`${ref.kind}/${ref.name}`), `${b.kind} refers to ${ref.kind}/${ref.name}`);
  }
});

Deno.test("the Deployment starts `proxscale run` with arguments it accepts once the kubelet expands them", () => {
  const [dep] = find(renderObjects(opts({ metricsPort: 9100, replicas: 3 })), "Deployment");
  const spec = dep!.spec as {
    replicas: number;
    template: {
      spec: {
        containers: {
          args: string[];
          env: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }[];
          ports: { containerPort: number }[];
        }[];
      };
    };
  };
  assert.equal(spec.replicas, 3);
  const c = spec.template.spec.containers[0]!;
  assert.equal(c.ports[0]!.containerPort, 9100);
  assert.equal(c.args[0], "run");
  // The kubelet expands $(POD_NAMESPACE) from the env, which takes the pod's namespace.
  const env = c.env.find((e) => e.name === "POD_NAMESPACE");
  assert.equal(env?.valueFrom.fieldRef.fieldPath, "metadata.namespace");
  const args = c.args.slice(1).map((a) => a.replaceAll("$(POD_NAMESPACE)", "ops"));
  const r = parseRunArgs(args, () => "ops");
  assert.ok(r.ok, r.ok ? "" : r.error);
  const s = r.value as RunSettings;
  assert.deepEqual([s.source.kind, s.httpPort, s.lease?.namespace], ["crds", 9100, "ops"]);
});

Deno.test("egress is DNS plus any API server and PVE address when none is given", () => {
  const rules = egressRules(opts()) as { to?: unknown[]; ports: { port: number }[] }[];
  assert.equal(rules.length, 3);
  assert.deepEqual(rules[1]!.ports.map((p) => p.port), [443, 6443]);
  assert.equal(rules[1]!.to, undefined);
  assert.deepEqual(rules[2]!.ports.map((p) => p.port), [8006]);
});

Deno.test("given targets replace the open API server and PVE rules, and extra egress is added", () => {
  const rules = egressRules(opts({
    apiServer: [{ cidr: "10.0.0.1/32", port: 6443 }],
    pveEndpoints: [{ cidr: "10.0.1.0/24", port: 8006 }, { cidr: "10.0.2.5/32", port: 8443 }],
    extraEgress: [{ cidr: "10.0.3.3/32", port: 6379 }],
  })) as { to?: { ipBlock: { cidr: string } }[]; ports: { port: number }[] }[];
  assert.deepEqual(rules.slice(1).map((r) => `${r.to![0]!.ipBlock.cidr}:${r.ports[0]!.port}`), [
    "10.0.0.1/32:6443",
    "10.0.1.0/24:8006",
    "10.0.2.5/32:8443",
    "10.0.3.3/32:6379",
  ]);
  const [policy] = find(renderObjects(opts()), "NetworkPolicy");
  assert.deepEqual((policy!.spec as { policyTypes: string[] }).policyTypes, ["Ingress", "Egress"]);
});

Deno.test("toYaml writes one document per object after the header", () => {
  const objs = renderObjects(opts());
  const text = toYaml(objs, "# head\n");
  assert.ok(text.startsWith("# head\n"));
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  assert.deepEqual(docs.map((d) => d.toJS()), JSON.parse(JSON.stringify(objs)));
});
