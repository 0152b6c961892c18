/**
 * The generated CRDs served by the fake API server: applied over HTTPS, the migrate output of
 * config.example.yaml loads back (through the API) to the same core Config as the YAML file, and
 * the fake, running the CEL rules' predicates, rejects the shared table of bad inputs.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { CEL_PREDICATES } from "../adapters/kubernetes/structural_schema.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { type Manifest, manifestsFromConfig } from "../adapters/config/crd_manifests.ts";
import { migrateText } from "../cli/migrate.ts";
import { BAD_INPUTS } from "./kubernetes_bad_inputs.ts";
import { eventually, withFake } from "./kubernetes_testing.ts";

const root = new URL("../", import.meta.url);
const example = await Deno.readTextFile(new URL("config.example.yaml", root));

const cel = (rule: string, self: unknown) => {
  const check = CEL_PREDICATES[rule];
  return check ? check(self) : undefined;
};

async function applyCrds(client: KubeClient) {
  for (const k of KINDS) {
    const r = await client.requestJson(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { body: crdObject(k) },
    );
    assert.ok(r.ok, `CRD ${k.kind}: ${JSON.stringify(!r.ok && r.error)}`);
  }
  await eventually("custom resources served", async () => {
    const r = await client.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims");
    return r.ok;
  });
}

const PLURAL: Record<string, string> = {
  Provider: "providers",
  MachineTemplate: "machinetemplates",
  NodePool: "nodepools",
};

function post(client: KubeClient, m: Manifest) {
  const path = m.kind === "ConfigMap"
    ? `/api/v1/namespaces/${m.metadata.namespace}/configmaps`
    : `/apis/proxscale.io/v1alpha1/${PLURAL[m.kind]}`;
  return client.requestJson("POST", path, { body: m, query: { fieldValidation: "Strict" } });
}

Deno.test("migrate output applied to the fake loads back to the YAML's own Config", async () => {
  await withFake(async (_fake, client) => {
    await applyCrds(client);
    const ns = await client.requestJson("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "proxscale-system" } },
    });
    assert.ok(ns.ok);
    const m = migrateText(example, "config.example.yaml");
    assert.ok(m.ok);
    for (const obj of m.value.manifests) {
      const r = await post(client, obj);
      assert.ok(r.ok, `${obj.kind}/${obj.metadata.name}: ${JSON.stringify(!r.ok && r.error)}`);
    }
    const loaded = await loadConfigFromCluster(client);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.error));
    const direct = parseConfigText(example, "config.example.yaml");
    assert.ok(direct.ok);
    assert.deepEqual(loaded.value, direct.value);
  }, { cel });
});

Deno.test("the fake API server rejects the shared bad inputs once the CRDs are applied", async () => {
  await withFake(async (_fake, client) => {
    await applyCrds(client);
    const accepted: string[] = [];
    for (const bad of BAD_INPUTS.filter((b) => !b.crossObject)) {
      const doc = parse(example);
      const list =
        { Provider: "providers", MachineTemplate: "machineTemplates", NodePool: "nodePools" }[
          bad.kind
        ];
      bad.mutate(doc[list][0].spec);
      const obj = manifestsFromConfig(doc).find((o) => o.kind === bad.kind)!;
      obj.metadata.name = `bad-${BAD_INPUTS.indexOf(bad)}`;
      const r = await post(client, obj);
      if (r.ok) accepted.push(`${bad.kind}: ${bad.name}`);
      else assert.ok(r.error.kind === "Status" && [400, 422].includes(r.error.code), bad.name);
    }
    assert.deepEqual(accepted, [], "the fake accepted inputs the YAML validation rejects");
  }, { cel });
});
