/**
 * Tenancy as an operator meets it: the real `proxscale run --crds` process against the fake
 * cluster, configured by objects applied with kubectl (two Tenants, a pool each and a shared
 * pool of team-a shared with team-b) and the shipped tenant isolation policy, which the fake API
 * server evaluates from its CEL source. Asserted from the outside: kubectl's output, the Events
 * in the tenant's namespace, /metrics, and the VMs on the Proxmox side.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { manifestsFromConfig, renderManifests } from "../adapters/config/crd_manifests.ts";
import { auditVms } from "../fakes/cluster/audit.ts";
import { kubectl } from "./testing/kubectl.ts";
import {
  type RunProcess,
  startPlainCluster,
  startRunProcess,
  yamlConfig,
} from "./testing/run_process.ts";
import type { DemoCluster } from "../harness/cluster.ts";

const root = new URL("../", import.meta.url);

/** The run_process configuration with three tenant pools and two Tenants instead of `general`. */
function tenancyConfig(c: DemoCluster): string {
  const base = yamlConfig(c);
  const pools = base.slice(base.indexOf("nodePools:"), base.indexOf("settings:"));
  const pool = (name: string, tenancy: string) =>
    pools.replace("- name: general", `- name: ${name}`).replace("nodePools:\n", "")
      .replace("machineTemplate: worker", `machineTemplate: worker\n      tenancy: ${tenancy}`);
  return base.replace(
    pools,
    "nodePools:\n" + pool("pool-a", "{ tenant: team-a }") + pool("pool-b", "{ tenant: team-b }") +
      pool("shared", "{ tenant: team-a, shared: true }") + `tenants:
  - name: team-a
    spec:
      namespaces: [a]
      quota: { nodes: 3 }
      sharing: { tenants: [team-b] }
  - name: team-b
    spec:
      namespaces: [b]
      quota: { nodes: 1 }
`,
  );
}

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {proxscale.io/tenant: team-a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {proxscale.io/tenant: team-b}}
`;

/** A Deployment in `ns` whose pods tolerate and select nodes labelled `key=value`. */
function deployment(name: string, ns: string, replicas: number, key: string, value: string) {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      tolerations: [{key: ${key}, operator: Equal, value: ${value}, effect: NoSchedule}]
      nodeSelector: {${key}: ${value}}
      containers:
        - {name: c, image: registry.invalid/pause:3, resources: {requests: {cpu: 1500m, memory: 1Gi}}}
`;
}

const COPYCAT = `apiVersion: v1
kind: Pod
metadata: {name: copycat, namespace: b}
spec:
  tolerations: [{key: proxscale.io/tenant, operator: Equal, value: team-a, effect: NoSchedule}]
  containers: [{name: c, image: registry.invalid/pause:3}]
`;

