/**
 * The generated CRDs served by the fake API server: applied over HTTPS, the migrate output of
 * config.example.yaml loads back (through the API) to the same core Config as the YAML file, and
 * the fake, evaluating the CRDs' CEL rules from their text, rejects the shared table of bad
 * inputs (those a CEL rule catches with that rule's own message).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { type Manifest, manifestsFromConfig } from "../adapters/config/crd_manifests.ts";
import { migrateText } from "../cli/migrate.ts";
import { BAD_INPUTS, specToMutate } from "./testing/kubernetes_bad_inputs.ts";
import { ConfigWatcher } from "../adapters/kubernetes/config_watcher.ts";
import { setConfigStatus } from "../adapters/kubernetes/config_status_writer.ts";
import type { CrdProblem } from "../adapters/config/crd_source.ts";
import type { Config } from "../core/model.ts";
import type { Result } from "../core/result.ts";
import { eventually, withFake } from "./testing/kubernetes.ts";

const root = new URL("../", import.meta.url);
const example = await Deno.readTextFile(new URL("config.example.yaml", root));

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
  Tenant: "tenants",
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
  });
});

Deno.test("the fake API server rejects the shared bad inputs once the CRDs are applied", async () => {
  await withFake(async (_fake, client) => {
    await applyCrds(client);
    const accepted: string[] = [];
    for (const bad of BAD_INPUTS.filter((b) => !b.crossObject)) {
      const doc = parse(example);
      bad.mutate(specToMutate(doc, bad.kind));
      const obj = manifestsFromConfig(doc).find((o) => o.kind === bad.kind)!;
      obj.metadata.name = `bad-${BAD_INPUTS.indexOf(bad)}`;
      const r = await post(client, obj);
      if (r.ok) accepted.push(`${bad.kind}: ${bad.name}`);
      else {
        assert.ok(r.error.kind === "Status" && [400, 422].includes(r.error.code), bad.name);
        if (bad.celMessage) {
          assert.equal(r.error.code, 422, bad.name);
          assert.ok(
            r.error.message.includes(`: ${bad.celMessage}`),
            `${bad.name}: ${r.error.message}`,
          );
        }
      }
    }
    assert.deepEqual(accepted, [], "the fake accepted inputs the YAML validation rejects");
  });
});

Deno.test("the config watcher revalidates on every change and reports cross-object problems", async () => {
  await withFake(async (_fake, client) => {
    await applyCrds(client);
    const results: Result<Config, CrdProblem[]>[] = [];
    const watcher = new ConfigWatcher(client, (c) => results.push(c), {
      debounceMs: 20,
      backoff: { initialMs: 10, maxMs: 50, factor: 2, jitter: 0 },
    });
    watcher.start();
    try {
      const m = migrateText(example, "config.example.yaml");
      assert.ok(m.ok);
      for (const obj of m.value.manifests.filter((o) => o.kind !== "ConfigMap")) {
        assert.ok((await post(client, obj)).ok);
      }
      const direct = parseConfigText(example, "config.example.yaml");
      assert.ok(direct.ok);
      await eventually("a valid config", () => {
        const last = results.at(-1);
        return last?.ok === true && JSON.stringify(last.value) === JSON.stringify(direct.value);
      });
      // An edit through the API shows up as a new Config.
      const patched = await client.requestJson(
        "PATCH",
        "/apis/proxscale.io/v1alpha1/nodepools/general",
        { body: { spec: { weight: 77 } }, contentType: "application/merge-patch+json" },
      );
      assert.ok(patched.ok);
      await eventually("the new weight", () => {
        const last = results.at(-1);
        return last?.ok === true && last.value.nodePools[0]!.weight === 77;
      });
      // A pool pointing at a template that does not exist is a problem naming the pool.
      const broken = await client.requestJson(
        "PATCH",
        "/apis/proxscale.io/v1alpha1/nodepools/general",
        {
          body: { spec: { machineTemplate: "missing" } },
          contentType: "application/merge-patch+json",
        },
      );
      assert.ok(broken.ok);
      await eventually("a reported problem", () => results.at(-1)?.ok === false);
      const last = results.at(-1)!;
      assert.ok(!last.ok);
      assert.equal(last.error[0]!.object, "NodePool/general");
      assert.equal(last.error[0]!.path, "spec.machineTemplate");
      assert.match(last.error[0]!.message, /no MachineTemplate named "missing"/);
      // Deleting the last template leaves none at all: also a problem, also no crash.
      assert.ok(
        (await client.requestJson(
          "DELETE",
          "/apis/proxscale.io/v1alpha1/machinetemplates/worker",
        )).ok,
      );
      await eventually("no templates reported", () => {
        const r = results.at(-1)!;
        return !r.ok && r.error.some((p) => /no MachineTemplate objects found/.test(p.message));
      });
    } finally {
      await watcher.stop();
    }
  });
});

Deno.test("NodePool status shows provisioned totals and conditions for kubectl", async () => {
  await withFake(async (fake, client) => {
    await applyCrds(client);
    const m = migrateText(example, "config.example.yaml");
    assert.ok(m.ok);
    const pool = m.value.manifests.find((o) => o.kind === "NodePool")!;
    assert.ok((await post(client, pool)).ok);
    const r = await setConfigStatus(client, "nodepools", "general", {
      nodes: 3,
      usage: { cpu: 12_000, memory: 24 * 2 ** 30, nodes: 3 },
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: "template and provider are valid",
        lastTransitionTime: 0,
      }],
    });
    assert.ok(r.ok && r.value.changed, JSON.stringify(r));
    const got = fake.store.get("nodepools.proxscale.io", undefined, "general");
    assert.ok(got.ok);
    const status = (got.value as unknown as { status: Record<string, unknown> }).status;
    assert.equal(status.nodes, 3);
    assert.deepEqual(status.resources, { cpu: "12", memory: "24Gi", nodes: 3 });
    assert.equal(status.observedGeneration, 1);
    const again = await setConfigStatus(client, "nodepools", "general", { nodes: 3 });
    assert.ok(again.ok && !again.value.changed);
  });
});
