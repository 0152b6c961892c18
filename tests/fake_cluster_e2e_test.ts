/**
 * `proxscale fake-cluster` as a user meets it: the real CLI started as a process, driven with
 * kubectl 1.32 through the kubeconfig it writes, and scaled by `proxscale run` with the
 * configuration it writes. Everything is asserted from the outside: what kubectl prints, which
 * pods run where, what the API server refuses and why.
 */
import assert from "node:assert/strict";
import { kubectl, kubectlEnv } from "./testing/kubectl.ts";
import { eventually, type Proc, spawnProxscale, stopProc } from "./testing/e2e_install.ts";
import { BOOTSTRAP_RULES, CLUSTER_RULES } from "../adapters/deploy/rbac.ts";

const SA = "system:serviceaccount:proxscale-system:proxscale";

/** Whether the shipped RBAC grants `verb` on `resource` (core group) where kubectl asks. */
function shippedGrants(verb: string, resource: string, namespace?: string): boolean {
  // The bootstrap-token Role is the one namespaced grant in kube-system.
  const rules = namespace === "kube-system"
    ? [...CLUSTER_RULES, ...BOOTSTRAP_RULES]
    : CLUSTER_RULES;
  return rules.some((r) =>
    r.apiGroups.includes("") && r.resources.includes(resource) &&
    (r.verbs.includes(verb) || r.verbs.includes("*"))
  );
}

