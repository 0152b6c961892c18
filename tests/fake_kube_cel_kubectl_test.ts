/**
 * kubectl, used as a person would, against the fake API server: the shipped CRDs apply, and an
 * invalid NodePool is refused with the message of the CRD's own CEL rule.
 */
import assert from "node:assert/strict";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { kubectl } from "./testing/kubectl.ts";

const root = new URL("../", import.meta.url);

const INVALID_POOL = `apiVersion: proxscale.io/v1alpha1
kind: NodePool
metadata:
  name: small
spec:
  machineTemplate: worker
  minNodes: 5
  limits:
    nodes: 2
`;

Deno.test("kubectl apply of a NodePool with minNodes above limits.nodes is refused by the CEL rule's own message", async () => {
  const dir = await Deno.makeTempDir();
  const fake = await startFakeKube({ seed: 7 });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, fake.kubeconfig());
    const env = { KUBECONFIG: kubeconfig, KUBECACHEDIR: `${dir}/cache`, HOME: dir };
    const crds = await kubectl(env, ["apply", "-f", new URL("deploy/crds/", root).pathname]);
    assert.equal(crds.code, 0, crds.stderr);
    assert.match(
      crds.stdout,
      /customresourcedefinition.apiextensions.k8s.io\/nodepools.proxscale.io created/,
    );
    const established = await kubectl(env, [
      "wait",
      "--for=condition=Established",
      "--timeout=20s",
      "crd/nodepools.proxscale.io",
    ]);
    assert.equal(established.code, 0, established.stderr);
    const bad = await kubectl(env, ["apply", "-f", "-"], INVALID_POOL);
    assert.notEqual(bad.code, 0, bad.stdout);
    assert.match(bad.stderr, /The NodePool "small" is invalid/);
    assert.ok(
      bad.stderr.includes('spec: Invalid value: "object": minNodes must not exceed limits.nodes'),
      bad.stderr,
    );
    const good = await kubectl(
      env,
      ["apply", "-f", "-"],
      INVALID_POOL.replace("minNodes: 5", "minNodes: 1"),
    );
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /nodepool.proxscale.io\/small created/);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
