/**
 * `proxscale host drain HOST --wait` as an operator runs it: the `proxscale fake-cluster` and
 * `proxscale run` processes, a Deployment with a PodDisruptionBudget applied with kubectl, the
 * busiest host found with `proxscale host list`, then drained by the CLI editing the config file
 * the daemon hot-reloads (one web pod per node, so several nodes are replaced one at a time
 * under the budget). Afterwards every VM on the PVE side is counted (none left on the host,
 * none duplicated) and every Pending pod (none), and the budget was never broken.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import {
  duplicateClaims,
  eventually,
  freePort,
  kubectl,
  type Proc,
  proxscaleOutput,
  pveInventory,
  readyz,
  spawnProxscale,
  startFakeClusterProcess,
  stopProc,
} from "./testing/e2e_install.ts";

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}
      containers:
        - {name: c, image: registry.invalid/pause:3, resources: {requests: {cpu: 500m, memory: 256Mi}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: 5
  selector: {matchLabels: {app: web}}
`;

const READY = '{range .items[?(@.metadata.labels.app=="web")]}' +
  '{.metadata.deletionTimestamp}|{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';

Deno.test({
  name: "proxscale host drain --wait empties a host with the daemon process: no PDB broken, " +
    "no proxscale VM left there, no Pending pod",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fc = await startFakeClusterProcess(43);
    let run: Proc | undefined;
    let sampling = true;
    let sampler: Promise<void> | undefined;
    try {
      const crds = await kubectl(fc.env, ["apply", "-f", "deploy/crds/"]);
      assert.equal(crds.code, 0, crds.stderr);
      // Quick windows for a CI-sized run; only empty nodes are consolidated, so the drain is
      // what moves pods.
      const doc = parse(await Deno.readTextFile(fc.configFile)) as {
        nodePools: { spec: Record<string, unknown> }[];
        settings?: Record<string, unknown>;
      };
      for (const p of doc.nodePools) {
        p.spec.scaleUp = { batchSize: 20, stabilizationWindow: "0s", maxConcurrent: 20 };
        p.spec.scaleDown = { maxConcurrent: 10, drainTimeout: "30s", stabilizationWindow: "1s" };
        p.spec.disruption = {
          consolidationPolicy: "WhenEmpty",
          consolidateAfter: "2s",
          budgets: [{ nodes: "100%" }],
        };
      }
      doc.settings = { ...doc.settings, batchIdle: "300ms", batchMax: "2s" };
      await Deno.writeTextFile(fc.configFile, stringify(doc));
      const port = freePort();
      const url = `http://127.0.0.1:${port}`;
      run = spawnProxscale("run", [
        "run",
        `--config=${fc.configFile}`,
        `--kubeconfig=${fc.kubeconfig}`,
        `--http-port=${port}`,
        "--no-leader-elect",
      ]);
      await readyz({ proc: run, port, identity: "proxscale" }, 90_000);

      const applied = await kubectl(fc.env, ["apply", "-f", "-"], WEB);
      assert.equal(applied.code, 0, applied.stderr);
      const readyCount = async () => {
        const g = await kubectl(fc.env, ["get", "pods", "-o", `jsonpath=${READY}`]);
        return g.stdout.split("\n").filter((l) => l === "|True").length;
      };
      await eventually("6 web pods ready", 120_000, async () => {
        if (run!.exited()) throw new Error(run!.output());
        return (await readyCount()) === 6 ? true : undefined;
      });

      // The host with the most NodeClaims, as `host list` shows it.
      const list = await proxscaleOutput(["host", "list", "--config", fc.configFile, "--url", url]);
      assert.equal(list.code, 0, list.stderr);
      const rows = list.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/));
      const [busiest] = rows.sort((a, b) => Number(b[6]) - Number(a[6]));
      const host = busiest![1]!;
      // One web pod per node (anti-affinity), six nodes over three hosts.
      assert.ok(Number(busiest![6]) >= 2, list.stdout);
      const before = await pveInventory(fc.pve);
      assert.ok(before.vms.some((v) => v.node === host));

      let fewest = Infinity;
      sampler = (async () => {
        while (sampling) fewest = Math.min(fewest, await readyCount());
      })();
      const drain = await proxscaleOutput([
        "host",
        "drain",
        host,
        "--config",
        fc.configFile,
        "--url",
        url,
        "--wait",
        "--interval",
        "500ms",
        "--timeout",
        "4m",
      ]);
      assert.equal(drain.code, 0, `${drain.stdout}\n${drain.stderr}\n${run.output().slice(-4000)}`);
      assert.match(drain.stdout, new RegExp(`maintenance set to drain`));
      assert.match(drain.stdout, new RegExp(`${host}: \\d+ NodeClaims? left`));
      assert.match(drain.stdout.trim(), new RegExp(`${host}: drained, no proxscale VM left$`));
      await eventually("6 web pods ready again", 120_000, async () => {
        return (await readyCount()) === 6 ? true : undefined;
      });
      sampling = false;
      await sampler;
      assert.ok(fewest >= 5, `ready web pods fell to ${fewest} under a PDB of minAvailable 5`);

      const after = await pveInventory(fc.pve);
      assert.deepEqual(after.vms.filter((v) => v.node === host), [], "no VM left on the host");
      assert.deepEqual(duplicateClaims(after), []);
      assert.ok(after.vms.length >= 1);
      const pending = await kubectl(fc.env, [
        "get",
        "pods",
        "-A",
        "--field-selector=status.phase=Pending",
        "-o",
        "name",
      ]);
      assert.equal(pending.code, 0, pending.stderr);
      assert.equal(pending.stdout.trim(), "", "no Pending pod");
      const shown = await proxscaleOutput([
        "host",
        "list",
        "--config",
        fc.configFile,
        "--url",
        url,
      ]);
      assert.match(shown.stdout, new RegExp(`${host}\\s+\\S+\\s+drain\\s+config\\s+up\\s+0`));
    } finally {
      sampling = false;
      await sampler?.catch(() => {});
      if (run) await stopProc(run);
      await fc.close();
    }
  },
});
