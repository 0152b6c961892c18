/**
 * `proxscale run` as a process: the real CLI with a YAML configuration pointing at the fake PVE
 * (pinned fingerprint, token from the environment) and a kubeconfig for the fake API server.
 * A pending pod makes it create a NodeClaim and clone a VM; with --pause it only decides; SIGTERM
 * stops it with exit code 0.
 */
import assert from "node:assert/strict";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import { DEMO_PVE_TIMING } from "../harness/demo_config.ts";

const yaml = (url: string, tokenId: string, fp: string) => `
providers:
  - name: lab
    spec:
      endpoint: ${url}
      tokenId: "${tokenId}"
      tokenSecret: { env: PROXSCALE_PVE_TOKEN }
      tls: { fingerprint: "${fp}" }
      hosts:
        - { name: pve1, zone: a }
        - { name: pve2, zone: b }
      vmidRange: { lower: 1000, upper: 1999 }
      managedTag: proxscale
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { perHost: { pve1: 9000, pve2: 9001 }, full: false } }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
settings:
  batchIdle: 200ms
  batchMax: 1s
`;

async function withRun(
  extra: string[],
  body: (ctx: { claims: () => number; clones: () => number }) => Promise<void>,
): Promise<string> {
  let stdout = "";
  const pve = await startFakePve({ hosts: 2, seed: 5, model: { timing: DEMO_PVE_TIMING } });
  const kube = await startFakeKube({ seed: 5 });
  const dir = await Deno.makeTempDir();
  try {
    for (const k of KINDS) {
      kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
    }
    await Deno.writeTextFile(`${dir}/config.yaml`, yaml(pve.url, pve.tokenId, pve.fingerprint));
    await Deno.writeTextFile(`${dir}/kubeconfig`, kube.kubeconfig());
    kube.store.create("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-1",
        namespace: "default",
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web",
          uid: "u1",
          controller: true,
        }],
      },
      spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "500m" } } }] },
    }, { namespace: "default" });
    // What kube-scheduler writes when no node fits (status is a subresource).
    kube.store.patch("pods", "default", "web-1", "merge", {
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
      },
    }, { subresource: "status" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../main.ts", import.meta.url).pathname,
        "run",
        "--config",
        `${dir}/config.yaml`,
        "--kubeconfig",
        `${dir}/kubeconfig`,
        "--namespace",
        "default",
        "--http-port",
        "0",
        ...extra,
      ],
      env: { PROXSCALE_PVE_TOKEN: pve.tokenSecret },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const claims = () => {
        const r = kube.store.list("nodeclaims.proxscale.io");
        return r.ok ? r.value.items.length : 0;
      };
      const clones = () => pve.requests.filter((r) => r.path.endsWith("/clone")).length;
      await body({ claims, clones });
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      const [out, err] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]);
      stdout = out;
      assert.equal(status.code, 0, err);
    }
  } finally {
    await kube.close();
    await pve.close();
    await Deno.remove(dir, { recursive: true });
  }
  return stdout;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

Deno.test("proxscale run: a pending pod gets a NodeClaim and a cloned VM", async () => {
  await withRun([], async ({ claims, clones }) => {
    assert.ok(await until(() => claims() === 1 && clones() === 1, 20_000), "claim and clone");
  });
});

Deno.test("proxscale run --pause: decides but creates nothing", async () => {
  const out = await withRun(["--pause"], async ({ claims, clones }) => {
    // Long enough for the lease, the sync and several passes (nothing to wait for otherwise).
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal(claims(), 0);
    assert.equal(clones(), 0);
  });
  // The decision is still made and reported, marked as not carried out.
  const launch = out.split("\n").find((l) => l.includes('"msg":"LaunchClaim"'));
  assert.ok(launch, out);
  assert.match(launch, /"dry_run":true/);
  // Maintenance mode is the reason (issue 9), with the decision's own reason in the message.
  assert.match(launch, /"reason":"Paused"/);
  assert.match(
    launch,
    /"reason_message":"maintenance mode: LaunchClaim not carried out \(PodsPending: /,
  );
});