/** Polls `f` every 250 ms until it returns a value; fails naming `what` after `ms`. */
async function eventually<T>(
  what: string,
  ms: number,
  f: () => Promise<T | undefined>,
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
  name:
    "tenancy end to end: another tenant's toleration is refused by the policy, B never scales " +
    "A's pool, B at quota gets its reason and no VM, and B bursts into A's shared pool",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startPlainCluster(21);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-tenancy-" });
    const env = { KUBECONFIG: `${dir}/kubeconfig`, KUBECACHEDIR: `${dir}/cache`, HOME: dir };
    let daemon: RunProcess | undefined;
    const vmsOf = (pool: string) =>
      auditVms(cluster.pve, { vmidRange: { lower: 1000, upper: 1999 } }).vms.filter((v) =>
        v.claim?.startsWith(`${pool}-`)
      ).length;
    const runningOn = async (app: string, ns: string) => {
      const g = await kubectl(env, [
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        `app=${app}`,
        "-o",
        'jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName}{"\\n"}{end}',
      ]);
      return g.stdout.trim().split("\n").filter((l) => l.startsWith("Running/"));
    };
    try {
      await Deno.writeTextFile(`${dir}/kubeconfig`, cluster.kube.kubeconfig());
      let r = await kubectl(env, [
        "apply",
        "-f",
        new URL("deploy/tenancy/tenant-isolation-policy.yaml", root).pathname,
      ]);
      assert.equal(r.code, 0, r.stderr);
      r = await kubectl(env, ["apply", "-f", "-"], NAMESPACES);
      assert.equal(r.code, 0, r.stderr);
      // The configuration as objects: Providers, templates, pools, Tenants and the settings.
      const objects = renderManifests(manifestsFromConfig(parse(tenancyConfig(cluster))));
      r = await kubectl(env, ["apply", "-f", "-"], objects);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /tenant.proxscale.io\/team-b created/);

      // Tenant B copying A's toleration: refused by the policy, in its words.
      r = await kubectl(env, ["apply", "-f", "-"], COPYCAT);
      assert.notEqual(r.code, 0, r.stdout);
      assert.ok(
        r.stderr.includes(
          `pods "copycat" is forbidden: ValidatingAdmissionPolicy 'proxscale-tenant-isolation' ` +
            `with binding 'proxscale-tenant-isolation' denied request: namespace b is not in ` +
            `tenant team-a: its pods may not tolerate or select the nodes of tenant team-a`,
        ),
        r.stderr,
      );

      // The daemon reads its configuration, Tenants included, from those objects.
      daemon = await startRunProcess(cluster, dir, [], null);

      // B's two pods fill one node of B's pool (its quota); A's pool stays empty.
      r = await kubectl(
        env,
        ["apply", "-f", "-"],
        deployment("web", "b", 2, "proxscale.io/tenant", "team-b"),
      );
      assert.equal(r.code, 0, r.stderr);
      const placed = await eventually("2 pods of b Running", 120_000, async () => {
        const on = await runningOn("web", "b");
        return on.length === 2 ? on : undefined;
      });
      assert.ok(placed.every((l) => l.includes("pool-b-")), placed.join(", "));
      assert.equal(vmsOf("pool-b"), 1);
      assert.equal(vmsOf("pool-a"), 0);

      // Two more: B is at its node quota, so they get TenantQuotaReached in b and no VM.
      r = await kubectl(env, ["scale", "deploy", "web", "-n", "b", "--replicas=4"]);
      assert.equal(r.code, 0, r.stderr);
      const event = await eventually("a TenantQuotaReached Event in b", 60_000, async () => {
        const g = await kubectl(env, [
          "get",
          "events",
          "-n",
          "b",
          "--field-selector",
          "reason=TenantQuotaReached",
          "-o",
          'jsonpath={range .items[*]}{.type}|{.involvedObject.kind}|{.message}{"\\n"}{end}',
        ]);
        const lines = g.stdout.trim().split("\n").filter(Boolean);
        return lines.length >= 2 ? lines : undefined;
      });
      assert.match(event[0]!, /^Warning\|Pod\|tenant 'team-b' node quota 1 reached \(in use 1 VMs/);
      const metrics = await eventually("the blocked-pods gauge", 30_000, async () => {
        const text = await (await fetch(`http://127.0.0.1:${daemon!.port}/metrics`)).text();
        return /proxscale_tenant_quota_blocked_pods\{tenant="team-b"\} 2/.test(text)
          ? text
          : undefined;
      });
      assert.match(metrics, /proxscale_tenant_quota_blocked_pods\{tenant="team-a"\} 0/);
      // A Deployment of B copying A's toleration and selector: its ReplicaSet's pods are refused
      // by the policy, so nothing of it ever waits for A's pool.
      r = await kubectl(
        env,
        ["apply", "-f", "-"],
        deployment("sneaky", "b", 2, "proxscale.io/tenant", "team-a"),
      );
      assert.equal(r.code, 0, r.stderr);
      // Several passes later still one VM for B and none for A, and no pod of the copy exists.
      await new Promise((res) => setTimeout(res, 5_000));
      assert.equal(vmsOf("pool-b"), 1);
      assert.equal(vmsOf("pool-a"), 0);
      assert.equal((await runningOn("web", "b")).length, 2);
      const sneaky = await kubectl(env, [
        "get",
        "pods",
        "-n",
        "b",
        "-l",
        "app=sneaky",
        "-o",
        "name",
      ]);
      assert.equal(sneaky.stdout.trim(), "", "the policy refuses every pod of the copy");

      // B bursts into team-a's shared pool: the policy lets the guest in, proxscale scales it.
      r = await kubectl(
        env,
        ["apply", "-f", "-"],
        deployment("burst", "b", 2, "proxscale.io/tenant-shared", "team-a"),
      );
      assert.equal(r.code, 0, r.stderr);
      const burst = await eventually("2 burst pods of b Running", 120_000, async () => {
        const on = await runningOn("burst", "b");
        return on.length === 2 ? on : undefined;
      });
      assert.ok(burst.every((l) => l.includes("shared-")), burst.join(", "));
      assert.ok(vmsOf("shared") >= 1);
      assert.equal(vmsOf("pool-a"), 0, "B's pods never scale A's own pool");
      assert.equal(vmsOf("pool-b"), 1);
      const claims = await kubectl(env, [
        "get",
        "nodeclaims",
        "-o",
        "jsonpath={.items[*].spec.nodePool}",
      ]);
      assert.ok(!claims.stdout.split(/\s+/).includes("pool-a"), claims.stdout);
    } finally {
      await daemon?.stop();
      await cluster.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
