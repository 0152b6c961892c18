/**
 * The scenario every install test runs once its daemon is up: a Deployment applied with kubectl
 * goes from 0 to 30 pods (all Running on Nodes proxscale brought) and back to 0 (every VM gone
 * from the fake PVE, no NodeClaim, no bootstrap-token Secret, no seed ISO left), with the PVE
 * inventory read over its API all along to count VMs created and duplicates. It prints the
 * figures and returns them.
 *
 * May import: adapters/, tests/.
 */
import assert from "node:assert/strict";
import {
  duplicateClaims,
  eventually,
  type FakeClusterProc,
  kubectl,
  pveInventory,
} from "./e2e_install.ts";

/** Pods of the workload. */
export const PODS = 30;

/**
 * 30 pods of 500m CPU / 512Mi: a few of the template's larger shapes hold them, so the run
 * boots a handful of VMs instead of one per pod and stays CI-sized. A 1 s termination grace
 * period (the default is 30 s, which the fake kubelet waits out as a real one would for a
 * container that ignores SIGTERM) lets the scale-down measure proxscale, not the grace period.
 */
const WORKLOAD = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: ${PODS}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - {name: c, image: registry.invalid/pause:3, resources: {requests: {cpu: 500m, memory: 512Mi}}}
`;

/** What a run measured. */
export type Figures = {
  /** `kubectl apply` of the workload to all 30 pods Running. */
  upMs: number;
  /** `kubectl scale --replicas=0` to no VM left. */
  downMs: number;
  vmsCreated: number;
  vmsRemoved: number;
  leaked: number;
  duplicates: number;
};

async function lines(fc: FakeClusterProc, args: string[]): Promise<string[]> {
  const r = await kubectl(fc.env, args);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.split(/\s+/).filter(Boolean);
}

const bootstrapSecrets = (fc: FakeClusterProc) =>
  lines(fc, ["-n", "kube-system", "get", "secrets", "-o", "name"]).then((l) =>
    l.filter((n) => n.startsWith("secret/bootstrap-token-"))
  );

/**
 * Runs the scenario. `midScaleUp` is called once, as soon as the first VM exists and before the
 * pods run (the leader-kill test kills the leader there).
 */
export async function scaleZeroToThirtyToZero(
  fc: FakeClusterProc,
  label: string,
  midScaleUp?: () => Promise<void>,
): Promise<Figures> {
  const seen = new Set<number>();
  const maxDuplicates: string[] = [];
  let polling = true;
  let firstVm = Promise.withResolvers<void>();
  const poller = (async () => {
    while (polling) {
      const inv = await pveInventory(fc.pve);
      for (const v of inv.vms) seen.add(v.vmid);
      maxDuplicates.push(...duplicateClaims(inv));
      if (inv.vms.length > 0) firstVm.resolve();
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    const running = async () =>
      (await lines(fc, [
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
      ])).filter((p) => p === "Running").length;

    const t0 = Date.now();
    const applied = await kubectl(fc.env, ["apply", "-f", "-"], WORKLOAD);
    assert.equal(applied.code, 0, applied.stderr);
    if (midScaleUp) {
      await Promise.race([
        firstVm.promise,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("no VM within 60 s of the apply")), 60_000)
        ),
      ]);
      assert.ok((await running()) < PODS, "the hook runs before every pod runs");
      await midScaleUp();
    }
    await eventually(
      `${PODS} pods Running`,
      120_000,
      async () => (await running()) === PODS ? true : undefined,
    );
    const upMs = Date.now() - t0;
    const nodes = await lines(fc, ["get", "nodes", "-o", "name"]);
    const claimsUp = await lines(fc, ["get", "nodeclaims", "-o", "name"]);

    const t1 = Date.now();
    const scaled = await kubectl(fc.env, ["scale", "deployment", "web", "--replicas=0"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    const end = await eventually("every VM gone from the PVE", 120_000, async () => {
      const inv = await pveInventory(fc.pve);
      return inv.vms.length === 0 ? inv : undefined;
    });
    const downMs = Date.now() - t1;
    polling = false;
    await poller;
    // Releases follow the VM's deletion: the claim, its join-token Secret and its seed ISO.
    await eventually("no NodeClaim, token Secret or seed ISO left", 30_000, async () => {
      const claims = await lines(fc, ["get", "nodeclaims", "-o", "name"]);
      const secrets = await bootstrapSecrets(fc);
      const isos = (await pveInventory(fc.pve)).seedIsos;
      return claims.length + secrets.length + isos.length === 0 ? true : undefined;
    });
    const figures: Figures = {
      upMs,
      downMs,
      vmsCreated: seen.size,
      vmsRemoved: seen.size - end.vms.length,
      leaked: end.vms.length,
      duplicates: new Set(maxDuplicates).size,
    };
    console.log(
      `${label}: apply -> ${PODS} pods Running in ${(upMs / 1000).toFixed(1)} s on ` +
        `${nodes.length} nodes (${claimsUp.length} NodeClaims); scale to 0 -> no VM in ` +
        `${(downMs / 1000).toFixed(1)} s; VMs created ${figures.vmsCreated}, removed ` +
        `${figures.vmsRemoved}, leaked ${figures.leaked}, duplicates ${figures.duplicates}`,
    );
    assert.ok(figures.vmsCreated > 0, "VMs were created");
    assert.equal(figures.leaked, 0, "no VM left");
    assert.equal(figures.duplicates, 0, "no claim had two VMs");
    return figures;
  } finally {
    polling = false;
    firstVm.resolve();
    firstVm = Promise.withResolvers<void>();
    await poller.catch(() => {});
  }
}
