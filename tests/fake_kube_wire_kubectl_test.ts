/**
 * kubectl 1.32 against the fake API server over TLS, as a user would drive it: server-side
 * apply conflicts, the printed columns of Deployments, Services and Secrets, list paging, and
 * the typed creates kubectl sends as protobuf.
 */
import assert from "node:assert/strict";
import { type FakeKube, startFakeKube } from "../fakes/fake_kube/server.ts";
import { startControllers } from "../fakes/cluster/controllers/controllers.ts";
import { kubectl as run, kubectlEnv, type KubectlRun as Run } from "./testing/kubectl.ts";

async function withKubectl(
  fn: (k: FakeKube, kubectl: (args: string[], stdin?: string) => Promise<Run>) => Promise<void>,
): Promise<void> {
  const k = await startFakeKube({ seed: 11 });
  const dir = await Deno.makeTempDir({ prefix: "fake-kube-wire-" });
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, k.kubeconfig());
  const env = kubectlEnv(kubeconfig, dir);
  const kubectl = (args: string[], stdin?: string): Promise<Run> => run(env, args, stdin);
  try {
    await fn(k, kubectl);
  } finally {
    await k.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const deployment = (replicas: number) =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] },
      },
    },
  });

Deno.test("kubectl apply --server-side over another manager's field is a 409 with the conflict message; --force-conflicts wins", async () => {
  await withKubectl(async (_k, kubectl) => {
    const created = await kubectl(["create", "-f", "-"], deployment(2));
    assert.equal(created.code, 0, created.stderr);
    const refused = await kubectl(["apply", "--server-side", "-v=6", "-f", "-"], deployment(5));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /PATCH \S+force=false 409 Conflict/);
    assert.match(
      refused.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl-create" using apps\/v1: \.spec\.replicas/,
    );
    const forced = await kubectl(
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      deployment(5),
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /deployment\.apps\/web serverside-applied/);
    const got = await kubectl([
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.replicas} {.spec.template.metadata.labels.app} {.metadata.managedFields[*].manager}",
    ]);
    assert.equal(got.stdout, "5 web kubectl kubectl-create");
  });
});

