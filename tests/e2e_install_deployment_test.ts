/**
 * The in-cluster install, from the outside, against the real `proxscale fake-cluster` process:
 * deploy/crds and deploy/proxscale.yaml applied with kubectl, then the copy-paste sequence of
 * docs/operations.md "Install in a cluster" extracted from the doc and run by `sh` (with
 * `proxscale` on PATH), so the doc cannot rot. The two replicas of the applied Deployment are
 * then started as the kubelet would start its container (see testing/e2e_install_pod.ts): both reach
 * /readyz, one takes the Lease, and a Deployment scales 0 -> 30 -> 0; the leader is killed with
 * SIGKILL mid-scale-up and the standby takes over with no VM leaked or duplicated.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  eventually,
  kubectl,
  leaderGauge,
  leaseHolder,
  readyz,
  type Replica,
  ROOT,
  sh,
  startFakeClusterProcess,
  stopProc,
} from "./testing/e2e_install.ts";
import {
  deploymentAndPods,
  startPodReplica,
  writeInstallInputs,
} from "./testing/e2e_install_pod.ts";
import { scaleZeroToThirtyToZero } from "./testing/e2e_install_scenario.ts";

/** The sh block under "Install in a cluster", one command a line (continuations joined). */
async function docSequence(): Promise<string[]> {
  const doc = await Deno.readTextFile(`${ROOT}docs/operations.md`);
  const m = /^#+ Install in a cluster\n[\s\S]*?```sh\n([\s\S]*?)```/m.exec(doc);
  assert.ok(m, 'a ```sh block under a heading "Install in a cluster"');
  return m[1]!.replace(/\\\n\s*/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/**
 * The one step of the sequence the test does itself: `rollout status` waits for the pods to be
 * Ready, but the fake cluster has no node outside proxscale's pools for the controller's pods
 * (they require `proxscale.io/nodepool` DoesNotExist), so the test runs their containers
 * itself and waits for both to answer /readyz instead.
 */
const ROLLOUT = /^kubectl -n proxscale-system rollout status deployment\/proxscale( |$)/;

Deno.test({
  name: "the Deployment as applied runs two replicas that are ready, one leads, and after the " +
    "leader is killed mid-scale-up the other scales 0 -> 30 -> 0 with no VM leaked or duplicated",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fc = await startFakeClusterProcess(43);
    const replicas: Replica[] = [];
    try {
      const r = await kubectl(fc.env, [
        "apply",
        "-f",
        `${ROOT}deploy/crds/`,
        "-f",
        `${ROOT}deploy/proxscale.yaml`,
      ]);
      assert.equal(r.code, 0, r.stderr);

      // The doc's sequence, pasted into sh in a folder holding ./pve-token and config.yaml.
      const lines = await docSequence();
      const rollout = lines.findIndex((l) => ROLLOUT.test(l));
      assert.ok(rollout > 0, "the sequence waits for the rollout");
      const work = `${fc.dir}/install`;
      await Deno.mkdir(`${work}/bin`, { recursive: true });
      await Deno.symlink(`${ROOT}deploy`, `${work}/deploy`);
      await writeInstallInputs(fc, work);
      const denoDir = Deno.env.get("DENO_DIR");
      await Deno.writeTextFile(
        `${work}/bin/proxscale`,
        `#!/bin/sh\nexec env HOME='${Deno.env.get("HOME")}' ${
          denoDir ? `DENO_DIR='${denoDir}' ` : ""
        }'${Deno.execPath()}' run -A --frozen '${ROOT}main.ts' "$@"\n`,
        { mode: 0o755 },
      );
      const shEnv = { ...fc.env, PATH: `${work}/bin:${Deno.env.get("PATH")}` };
      const before = await sh(shEnv, lines.slice(0, rollout).join("\n"), work);
      assert.equal(
        before.code,
        0,
        `the doc's sequence failed:\n${before.stdout}\n${before.stderr}`,
      );
      for (const applied of ["deployment.apps/proxscale", "nodepool.proxscale.io/general"]) {
        assert.match(before.stdout, new RegExp(applied.replaceAll(".", "\\.")), before.stdout);
      }

      // The Deployment as the API server holds it: the sequence's args are the shipped file's.
      const { deployment, pods } = await deploymentAndPods(fc, "proxscale-system", "proxscale", 2);
      const shipped = parseAllDocuments(await Deno.readTextFile(`${ROOT}deploy/proxscale.yaml`))
        .map((d) => d.toJS()).find((o) => o?.kind === "Deployment");
      assert.deepEqual(
        deployment.spec.template.spec.containers[0]!.args,
        shipped.spec.template.spec.containers[0].args,
      );
      for (const pod of pods) replicas.push(await startPodReplica(fc, deployment, pod));
      assert.notEqual(replicas[0]!.identity, replicas[1]!.identity);
      for (const rep of replicas) await readyz(rep);

      // The rest of the sequence prints the leader: one of the two pods.
      const after = await eventually(
        "the doc's last lines to print the leader",
        20_000,
        async () => {
          const out = await sh(shEnv, lines.slice(rollout + 1).join("\n"), work);
          return out.code === 0 && out.stdout.trim() !== "" ? out.stdout.trim() : undefined;
        },
      );
      const leader = replicas.find((rep) => rep.identity === after);
      assert.ok(leader, `the Lease holder "${after}" is one of the replicas`);
      const standby = replicas.find((rep) => rep !== leader)!;
      // One leader: the holder says so on /metrics, the standby does not.
      await eventually(
        "the leader gauges to agree with the Lease",
        20_000,
        async () =>
          (await leaderGauge(leader)) === 1 && (await leaderGauge(standby)) === 0
            ? true
            : undefined,
      );

      let killedAt = 0;
      let takeoverMs = 0;
      await scaleZeroToThirtyToZero(fc, "Deployment (2 replicas, leader killed)", async () => {
        killedAt = Date.now();
        await stopProc(leader.proc, "SIGKILL");
        // The standby takes the Lease once the dead leader's lease duration has run out.
        void eventually(
          "the standby to take the Lease",
          60_000,
          async () => (await leaseHolder(fc)) === standby.identity ? true : undefined,
        ).then(() => {
          takeoverMs = Date.now() - killedAt;
        });
      });
      assert.equal(await leaseHolder(fc), standby.identity, "the standby leads");
      assert.ok(takeoverMs > 0, "the takeover was seen");
      console.log(
        `leader ${leader.identity} SIGKILLed; ${standby.identity} led after ` +
          `${(takeoverMs / 1000).toFixed(1)} s`,
      );
      const status = await stopProc(standby.proc);
      assert.equal(status.code, 0, standby.proc.output());
      assert.equal(await leaseHolder(fc), "", "a stopped replica releases the Lease");
    } catch (e) {
      // What the replicas said and what the cluster holds, to tell a daemon bug from a fake's.
      for (const rep of replicas) {
        console.log(`--- ${rep.identity}:\n${rep.proc.output().slice(-6000)}`);
      }
      const state = await kubectl(fc.env, ["get", "nodeclaims,nodes,pods", "-A", "-o", "wide"]);
      console.log(state.stdout, state.stderr);
      throw e;
    } finally {
      for (const rep of replicas) await stopProc(rep.proc);
      await fc.close();
    }
  },
});
