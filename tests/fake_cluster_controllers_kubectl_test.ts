/**
 * The fake cluster's controllers driven the way a user drives a cluster: kubectl 1.32 applies
 * a Deployment to the fake API server over TLS, pods appear, `kubectl scale` grows and shrinks
 * them, a re-apply with a new image shows up in `kubectl rollout history`, and `kubectl delete`
 * takes the ReplicaSets and pods with the Deployment.
 */
import assert from "node:assert/strict";
import { kubectl as run, kubectlEnv } from "./testing/kubectl.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { startControllers } from "../fakes/cluster/controllers/controllers.ts";

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: nginx:1.27
`;

async function until(what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("kubectl apply of a Deployment makes pods appear, kubectl scale changes their number, a new image is a second revision, and kubectl delete removes them", async () => {
  const kube = await startFakeKube({ seed: 3, gracefulDeletion: { scale: 0.01 } });
  const controllers = startControllers(kube.store, { seed: 5 });
  const dir = await Deno.makeTempDir();
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, kube.kubeconfig());
  const env = kubectlEnv(kubeconfig, dir);
  const kubectl = async (args: string[], stdin?: string) => {
    const out = await run(env, args, stdin);
    assert.equal(out.code, 0, `kubectl ${args.join(" ")}: ${out.stderr}`);
    return out.stdout;
  };
  const podNames = async () => {
    const list = JSON.parse(await kubectl(["get", "pods", "-l", "app=web", "-o", "json"]));
    return (list.items as { metadata: { name: string; deletionTimestamp?: string } }[])
      .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
  };
  try {
    assert.match(await kubectl(["apply", "-f", "-"], MANIFEST), /deployment.apps\/web created/);
    await until("2 pods", async () => (await podNames()).length === 2);
    const rs = JSON.parse(await kubectl(["get", "rs", "-l", "app=web", "-o", "json"]));
    assert.equal(rs.items.length, 1);
    const hash = rs.items[0].metadata.labels["pod-template-hash"];
    for (const name of await podNames()) assert.match(name, new RegExp(`^web-${hash}-\\w{5}$`));

    assert.match(
      await kubectl(["scale", "deploy", "web", "--replicas=5"]),
      /deployment.apps\/web scaled/,
    );
    await until("5 pods", async () => (await podNames()).length === 5);
    const scale = JSON.parse(
      await kubectl(["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale"]),
    );
    assert.equal(scale.kind, "Scale");
    assert.equal(scale.spec.replicas, 5);
    assert.equal(scale.status.selector, "app=web");

    await kubectl(["scale", "deploy/web", "--replicas=1"]);
    await until("1 pod", async () => (await podNames()).length === 1);

    // Applying a new image is a second revision: a second ReplicaSet takes over.
    const v2 = MANIFEST.replace("replicas: 2", "replicas: 1").replace("nginx:1.27", "nginx:1.28");
    assert.match(await kubectl(["apply", "-f", "-"], v2), /deployment.apps\/web configured/);
    await until("2 ReplicaSets", async () => {
      const list = JSON.parse(await kubectl(["get", "rs", "-l", "app=web", "-o", "json"]));
      return list.items.length === 2;
    });
    const history = await kubectl(["rollout", "history", "deploy/web"]);
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);

    await kubectl(["delete", "deploy", "web"]);
    await until("everything gone", async () => {
      const rsLeft = JSON.parse(await kubectl(["get", "rs", "-o", "json"])).items.length;
      return rsLeft === 0 && (await podNames()).length === 0;
    });
  } finally {
    controllers.stop();
    await kube.close();
    await Deno.remove(dir, { recursive: true });
  }
});
