/**
 * The shipped tenant isolation ValidatingAdmissionPolicy, applied with kubectl to the fake API
 * server, which evaluates it from its CEL source: a pod of another tenant's namespace that
 * tolerates or selects a tenant's nodes is refused with 403 Forbidden and the policy's message;
 * the tenant's own pods, guests of a shared pool and kube-system are let through.
 */
import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { kubectl } from "./testing/kubectl.ts";

const root = new URL("../", import.meta.url);

const TENANTS = `apiVersion: proxscale.io/v1alpha1
kind: Tenant
metadata: {name: team-a}
spec:
  namespaces: [a]
  sharing: {tenants: [team-b]}
---
apiVersion: proxscale.io/v1alpha1
kind: Tenant
metadata: {name: team-b}
spec:
  namespaces: [b]
---
apiVersion: proxscale.io/v1alpha1
kind: Tenant
metadata: {name: team-c}
spec:
  namespaceSelector: {matchLabels: {team: c}}
---
apiVersion: v1
kind: Namespace
metadata: {name: c2, labels: {team: c}}
---
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {proxscale.io/tenant: team-a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {proxscale.io/tenant: team-b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: c}
`;

function pod(name: string, ns: string, spec: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  containers: [{name: c, image: registry.invalid/pause:3}]
${spec.replace(/^/gm, "  ")}
`;
}

const TOLERATE_A = "tolerations: [{key: proxscale.io/tenant, value: team-a, effect: NoSchedule}]";

Deno.test("kubectl: the tenant isolation policy refuses pods that tolerate or select another tenant's nodes, with 403 and its message", async () => {
  const dir = await Deno.makeTempDir();
  const fake = await startFakeKube({ seed: 7 });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, fake.kubeconfig());
    const env = { KUBECONFIG: kubeconfig, KUBECACHEDIR: `${dir}/cache`, HOME: dir };
    let r = await kubectl(env, ["apply", "-f", new URL("deploy/crds/", root).pathname]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(env, [
      "wait",
      "--for=condition=Established",
      "--timeout=20s",
      "crd/tenants.proxscale.io",
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(env, [
      "apply",
      "-f",
      new URL("deploy/tenancy/tenant-isolation-policy.yaml", root).pathname,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /validatingadmissionpolicy.admissionregistration.k8s.io\/proxscale-tenant-isolation created/,
    );
    assert.match(r.stdout, /validatingadmissionpolicybinding.admissionregistration.k8s.io\//);
    // Before any Tenant exists the policy has no params and checks nothing.
    r = await kubectl(env, ["apply", "-f", "-"], pod("early", "default", TOLERATE_A));
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(env, ["apply", "-f", "-"], TENANTS);
    assert.equal(r.code, 0, r.stderr);

    const refused = async (name: string, ns: string, spec: string, tenant = "team-a") => {
      const out = await kubectl(env, ["apply", "-f", "-"], pod(name, ns, spec));
      assert.notEqual(out.code, 0, `${name} must be refused: ${out.stdout}`);
      assert.ok(
        out.stderr.includes(
          `Error from server (Forbidden): error when creating "STDIN": pods "${name}" is forbidden: ` +
            `ValidatingAdmissionPolicy 'proxscale-tenant-isolation' with binding ` +
            `'proxscale-tenant-isolation' denied request: namespace ${ns} is not in tenant ${tenant}`,
        ),
        out.stderr,
      );
      return out.stderr;
    };
    const admitted = async (name: string, ns: string, spec: string) => {
      const out = await kubectl(env, ["apply", "-f", "-"], pod(name, ns, spec));
      assert.equal(out.code, 0, `${name} must be admitted: ${out.stderr}`);
    };

    // Tenant B copying A's toleration: refused, the message names the nodes it reached for.
    const text = await refused("copycat", "b", TOLERATE_A);
    assert.match(text, /may not tolerate or select the nodes of tenant team-a/);
    await refused("selector", "b", "nodeSelector: {proxscale.io/tenant: team-a}");
    await refused(
      "affinity",
      "c",
      "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: " +
        "[{matchExpressions: [{key: proxscale.io/tenant, operator: In, values: [team-a]}]}]}}}",
    );
    // Tolerating every taint tolerates every tenant's nodes.
    await refused("everything", "b", "tolerations: [{operator: Exists}]");
    // A namespace of no tenant may not use a shared pool; a guest may; the owner may.
    const shared = "tolerations: [{key: proxscale.io/tenant-shared, value: team-a, " +
      "effect: NoSchedule}]\nnodeSelector: {proxscale.io/tenant-shared: team-a}";
    await refused("stranger", "c", shared);
    await admitted("guest", "b", shared);
    await admitted("owner-shared", "a", shared);
    // A's own pods may tolerate and select A's nodes; B's may use B's.
    await admitted("own", "a", `${TOLERATE_A}\nnodeSelector: {proxscale.io/tenant: team-a}`);
    await admitted(
      "own-b",
      "b",
      "tolerations: [{key: proxscale.io/tenant, operator: Exists}]".replace(
        "operator: Exists",
        "value: team-b",
      ),
    );
    // B may not reach A's shared pool when A stops sharing with B.
    r = await kubectl(env, [
      "patch",
      "tenant",
      "team-a",
      "--type=merge",
      "-p",
      '{"spec":{"sharing":{"tenants":[]}}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await refused("guest-2", "b", shared);
    // A tenant may hold its namespaces by label: c2 carries team=c, c does not.
    const tolerateC =
      "tolerations: [{key: proxscale.io/tenant, value: team-c, effect: NoSchedule}]";
    await admitted("by-label", "c2", tolerateC);
    await refused("no-label", "c", tolerateC, "team-c");
    // kube-system's node agents are out of the binding's scope, and so are those of a namespace
    // the administrator labels exempt; the same pod in an unlabelled namespace is not.
    await admitted("agent", "kube-system", "tolerations: [{operator: Exists}]");
    r = await kubectl(env, ["create", "namespace", "monitoring"]);
    assert.equal(r.code, 0, r.stderr);
    await refused("exporter", "monitoring", "tolerations: [{operator: Exists}]");
    r = await kubectl(env, [
      "label",
      "namespace",
      "monitoring",
      "proxscale.io/tenancy-exempt=true",
    ]);
    assert.equal(r.code, 0, r.stderr);
    await admitted("exporter", "monitoring", "tolerations: [{operator: Exists}]");
    // An update that adds another tenant's toleration is refused too.
    r = await kubectl(env, [
      "patch",
      "pod",
      "own-b",
      "-n",
      "b",
      "--type=json",
      "-p",
      '[{"op":"add","path":"/spec/tolerations/-","value":{"key":"proxscale.io/tenant","operator":"Equal","value":"team-a","effect":"NoSchedule"}}]',
    ]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /pods "own-b" is forbidden: ValidatingAdmissionPolicy/);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubectl: the optional mutating policy gives a tenant's new pods its toleration and selector, and nobody else's", async () => {
  const dir = await Deno.makeTempDir();
  const fake = await startFakeKube({ seed: 7 });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, fake.kubeconfig());
    const env = { KUBECONFIG: kubeconfig, KUBECACHEDIR: `${dir}/cache`, HOME: dir };
    let r = await kubectl(env, ["apply", "-f", new URL("deploy/crds/", root).pathname]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(env, [
      "wait",
      "--for=condition=Established",
      "--timeout=20s",
      "crd/tenants.proxscale.io",
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ["tenant-isolation-policy.yaml", "tenant-defaults-mutating-policy.yaml"]) {
      r = await kubectl(env, ["apply", "-f", new URL(`deploy/tenancy/${f}`, root).pathname]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.match(
      r.stdout,
      /mutatingadmissionpolicy.admissionregistration.k8s.io\/proxscale-tenant-defaults created/,
    );
    r = await kubectl(env, ["apply", "-f", "-"], TENANTS);
    assert.equal(r.code, 0, r.stderr);
    const placement = async (name: string, ns: string) =>
      (await kubectl(env, [
        "get",
        "pod",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.nodeSelector}|{range .spec.tolerations[*]}{.key}={.value};{end}",
      ])).stdout;
    r = await kubectl(env, ["apply", "-f", "-"], pod("plain", "a", "restartPolicy: Always"));
    assert.equal(r.code, 0, r.stderr);
    const a = await placement("plain", "a");
    assert.match(a, /^\{"proxscale\.io\/tenant":"team-a"\}\|/);
    assert.match(a, /proxscale\.io\/tenant=team-a;/);
    // A namespace of no tenant is left alone (beyond the API server's own defaults).
    r = await kubectl(env, ["apply", "-f", "-"], pod("plain", "c", "restartPolicy: Always"));
    assert.equal(r.code, 0, r.stderr);
    const c = await placement("plain", "c");
    assert.ok(!c.includes("proxscale.io/tenant"), c);
    // A guest bursting into a shared pool keeps its own selector; it only gains its toleration.
    r = await kubectl(
      env,
      ["apply", "-f", "-"],
      pod(
        "burst",
        "b",
        "tolerations: [{key: proxscale.io/tenant-shared, value: team-a, effect: NoSchedule}]\n" +
          "nodeSelector: {proxscale.io/tenant-shared: team-a}",
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    const b = await placement("burst", "b");
    assert.match(b, /^\{"proxscale\.io\/tenant-shared":"team-a"\}\|/);
    assert.match(b, /proxscale\.io\/tenant=team-b;/);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