function deployment(name: string, replicas: number, cpu: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - {name: c, image: registry.invalid/pause:3, resources: {requests: {cpu: "${cpu}", memory: 256Mi}}}
`;
}

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      tolerations: [{operator: Exists}]
      containers:
        - {name: c, image: registry.invalid/agent:1, resources: {requests: {cpu: 50m, memory: 32Mi}}}
`;

const BAD_NODEPOOL = `apiVersion: proxscale.io/v1alpha1
kind: NodePool
metadata: {name: impossible}
spec:
  machineTemplate: worker
  minNodes: 5
  limits: {nodes: 2}
`;

Deno.test({
  name: "fake-cluster: kubectl sees Unschedulable pods, scales, runs DaemonSets on the Nodes " +
    "proxscale brings, answers RBAC as shipped, refuses SSA conflicts and invalid NodePools",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const kc = `${dir}/kubeconfig`;
    const cfg = `${dir}/proxscale.yaml`;
    const env = kubectlEnv(kc, dir);
    const cluster = spawnProxscale("fake-cluster", [
      "fake-cluster",
      "--hosts=3",
      "--port=0",
      "--pve-port=0",
      `--kubeconfig=${kc}`,
      `--write-config=${cfg}`,
      "--boot-delay=1",
      "--seed=7",
    ]);
    let run: Proc | undefined;
    try {
      await eventually(
        "fake-cluster to print its URLs",
        60_000,
        () => Promise.resolve(cluster.output().includes("try:") ? true : undefined),
      );
      assert.match(cluster.output(), /kubernetes: +https:\/\/127\.0\.0\.1:\d+/);
      assert.match(cluster.output(), /proxmox: +https:\/\/127\.0\.0\.1:\d+/);
      assert.match(cluster.output(), /fingerprint: +([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      await eventually("kubectl to reach the API server", 20_000, async () => {
        const r = await kubectl(env, ["get", "ns", "default"]);
        return r.code === 0 ? true : undefined;
      });

      // The install as a user applies it; then RBAC answers as the shipped manifests say.
      for (const f of ["deploy/crds/", "deploy/proxscale.yaml"]) {
        const r = await kubectl(env, ["apply", "-f", f]);
        assert.equal(r.code, 0, `kubectl apply -f ${f}: ${r.stderr}`);
      }
      const canI = async (...args: string[]) =>
        (await kubectl(env, ["auth", "can-i", ...args, `--as=${SA}`])).stdout.trim();
      assert.equal(await canI("create", "nodes"), shippedGrants("create", "nodes") ? "yes" : "no");
      assert.equal(await canI("list", "pods"), shippedGrants("list", "pods") ? "yes" : "no");
      assert.equal(await canI("delete", "namespaces"), "no");
      // No Secret is ever listed: a list would return every kube-system credential.
      assert.equal(shippedGrants("list", "secrets", "kube-system"), false);
      assert.equal(await canI("list", "secrets", "-n", "kube-system"), "no");
      assert.equal(await canI("get", "secrets", "-n", "kube-system"), "yes");

      // Five pods that fit nowhere: all Pending with Unschedulable and the scheduler's message.
      let r = await kubectl(env, ["apply", "-f", "-"], deployment("huge", 5, "500"));
      assert.equal(r.code, 0, r.stderr);
      const reasons = await eventually("5 Unschedulable pods", 30_000, async () => {
        const g = await kubectl(env, [
          "get",
          "pods",
          "-l",
          "app=huge",
          "-o",
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].reason}|' +
          '{.status.conditions[?(@.type=="PodScheduled")].message}{"\\n"}{end}',
        ]);
        const lines = g.stdout.trim().split("\n").filter((l) => l.startsWith("Unschedulable|"));
        return lines.length === 5 ? lines : undefined;
      });
      // kube-scheduler's words: with no Node at all, and with Nodes that do not fit.
      for (const line of reasons) {
        assert.match(line, /\|(0\/\d+ nodes are available|no nodes available to schedule pods)/);
      }

      r = await kubectl(env, ["scale", "deploy", "huge", "--replicas=2"]);
      assert.equal(r.code, 0, r.stderr);
      await eventually("huge scaled to 2 pods", 30_000, async () => {
        const g = await kubectl(env, ["get", "pods", "-l", "app=huge", "-o", "name"]);
        return g.stdout.trim().split("\n").filter(Boolean).length === 2 ? true : undefined;
      });

      // Server-side apply by another manager that changes replicas someone else set: 409.
      r = await kubectl(
        env,
        ["apply", "--server-side", "--field-manager=alice", "-f", "-"],
        deployment("huge", 3, "500"),
      );
      assert.notEqual(r.code, 0, "a conflicting server-side apply must fail");
      assert.match(r.stderr, /conflict/i);
      assert.match(r.stderr, /\.spec\.replicas/);

      // An invalid NodePool is refused with its CEL rule's own message.
      r = await kubectl(env, ["apply", "-f", "-"], BAD_NODEPOOL);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /minNodes must not exceed limits\.nodes/);

      // proxscale scales the cluster: its VMs boot, kubelets register Nodes, the pods run.
      run = spawnProxscale("run", [
        "run",
        `--config=${cfg}`,
        `--kubeconfig=${kc}`,
        "--http-port=0",
      ]);
      r = await kubectl(env, ["apply", "-f", "-"], deployment("web", 4, "500m"));
      assert.equal(r.code, 0, r.stderr);
      await eventually("4 web pods Running", 90_000, async () => {
        const g = await kubectl(env, [
          "get",
          "pods",
          "-l",
          "app=web",
          "-o",
          'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
        ]);
        return g.stdout.trim().split("\n").filter((p) => p === "Running").length === 4
          ? true
          : undefined;
      });

      // A DaemonSet gets one pod on every Node.
      r = await kubectl(env, ["apply", "-f", "-"], DAEMONSET);
      assert.equal(r.code, 0, r.stderr);
      const { nodes, placed } = await eventually(
        "a DaemonSet pod on every Node",
        30_000,
        async () => {
          const n = await kubectl(env, [
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[*].metadata.name}",
          ]);
          const p = await kubectl(env, [
            "get",
            "pods",
            "-l",
            "app=agent",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
          ]);
          const nodes = n.stdout.trim().split(/\s+/).filter(Boolean).sort();
          const placed = p.stdout.trim().split(/\s+/).filter(Boolean).sort();
          return nodes.length > 0 && JSON.stringify(nodes) === JSON.stringify(placed)
            ? { nodes, placed }
            : undefined;
        },
      );
      assert.deepEqual(placed, nodes);
    } finally {
      if (run) await stopProc(run);
      const status = await stopProc(cluster);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      assert.ok(status.code === 0 || status.signal === "SIGTERM", cluster.output());
    }
  },
});
