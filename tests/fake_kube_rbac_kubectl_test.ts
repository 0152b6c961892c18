/**
 * kubectl 1.32 against the fake API server, as an administrator would check an install: apply
 * deploy/crds/ and deploy/proxscale.yaml, then ask `kubectl auth can-i … --as=<proxscale's
 * ServiceAccount>`, `kubectl auth whoami` and `kubectl auth can-i --list`. The answers come from
 * the RBAC objects just applied and nothing else, so they say exactly what the shipped RBAC
 * grants; a token from `kubectl create token` is refused outside it with the apiserver's 403.
 */
import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";

const SA = "system:serviceaccount:proxscale-system:proxscale";
const root = new URL("../", import.meta.url);

type Run = { code: number; stdout: string; stderr: string };

async function withKubectl(fn: (kubectl: (...args: string[]) => Promise<Run>) => Promise<void>) {
  const fake = await startFakeKube({ seed: 21 });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-rbac-kubectl-" });
  try {
    await Deno.writeTextFile(`${dir}/kubeconfig`, fake.kubeconfig());
    await Deno.mkdir(`${dir}/cache`);
    const kubectl = async (...args: string[]): Promise<Run> => {
      const out = await new Deno.Command("kubectl", {
        args,
        cwd: root.pathname,
        env: { KUBECONFIG: `${dir}/kubeconfig`, KUBECACHEDIR: `${dir}/cache`, HOME: dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const applied = await kubectl("apply", "-f", "deploy/crds/", "-f", "deploy/proxscale.yaml");
    assert.equal(applied.code, 0, applied.stderr);
    await fn(kubectl);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kubectl auth can-i as proxscale's ServiceAccount answers exactly what the shipped RBAC grants", async () => {
  await withKubectl(async (kubectl) => {
    const cases: [string[], "yes" | "no"][] = [
      [["create", "nodes"], "no"],
      [["list", "pods"], "yes"],
      [["list", "pods", "--all-namespaces"], "yes"],
      [["create", "pods", "--subresource=eviction"], "yes"],
      [["delete", "namespaces"], "no"],
      [["create", "nodeclaims.proxscale.io"], "yes"],
      [["delete", "nodepools.proxscale.io"], "no"],
      [["patch", "nodepools.proxscale.io", "--subresource=status"], "yes"],
      [["list", "secrets", "-n", "kube-system"], "no"],
      [["watch", "secrets", "-n", "kube-system"], "no"],
      [["list", "secrets", "--all-namespaces"], "no"],
      [["get", "secrets", "-n", "kube-system"], "yes"],
      [["delete", "secrets", "-n", "kube-system"], "yes"],
      [["patch", "configmaps/proxscale-bootstrap-tokens", "-n", "proxscale-system"], "yes"],
      [["patch", "configmaps/proxscale-settings", "-n", "proxscale-system"], "no"],
      [["get", "secrets", "-n", "proxscale-system"], "yes"],
      [["list", "secrets", "-n", "default"], "no"],
      [["update", "leases.coordination.k8s.io", "-n", "proxscale-system"], "yes"],
      [["update", "leases.coordination.k8s.io", "-n", "default"], "no"],
      [["get", "customresourcedefinitions/nodepools.proxscale.io"], "yes"],
      [["get", "customresourcedefinitions/widgets.example.com"], "no"],
      [["get", "/version"], "yes"],
      [["get", "/metrics"], "no"],
    ];
    const got: string[] = [];
    for (const [args] of cases) {
      const r = await kubectl("auth", "can-i", ...args, `--as=${SA}`);
      const answer = r.stdout.trim();
      got.push(`${args.join(" ")}: ${answer}`);
      assert.equal(r.code, answer === "yes" ? 0 : 1, `${args.join(" ")}: ${r.stderr}`);
    }
    assert.deepEqual(got, cases.map(([args, want]) => `${args.join(" ")}: ${want}`));
    // The administrator (system:masters) may do anything; impersonating needs that right.
    assert.equal((await kubectl("auth", "can-i", "create", "nodes")).stdout.trim(), "yes");
  });
});

Deno.test("kubectl auth whoami and can-i --list show the ServiceAccount and its rules", async () => {
  await withKubectl(async (kubectl) => {
    const who = await kubectl("auth", "whoami", `--as=${SA}`);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^Username\s+system:serviceaccount:proxscale-system:proxscale$/m);
    assert.match(
      who.stdout,
      /^Groups\s+\[system:serviceaccounts system:serviceaccounts:proxscale-system system:authenticated\]$/m,
    );
    const list = await kubectl("auth", "can-i", "--list", `--as=${SA}`, "-n", "proxscale-system");
    assert.equal(list.code, 0, list.stderr);
    const row = (resource: string) =>
      list.stdout.split("\n").filter((l) => l.split(/\s+/)[0] === resource).map((l) =>
        l.replace(/\s+/g, " ").trim()
      );
    assert.deepEqual(row("nodeclaims.proxscale.io"), [
      "nodeclaims.proxscale.io [] [] [create get list watch patch delete]",
    ]);
    assert.deepEqual(row("secrets"), ["secrets [] [] [get]"]);
    assert.deepEqual(row("leases.coordination.k8s.io"), [
      "leases.coordination.k8s.io [] [] [get create update]",
    ]);
    assert.deepEqual(row("customresourcedefinitions.apiextensions.k8s.io").length, 5);
    assert.deepEqual(row("namespaces"), ["namespaces [] [] [list watch]"]);
    const system = await kubectl("auth", "can-i", "--list", `--as=${SA}`, "-n", "kube-system");
    assert.match(system.stdout, /^secrets\s+\[\]\s+\[\]\s+\[create get delete\]$/m);
  });
});

Deno.test("a token from kubectl create token is refused outside the shipped RBAC with the apiserver's 403", async () => {
  await withKubectl(async (kubectl) => {
    const t = await kubectl("create", "token", "proxscale", "-n", "proxscale-system");
    assert.equal(t.code, 0, t.stderr);
    const token = t.stdout.trim();
    assert.equal((await kubectl("--token", token, "get", "nodes")).code, 0);
    const secrets = await kubectl("--token", token, "get", "secrets", "-n", "default");
    assert.equal(secrets.code, 1);
    assert.equal(
      secrets.stderr.trim(),
      'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:proxscale-system:proxscale" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
    const impersonate = await kubectl("--token", token, "get", "pods", "--as=alice");
    assert.match(
      impersonate.stderr,
      /users "alice" is forbidden: User "system:serviceaccount:proxscale-system:proxscale" cannot impersonate resource "users" in API group "" at the cluster scope/,
    );
  });
});
