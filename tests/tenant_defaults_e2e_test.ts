/**
 * Tenant defaults as an operator meets them: the real `proxscale run --crds` process against the
 * fake cluster; a Tenant whose defaults name a MachineTemplate and a NodePool of that tenant
 * applied by kubectl without any template. The pool's VMs are made from the tenant's template
 * (counted on the Proxmox side by their cores and memory, and by their NodeClaims), and a change
 * of the Tenant's default reaches the running daemon without a restart.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { manifestsFromConfig, renderManifests } from "../adapters/config/crd_manifests.ts";
import { kubectl } from "./testing/kubectl.ts";
import {
  type RunProcess,
  startPlainCluster,
  startRunProcess,
  yamlConfig,
} from "./testing/run_process.ts";
import type { DemoCluster } from "../harness/cluster.ts";

type Named = { name: string; spec: Record<string, unknown> };

/** Two templates told apart by their one shape: `narrow` 3 vCPUs 5 GiB, `wide` 5 vCPUs 7 GiB. */
const SHAPES = { narrow: { cpu: 3, memory: "5Gi" }, wide: { cpu: 5, memory: "7Gi" } };

/** The run_process configuration with the two templates, Tenant team-a and its bare pool. */
function defaultsConfig(c: DemoCluster) {
  const doc = parse(yamlConfig(c)) as {
    machineTemplates: Named[];
    nodePools: Named[];
    tenants?: Named[];
  };
  const worker = doc.machineTemplates[0]!;
  doc.machineTemplates = Object.entries(SHAPES).map(([name, shape]) => ({
    name,
    spec: { ...worker.spec, shapes: [shape] },
  }));
  const general = doc.nodePools[0]!.spec;
  const { machineTemplate: _none, ...bare } = general;
  doc.nodePools = [{ name: "pool-a", spec: { ...bare, tenancy: { tenant: "team-a" } } }];
  doc.tenants = [{
    name: "team-a",
    spec: { namespaces: ["a"], defaults: { machineTemplate: "narrow", weight: 40 } },
  }];
  return doc;
}

/** A Deployment in namespace a whose pods tolerate and select team-a's nodes, 2 vCPUs each. */
function deployment(replicas: number) {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: proxscale.io/tenant, operator: Equal, value: team-a, effect: NoSchedule}]
      nodeSelector: {proxscale.io/tenant: team-a}
      containers:
        - {name: c, image: registry.invalid/pause:3, resources: {requests: {cpu: "2", memory: 1Gi}}}
