/**
 * The Helm install, from the outside: the chart rendered with its default values by the
 * project's own renderer (adapters/deploy/helm_render.ts, what `helm install` would apply),
 * its crds/ and rendered objects applied with kubectl to the real `proxscale fake-cluster`
 * process, the PVE token Secret and the migrated configuration added as the docs say, and one
 * replica of the rendered Deployment started as the kubelet would start its container: it is
 * ready, takes the Lease and scales a Deployment 0 -> 30 -> 0 with no VM left.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { defaultChartValues, renderChartObjects } from "../adapters/deploy/helm_render.ts";
import {
  eventually,
  kubectl,
  leaseHolder,
  proxscaleOutput,
  readyz,
  type Replica,
  ROOT,
  startFakeClusterProcess,
  stopProc,
} from "./testing/e2e_install.ts";
import {
  deploymentAndPods,
  startPodReplica,
  writeInstallInputs,
} from "./testing/e2e_install_pod.ts";
import { scaleZeroToThirtyToZero } from "./testing/e2e_install_scenario.ts";

Deno.test({
  name: "the chart rendered with its default values runs a replica that is ready, leads and " +
    "scales a Deployment from 0 to 30 pods and back to 0 with no VM left",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fc = await startFakeClusterProcess(47);
    let replica: Replica | undefined;
    try {
      const values = defaultChartValues();
      const objects = renderChartObjects(values, "proxscale-system");
      await Deno.writeTextFile(
        `${fc.dir}/chart.yaml`,
        objects.map((o) => stringify(o)).join("---\n"),
      );
      // helm install --create-namespace: the namespace (kept if it exists, as helm does), the
      // chart's crds/, then its templates.
      const ns = await kubectl(
        fc.env,
        ["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: proxscale-system}\n",
      );
      assert.equal(ns.code, 0, ns.stderr);
      for (
        const args of [
          ["apply", "-f", `${ROOT}deploy/helm/proxscale/crds/`],
          ["apply", "-f", `${fc.dir}/chart.yaml`],
        ]
      ) {
        const r = await kubectl(fc.env, args);
        assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      }
      // The Secret the chart's pveTokenSecret names, and the configuration as custom resources.
      await writeInstallInputs(fc, fc.dir);
      const secret = await kubectl(fc.env, [
        "-n",
        "proxscale-system",
        "create",
        "secret",
        "generic",
        String(values.pveTokenSecret),
        `--from-file=token=${fc.dir}/pve-token`,
      ]);
      assert.equal(secret.code, 0, secret.stderr);
      const migrate = await proxscaleOutput(["migrate", `${fc.dir}/config.yaml`]);
      assert.equal(migrate.code, 0, migrate.stderr);
      const applied = await kubectl(fc.env, ["apply", "-f", "-"], migrate.stdout);
      assert.equal(applied.code, 0, applied.stderr);

      const { deployment, pods } = await deploymentAndPods(
        fc,
        "proxscale-system",
        "proxscale",
        Number(values.replicas),
      );
      replica = await startPodReplica(fc, deployment, pods[0]!);
      await readyz(replica);
      await eventually(
        "the replica to hold the Lease",
        20_000,
        async () => (await leaseHolder(fc)) === replica!.identity ? true : undefined,
      );

      await scaleZeroToThirtyToZero(fc, "Helm chart (default values, 1 replica)");

      const stopped = await stopProc(replica.proc);
      assert.equal(stopped.code, 0, replica.proc.output());
      assert.equal(await leaseHolder(fc), "", "a stopped replica releases the Lease");
    } catch (e) {
      if (replica) console.log(`--- ${replica.identity}:\n${replica.proc.output().slice(-6000)}`);
      throw e;
    } finally {
      if (replica) await stopProc(replica.proc);
      await fc.close();
    }
  },
});
