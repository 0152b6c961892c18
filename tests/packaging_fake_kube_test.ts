/**
 * The install applied to the fake API server: deploy/crds/ and deploy/proxscale.yaml are POSTed
 * kind by kind (resources found through discovery, as kubectl does) and read back unchanged.
 * Kinds the fake does not serve are listed, so that a new kind in the manifests that nobody can
 * test is noticed.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import type { KubeObject } from "../adapters/deploy/manifests.ts";

const root = new URL("../", import.meta.url);

/** Kinds of deploy/proxscale.yaml that fakes/fake_kube does not serve (yet). */

async function readDocs(path: string): Promise<KubeObject[]> {
  const text = await Deno.readTextFile(new URL(path, root));
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(Boolean);
}

type Resource = { name: string; kind: string; namespaced: boolean };

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

/** Finds the collection path of an object's kind through discovery, or undefined if unserved. */
async function collectionPath(base: string, o: KubeObject): Promise<string | undefined> {
  const gv = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const d = await getJson(base + gv);
  if (d.status !== 200) return undefined;
  const res = (d.body as { resources: Resource[] }).resources.find((r) =>
    r.kind === o.kind && !r.name.includes("/")
  );
  if (!res) return undefined;
  return res.namespaced
    ? `${gv}/namespaces/${o.metadata.namespace ?? "default"}/${res.name}`
    : `${gv}/${res.name}`;
}

function subset(expected: unknown, actual: unknown, at: string): void {
  if (expected && typeof expected === "object" && !Array.isArray(expected)) {
    assert.ok(actual && typeof actual === "object", `${at}: missing`);
    for (const [k, v] of Object.entries(expected)) {
      subset(v, (actual as Record<string, unknown>)[k], `${at}.${k}`);
    }
  } else {
    assert.deepEqual(actual, expected, at);
  }
}

Deno.test("deploy/crds and deploy/proxscale.yaml apply to the fake API server and read back", async () => {
  const fake = await startFakeKube({ tls: false, seed: 7 });
  try {
    const crds = [];
    for (const f of ["nodepools", "machinetemplates", "providers", "nodeclaims"]) {
      crds.push(...await readDocs(`deploy/crds/${f}.yaml`));
    }
    const install = await readDocs("deploy/proxscale.yaml");
    const unserved: string[] = [];
    const applied: string[] = [];
    for (const o of [...crds, ...install]) {
      const path = await collectionPath(fake.url, o);
      if (!path) {
        unserved.push(o.kind);
        continue;
      }
      const r = await fetch(`${fake.url}${path}?fieldValidation=Strict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(o),
      });
      const body = await r.json();
      assert.equal(r.status, 201, `${o.kind}/${o.metadata.name}: ${JSON.stringify(body)}`);
      const back = await getJson(`${fake.url}${path}/${o.metadata.name}`);
      assert.equal(back.status, 200);
      const { metadata, ...rest } = o;
      subset(rest, back.body, `${o.kind}/${o.metadata.name}`);
      subset(metadata, (back.body as { metadata: unknown }).metadata, `${o.kind} metadata`);
      applied.push(o.kind);
    }
    assert.deepEqual(unserved, [], "every kind of the install is served and applied");
    assert.deepEqual(
      [...new Set(applied)].sort(),
      [
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
      ],
    );
    // The CRDs became servable: proxscale's kinds answer lists.
    const list = await getJson(`${fake.url}/apis/proxscale.io/v1alpha1/nodepools`);
    assert.equal(list.status, 200);
    // The PDB is live: its controller computed a status for the (still empty) selector.
    const pdb = await getJson(
      `${fake.url}/apis/policy/v1/namespaces/proxscale-system/poddisruptionbudgets/proxscale`,
    );
    assert.equal((pdb.body as { spec: { maxUnavailable: number } }).spec.maxUnavailable, 1);
  } finally {
    await fake.close();
  }
});