`;
}

/** Polls `f` every 250 ms until it returns a value; fails naming `what` after `ms`. */
async function eventually<T>(
  what: string,
  ms: number,
  f: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

Deno.test({
  name: "a pool applied without a template scales up VMs from its Tenant's default template, " +
    "and a changed Tenant default reaches the running daemon without a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startPlainCluster(23);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-tenant-defaults-" });
    const env = { KUBECONFIG: `${dir}/kubeconfig`, KUBECACHEDIR: `${dir}/cache`, HOME: dir };
    let daemon: RunProcess | undefined;
    /** pool-a's VMs on the PVE side, by their size: "3c/5120" (narrow) or "5c/7168" (wide). */
    const vmSizes = () =>
      [...cluster.pve.model.st.vms.values()]
        .filter((vm) => vm.conf.values.get("template") !== "1")
        .filter((vm) => /proxscale\.io\/nodeclaim=pool-a-/.test(vm.conf.description ?? ""))
        .map((vm) => `${vm.conf.values.get("cores")}c/${vm.conf.values.get("memory")}`);
    const reloads = (log: string) => log.split("configuration reloaded").length - 1;
    const count = (sizes: string[], size: string) => sizes.filter((s) => s === size).length;
    const running = async () => {
      const g = await kubectl(env, [
        "get",
        "pods",
        "-n",
        "a",
        "-l",
        "app=web",
        "-o",
        'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
      ]);
      return g.stdout.split("\n").filter((l) => l === "Running").length;
    };
    const claimTemplates = async () => {
      const g = await kubectl(env, [
        "get",
        "nodeclaims",
        "-o",
        'jsonpath={range .items[*]}{.metadata.name} {.spec.nodePool}={.spec.machineTemplate}{"\\n"}{end}',
      ]);
      return g.stdout.trim().split("\n").filter(Boolean);
    };
    try {
      await Deno.writeTextFile(`${dir}/kubeconfig`, cluster.kube.kubeconfig());
      let r = await kubectl(env, ["create", "namespace", "a"]);
      assert.equal(r.code, 0, r.stderr);
      const objects = renderManifests(manifestsFromConfig(defaultsConfig(cluster)));
      r = await kubectl(env, ["apply", "-f", "-"], objects);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /nodepool.proxscale.io\/pool-a created/);
      // The API server stored the pool without template or weight: the CRD defaults neither.
      r = await kubectl(env, ["get", "nodepool", "pool-a", "-o", "json"]);
      const stored = JSON.parse(r.stdout).spec;
      assert.equal(stored.machineTemplate, undefined);
      assert.equal(stored.weight, undefined);

      daemon = await startRunProcess(cluster, dir, [], null);
      r = await kubectl(env, ["apply", "-f", "-"], deployment(2));
      assert.equal(r.code, 0, r.stderr);
      // One 2-vCPU pod fits a narrow VM (3 vCPUs less reserved): two VMs, both narrow.
      await eventually(
        "2 pods of a Running",
        120_000,
        async () => (await running()) === 2 || undefined,
      );
      // A few more passes: a node whose tenant label is not synced yet must not make the pool
      // launch a second pair of VMs for pods already placed on it.
      await new Promise((r) => setTimeout(r, 3_000));
      const first = vmSizes();
      assert.equal(first.length, 2, first.join(", "));
      assert.equal(count(first, "3c/5120"), first.length, first.join(", "));
      const claimsFirst = await claimTemplates();
      assert.ok(claimsFirst.every((l) => l.endsWith(" pool-a=narrow")), claimsFirst.join(", "));

      // The Tenant's default changes while the daemon runs: new VMs are wide ones.
      const reloadsBefore = reloads(daemon.stdout());
      r = await kubectl(env, [
        "patch",
        "tenant",
        "team-a",
        "--type=merge",
        "-p",
        '{"spec":{"defaults":{"machineTemplate":"wide"}}}',
      ]);
      assert.equal(r.code, 0, r.stderr);
      // The daemon logs the reload of the configuration the changed Tenant gives.
      await eventually(
        "the daemon to reload its configuration",
        60_000,
        () => reloads(daemon!.stdout()) > reloadsBefore || undefined,
      );
      const before = await claimTemplates();
      r = await kubectl(env, ["scale", "deploy", "web", "-n", "a", "--replicas=4"]);
      assert.equal(r.code, 0, r.stderr);
      await eventually(
        "4 pods of a Running",
        180_000,
        async () => (await running()) === 4 || undefined,
      );
      const wide = await eventually("a wide VM of pool-a", 60_000, () => {
        const sizes = vmSizes();
        return count(sizes, "5c/7168") >= 1 ? sizes : undefined;
      });
      // No narrow VM was made after the change (drift may have replaced the first ones).
      const narrowClaims = before.filter((l) => l.endsWith("=narrow")).length;
      assert.ok(count(wide, "3c/5120") <= narrowClaims, `${before.join(", ")}: ${wide.join(", ")}`);
      // Every NodeClaim made after the change names the new default template.
      const made = (await claimTemplates()).filter((l) => !before.includes(l));
      assert.ok(made.length >= 1, made.join(", "));
      assert.ok(made.every((l) => l.endsWith(" pool-a=wide")), made.join(", "));
    } finally {
      await daemon?.stop();
      await cluster.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
