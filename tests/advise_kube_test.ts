/**
 * `proxscale advise --kubeconfig` as a process against the fake API server: the configuration is
 * the example one applied as custom resources (the general pool with scaleUp.forecast), the
 * demand history is written to ConfigMap proxscale-demand-history the way the daemon writes it,
 * and advise prints the changes worth making on that history. Without the ConfigMap, or with no
 * configured pool in it, it exits 1 saying to enable scaleUp.forecast.
 */
import assert from "node:assert/strict";
import { migrateText } from "../cli/migrate.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { writeDemandHistories } from "../adapters/kubernetes/demand_history_store.ts";
import { bucketOf, type DemandHistory } from "../core/forecast_history.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { GiB } from "../core/quantity.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout), err: d.decode(out.stderr) };
}

/** A week of a day/night pool: 2 cores at night, 20 at 14:00, 2 GiB per core. */
function diurnalHistory(): DemandHistory {
  const days = 7;
  const first = bucketOf(Date.UTC(2026, 11, 1));
  const cpu: number[] = [];
  const memory: number[] = [];
  for (let i = 0; i < days * 288; i++) {
    const hour = (i % 288) / 12;
    const cores = 2 + 18 * Math.max(0, Math.cos(((hour - 14) / 24) * 2 * Math.PI)) ** 2;
    cpu.push(Math.round(cores * 1000));
    memory.push(Math.round(cores * 2 * GiB));
  }
  return { first, cpu, memory, gpus: cpu.map(() => 0) };
}

Deno.test({
  name:
    "advise --kubeconfig reads the live pools and the stored demand history and prints the changes worth making",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kube = await startFakeKube({ seed: 11 });
    const dir = await Deno.makeTempDir({ prefix: "proxscale-advise-kube-" });
    try {
      for (const k of KINDS) {
        assert.ok(
          kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k)).ok,
        );
      }
      for (const ns of ["proxscale-system", "empty"]) {
        assert.ok(kube.store.create("namespaces", { metadata: { name: ns } } as never, {}).ok);
      }
      const admin = kubeClientFromKubeconfig(kube.kubeconfig());
      let served = false;
      for (let i = 0; i < 200 && !served; i++) {
        served = (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/providers")).ok;
        if (!served) await new Promise((r) => setTimeout(r, 20));
      }
      const example = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
      const m = migrateText(example, "config.example.yaml");
      assert.ok(m.ok);
      for (const o of m.value.manifests) {
        const obj = o as { kind: string; metadata: { name: string }; spec?: Record<string, never> };
        if (obj.kind === "NodePool" && obj.metadata.name === "general") {
          const spec = obj.spec as unknown as { scaleUp?: Record<string, unknown> };
          spec.scaleUp = { ...spec.scaleUp, forecast: { enabled: true } };
        }
        const path = obj.kind === "ConfigMap"
          ? `/api/v1/namespaces/proxscale-system/configmaps`
          : `/apis/proxscale.io/v1alpha1/${obj.kind.toLowerCase()}s`;
        const made = await admin.requestJson("POST", path, { body: obj });
        assert.ok(made.ok, `${obj.kind}: ${JSON.stringify(made)}`);
      }
      const kc = `${dir}/kubeconfig`;
      await Deno.writeTextFile(kc, kube.kubeconfig());

      // No ConfigMap yet: exit 1, naming what to enable.
      const none = await cli("advise", "--kubeconfig", kc, "--namespace", "proxscale-system");
      assert.equal(none.code, 1, none.err);
      assert.match(none.err, /ConfigMap proxscale-demand-history does not exist/);
      assert.match(none.err, /scaleUp\.forecast/);

      // A history only for a pool that is not configured: no pool has history.
      assert.ok((await writeDemandHistories(admin, "empty", { gone: diurnalHistory() })).ok);
      const other = await cli("advise", "--kubeconfig", kc, "--namespace", "empty");
      assert.equal(other.code, 1, other.err);
      assert.match(other.err, /no NodePool has demand history .*it holds gone/);
      assert.match(other.err, /scaleUp\.forecast/);

      assert.ok(
        (await writeDemandHistories(admin, "proxscale-system", { general: diurnalHistory() })).ok,
      );
      const r = await cli("advise", "--kubeconfig", kc, "--namespace", "proxscale-system");
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /pool general: 2016 buckets of 5 min as pods of/);
      // The table has the live pools' changes and at least one worth making, with its patch.
      assert.match(r.out, /^pool batch: /m);
      assert.match(r.out, /^pool general: predictive scale-up off/m);
      const worth = r.out.split("\n").filter((l) => /\byes(, best)?$/.test(l));
      assert.ok(worth.length >= 1, r.out);
      assert.match(r.out, /^Recommended: .+\(simulated, seed 1\)/m);
      // The live pools' limits and the Provider's host count are candidates too; a host-count
      // change is printed as hardware advice, never as the patch.
      assert.match(r.out, /^pool general: cpu limit 32 \(now 64\) .*\(\+0\.0%\)/m);
      assert.match(r.out, /^pool batch: memory limit 256Gi \(now 128Gi\)/m);
      assert.match(r.out, /^provider homelab: 2 host\(s\) \(now 3\)/m);
      assert.match(r.out, /^Hardware advice: provider homelab: .+\nThis is not a config patch/m);
      const patch = r.out.slice(r.out.indexOf("Patch;"));
      assert.doesNotMatch(patch, /host/);
    } finally {
      await kube.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
