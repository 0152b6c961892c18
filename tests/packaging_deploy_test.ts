/**
 * deploy/: the committed files are exactly what adapters/deploy generates, `proxscale manifests`
 * turns its options into the objects, the RBAC rules decide like the API server would, and the
 * Grafana dashboard only queries proxscale_ metrics from its declared list.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { generatedDeployFiles } from "../adapters/deploy/generate.ts";
import type { KubeObject } from "../adapters/deploy/manifests.ts";
import { rbacAuthorizer } from "../adapters/deploy/rbac.ts";
import { dashboard, DASHBOARD_METRICS } from "../adapters/deploy/grafana.ts";
import { manifestsCommand } from "../cli/manifests.ts";
import { captureIo } from "../cli/command.ts";

const root = new URL("../", import.meta.url);

function docs(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(Boolean);
}

async function manifests(args: string[]) {
  const io = captureIo();
  const code = await manifestsCommand.run(args, io);
  return { code, objects: code === 0 ? docs(io.stdout.join("\n")) : [], err: io.stderr.join("\n") };
}

// deno-lint-ignore no-explicit-any
const byKind = (objs: KubeObject[], kind: string): any => objs.find((o) => o.kind === kind);

Deno.test("committed deploy/ files equal what adapters/deploy generates", async () => {
  for (const [path, text] of Object.entries(generatedDeployFiles())) {
    const committed = await Deno.readTextFile(new URL(path, root));
    assert.equal(committed, text, `${path} is stale: run npx -y deno@2.9.6 task deploy`);
  }
});

Deno.test("deploy/proxscale.yaml is exactly `proxscale manifests` with its defaults", async () => {
  const io = captureIo();
  assert.equal(await manifestsCommand.run([], io), 0);
  const committed = await Deno.readTextFile(new URL("deploy/proxscale.yaml", root));
  assert.equal(io.stdout.join("\n") + "\n", committed);
});

Deno.test("manifests --with-crds prints the five CRDs first, then the install", async () => {
  const { code, objects } = await manifests(["--with-crds"]);
  assert.equal(code, 0);
  assert.deepEqual(
    objects.slice(0, 5).map((o) => o.metadata.name),
    ["nodepools", "machinetemplates", "providers", "nodeclaims", "tenants"].map((p) =>
      `${p}.proxscale.io`
    ),
  );
  assert.equal(objects[5]!.kind, "Namespace");
  const help = captureIo();
  assert.equal(await manifestsCommand.run(["--help"], help), 0);
  assert.match(help.stdout.join("\n"), /--pve-endpoint/);
});

Deno.test("a file under deploy/ declares the ClusterRole", async () => {
  const text = await Deno.readTextFile(new URL("deploy/proxscale.yaml", root));
  assert.match(text, /^kind: ClusterRole$/m);
});

Deno.test("the Deployment runs two locked-down replicas with leader election and probes", async () => {
  const { objects } = await manifests([]);
  const d = byKind(objects, "Deployment");
  assert.equal(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  assert.ok(c.args.includes("--leader-elect"));
  assert.equal(c.livenessProbe.httpGet.path, "/healthz");
  assert.equal(c.readinessProbe.httpGet.path, "/readyz");
  assert.equal(c.livenessProbe.httpGet.port, "metrics");
  assert.equal(c.ports[0].containerPort, 8080);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
  assert.ok(c.resources.limits.memory);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
  assert.equal(pod.serviceAccountName, "proxscale");
  const pdb = byKind(objects, "PodDisruptionBudget");
  assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
  const svc = byKind(objects, "Service");
  assert.equal(svc.spec.ports[0].port, 8080);
});

Deno.test("manifests options set namespace, replicas, image, ports and NetworkPolicy egress", async () => {
  const { code, objects } = await manifests([
    "--namespace=autoscaler",
    "--replicas=3",
    "--image=registry.lan/proxscale:1.2.3",
    "--metrics-port=9090",
    "--pve-endpoint=https://10.0.0.11:8006",
    "--pve-endpoint=10.0.1.0/24",
    "--api-server=192.168.1.10",
    "--egress=10.0.2.5:6379",
  ]);
  assert.equal(code, 0);
  const ns = objects.filter((o) => o.metadata.namespace !== undefined);
  for (const o of ns) {
    assert.ok(["autoscaler", "kube-system"].includes(o.metadata.namespace!), o.kind);
  }
  assert.equal(byKind(objects, "Namespace").metadata.name, "autoscaler");
  const d = byKind(objects, "Deployment");
  assert.equal(d.spec.replicas, 3);
  assert.equal(d.spec.template.spec.containers[0].image, "registry.lan/proxscale:1.2.3");
  assert.ok(d.spec.template.spec.containers[0].args.includes("--http-port=9090"));
  assert.equal(byKind(objects, "ClusterRoleBinding").subjects[0].namespace, "autoscaler");
  const np = byKind(objects, "NetworkPolicy");
  assert.deepEqual(np.spec.ingress, [{ ports: [{ protocol: "TCP", port: 9090 }] }]);
  const egress = np.spec.egress.slice(1).map((
    r: { to: { ipBlock: { cidr: string } }[]; ports: { port: number }[] },
  ) => `${r.to[0]!.ipBlock.cidr}:${r.ports[0]!.port}`);
  assert.deepEqual(egress, [
    "192.168.1.10/32:6443",
    "10.0.0.11/32:8006",
    "10.0.1.0/24:8006",
    "10.0.2.5/32:6379",
  ]);
  assert.equal(np.spec.egress[0].ports[0].port, 53);
});

Deno.test("manifests refuses a PVE host name: a NetworkPolicy needs addresses", async () => {
  const r = await manifests(["--pve-endpoint", "https://pve1.lan:8006"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /matches IP addresses, not names/);
  assert.equal((await manifests(["--replicas", "0"])).code, 2);
  assert.equal((await manifests(["--egress", "10.0.0.1"])).code, 2);
  assert.equal((await manifests(["--namespace", "Bad_NS"])).code, 2);
});

Deno.test("RBAC: leases and settings only in proxscale's namespace, token Secrets only in kube-system", () => {
  const can = rbacAuthorizer("proxscale-system");
  const req = (verb: string, group: string, resource: string, namespace?: string, sub?: string) =>
    can({
      verb,
      group,
      resource,
      ...(namespace ? { namespace } : {}),
      ...(sub ? { subresource: sub } : {}),
    });
  assert.ok(req("update", "coordination.k8s.io", "leases", "proxscale-system"));
  assert.ok(!req("update", "coordination.k8s.io", "leases", "default"));
  assert.ok(!req("delete", "coordination.k8s.io", "leases", "proxscale-system"));
  assert.ok(req("create", "", "secrets", "kube-system"));
  assert.ok(!req("create", "", "secrets", "default"));
  assert.ok(req("get", "", "secrets", "kube-system"));
  assert.ok(!req("list", "", "secrets", "kube-system"));
  assert.ok(!req("watch", "", "secrets", "kube-system"));
  assert.ok(!req("list", "", "secrets", "proxscale-system"));
  assert.ok(req("create", "", "pods", "default", "eviction"));
  assert.ok(!req("create", "", "pods", "default"));
  assert.ok(req("patch", "", "nodes"));
  assert.ok(!req("update", "", "nodes"));
  assert.ok(req("patch", "proxscale.io", "nodeclaims", undefined, "status"));
  assert.ok(!req("patch", "proxscale.io", "nodepools"));
  assert.ok(can({
    verb: "get",
    group: "apiextensions.k8s.io",
    resource: "customresourcedefinitions",
    name: "nodepools.proxscale.io",
  }));
  assert.ok(
    !can({
      verb: "get",
      group: "apiextensions.k8s.io",
      resource: "customresourcedefinitions",
      name: "certificates.cert-manager.io",
    }),
  );
});

Deno.test("the Grafana dashboard queries only its declared proxscale_ metrics", () => {
  const names = new Set<string>(Object.values(DASHBOARD_METRICS));
  for (const n of names) assert.match(n, /^proxscale_[a-z_]+$/);
  const d = dashboard() as { panels: { targets: { expr: string }[] }[] };
  const used = new Set<string>();
  for (const p of d.panels) {
    for (const t of p.targets) {
      for (const m of t.expr.match(/proxscale_[a-z_]+/g) ?? []) {
        const base = m.replace(/_bucket$/, "");
        assert.ok(names.has(base), `${m} is not in DASHBOARD_METRICS`);
        used.add(base);
      }
    }
  }
  assert.deepEqual([...used].sort(), [...names].sort(), "every declared metric has a panel");
});