Deno.test("kubectl get deploy,svc,secret prints the columns the apiserver's printers give", async () => {
  await withKubectl(async (k, kubectl) => {
    assert.equal((await kubectl(["create", "-f", "-"], deployment(2))).code, 0);
    k.store.create("services", {
      metadata: { name: "web", namespace: "default" },
      spec: {
        type: "ClusterIP",
        clusterIP: "10.96.0.20",
        selector: { app: "web" },
        ports: [{ port: 80 }],
      },
    });
    k.store.create("secrets", {
      metadata: { name: "creds", namespace: "default" },
      type: "Opaque",
      data: { user: btoa("u"), pass: btoa("p") },
    });
    const r = await kubectl(["get", "deploy,svc,secret"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(r.stdout, /^deployment\.apps\/web\s+\d+\/2\s+\d+\s+\d+\s+\S+$/m);
    assert.match(r.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    assert.match(r.stdout, /^service\/web\s+ClusterIP\s+10\.96\.0\.20\s+<none>\s+80\/TCP\s+\S+$/m);
    assert.match(r.stdout, /^NAME\s+TYPE\s+DATA\s+AGE$/m);
    assert.match(r.stdout, /^secret\/creds\s+Opaque\s+2\s+\S+$/m);
    const wide = await kubectl(["get", "deploy", "-o", "wide"]);
    assert.match(wide.stdout, /CONTAINERS\s+IMAGES\s+SELECTOR$/m);
    assert.match(wide.stdout, /nginx\s+nginx:1\.27\s+app=web$/m);
  });
});

Deno.test("kubectl get pods --chunk-size=2 pages through every pod with limit and continue", async () => {
  await withKubectl(async (k, kubectl) => {
    const names = ["p1", "p2", "p3", "p4", "p5"];
    for (const name of names) {
      const r = k.store.create("pods", {
        metadata: { name, namespace: "default" },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      });
      assert.ok(r.ok);
    }
    const r = await kubectl(["get", "pods", "--chunk-size=2", "-o", "name"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), names.map((n) => `pod/${n}`));
    const lists = k.requests.filter((q) =>
      q.method === "GET" && q.path === "/api/v1/namespaces/default/pods"
    );
    assert.equal(lists.length, 3, "5 pods in pages of 2 take three requests");
    assert.ok(lists.every((q) => /[?&]limit=2(&|$)/.test(q.query)));
    assert.ok(!/continue=/.test(lists[0]!.query));
    assert.ok(lists.slice(1).every((q) => /[?&]continue=[A-Za-z0-9_-]+/.test(q.query)));
  });
});

Deno.test("kubectl apply then kubectl apply --server-side migrates ownership to kubectl and keeps every field", async () => {
  await withKubectl(async (_k, kubectl) => {
    assert.equal((await kubectl(["apply", "-f", "-"], deployment(2))).code, 0);
    const ssa = await kubectl(["apply", "--server-side", "-f", "-"], deployment(2));
    assert.equal(ssa.code, 0, ssa.stderr);
    const again = await kubectl(["apply", "--server-side", "-f", "-"], deployment(3));
    assert.equal(again.code, 0, "after the migration kubectl owns .spec.replicas");
    const got = await kubectl([
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.replicas} {.spec.template.metadata.labels.app} {.metadata.managedFields[*].manager}",
    ]);
    // managedFields is a list whose order carries no meaning: kubectl must be a manager, and the
    // only other one allowed is the client-side apply record kubectl keeps.
    const [replicas, app, ...managers] = got.stdout.split(" ");
    assert.equal(`${replicas} ${app}`, "3 web");
    assert.ok(managers.includes("kubectl"), got.stdout);
    assert.deepEqual(
      managers.filter((m) => m !== "kubectl"),
      managers.length > 1 ? ["kubectl-last-applied"] : [],
    );
  });
});

Deno.test("kubectl create secret generic, configmap, namespace and serviceaccount (protobuf bodies) create what they say; a Role, which has no message table, is 415", async () => {
  await withKubectl(async (_k, kubectl) => {
    const ns = await kubectl(["create", "namespace", "ops"]);
    assert.equal(ns.code, 0, ns.stderr);
    assert.match(ns.stdout, /namespace\/ops created/);
    const secret = await kubectl([
      "-n",
      "ops",
      "create",
      "secret",
      "generic",
      "pve",
      "--from-literal=token=s3cret\u00e9",
      "--type=Opaque",
    ]);
    assert.equal(secret.code, 0, secret.stderr);
    const cm = await kubectl(["-n", "ops", "create", "configmap", "cfg", "--from-literal=a=b"]);
    assert.equal(cm.code, 0, cm.stderr);
    const got = await kubectl(["-n", "ops", "get", "secret", "pve", "-o", "json"]);
    const s = JSON.parse(got.stdout);
    assert.equal(s.type, "Opaque");
    assert.equal(s.metadata.namespace, "ops");
    const bytes = Uint8Array.from(atob(s.data.token), (c) => c.charCodeAt(0));
    assert.equal(new TextDecoder().decode(bytes), "s3cret\u00e9");
    const c = JSON.parse((await kubectl(["-n", "ops", "get", "cm", "cfg", "-o", "json"])).stdout);
    assert.deepEqual(c.data, { a: "b" });
    const sa = await kubectl(["-n", "ops", "create", "serviceaccount", "x"]);
    assert.equal(sa.code, 0, sa.stderr);
    assert.match(sa.stdout, /serviceaccount\/x created/);
    // A kind the fake has no protobuf message table for (Role) is refused with 415, not misread.
    const role = await kubectl([
      "-n",
      "ops",
      "create",
      "role",
      "r",
      "--verb=get",
      "--resource=pods",
    ]);
    assert.notEqual(role.code, 0);
    assert.match(role.stderr, /the body of the request was in an unknown format/);
  });
});

Deno.test("kubectl create deployment, job, cronjob, pdb and serviceaccount (protobuf bodies) create what the README says, and the Deployment gets its pods", async () => {
  await withKubectl(async (k, kubectl) => {
    const controllers = startControllers(k.store, { seed: 5 });
    try {
      const ok = async (args: string[]) => {
        const r = await kubectl(args);
        assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      };
      const json = async (args: string[]) => JSON.parse(await ok([...args, "-o", "json"]));
      const created = [
        ["deployment", "web", "--image=registry.invalid/pause:3", "--replicas=6"],
        ["deployment", "zero", "--image=x", "--replicas=0"],
        ["job", "j", "--image=x"],
        ["cronjob", "c", "--image=x", "--schedule=*/5 * * * *"],
        ["pdb", "p", "--selector=app=web", "--min-available=1"],
        ["serviceaccount", "sa"],
      ];
      for (const args of created) {
        assert.match(await ok(["create", ...args]), new RegExp(`/${args[1]} created`));
      }
      const web = await json(["get", "deploy", "web"]);
      assert.equal(web.spec.replicas, 6);
      assert.deepEqual(web.spec.selector, { matchLabels: { app: "web" } });
      assert.equal(web.spec.template.spec.containers[0].image, "registry.invalid/pause:3");
      const zero = await json(["get", "deploy", "zero"]);
      assert.equal(zero.spec.replicas, 0, "--replicas=0 is not the default of 1");
      const job = await json(["get", "job", "j"]);
      assert.equal(job.spec.template.spec.containers[0].image, "x");
      assert.equal(job.spec.template.spec.restartPolicy, "Never");
      const cron = await json(["get", "cronjob", "c"]);
      assert.equal(cron.spec.schedule, "*/5 * * * *");
      assert.equal(cron.spec.jobTemplate.spec.template.spec.containers[0].image, "x");
      assert.equal(cron.spec.concurrencyPolicy, "Allow", "the apiserver's CronJob defaults apply");
      assert.equal(cron.spec.successfulJobsHistoryLimit, 3);
      const pdb = await json(["get", "pdb", "p"]);
      assert.equal(pdb.spec.minAvailable, 1);
      assert.deepEqual(pdb.spec.selector, { matchLabels: { app: "web" } });
      assert.equal((await json(["get", "serviceaccount", "sa"])).metadata.name, "sa");
      // --dry-run=server sends the same protobuf body and stores nothing.
      const dry = await ok([
        "create",
        "deployment",
        "dry",
        "--image=x",
        "--dry-run=server",
        "-o",
        "jsonpath={.spec.replicas}",
      ]);
      assert.equal(dry, "1");
      assert.notEqual((await kubectl(["get", "deploy", "dry"])).code, 0);
      // The fake's Deployment and ReplicaSet controllers make the six pods.
      const deadline = Date.now() + 15_000;
      let pods = 0;
      while (pods !== 6) {
        if (Date.now() > deadline) assert.fail(`6 pods of app=web expected, ${pods} seen`);
        await new Promise((r) => setTimeout(r, 100));
        const list = await json(["get", "pods", "-l", "app=web"]);
        pods = (list.items as { metadata: { deletionTimestamp?: string } }[])
          .filter((p) => !p.metadata.deletionTimestamp).length;
      }
    } finally {
      controllers.stop();
    }
  });
});
