/**
 * `proxscale host` and `proxscale pool` against a cluster (the fake API server with the CRDs
 * and the example configuration migrated into it): host maintenance is the Provider's
 * host-maintenance.proxscale.io/HOST annotation, which the configuration loaded from the
 * cluster then carries; pool commands patch the NodePool spec, refused by its CEL rules when
 * invalid; `host drain --wait` follows the NodeClaims on the host until none is left.
 */
import assert from "node:assert/strict";
import { captureIo, type Command } from "../cli/command.ts";
import { hostCommand } from "../cli/host.ts";
import { poolCommand } from "../cli/pool.ts";
import { migrateText } from "../cli/migrate.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { createNodeClaim, setNodeClaimStatus } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { GiB } from "../core/quantity.ts";

const NS = "proxscale-system";

async function cli(cmd: Command, args: string[]) {
  const io = captureIo();
  const code = await cmd.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

Deno.test({
  name: "host and pool commands write the Provider annotation and the NodePool spec in the cluster",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kube = await startFakeKube({ seed: 9 });
    const dir = await Deno.makeTempDir({ prefix: "proxscale-host-kube-" });
    try {
      for (const k of KINDS) {
        assert.ok(
          kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k)).ok,
        );
      }
      assert.ok(kube.store.create("namespaces", { metadata: { name: NS } } as never, {}).ok);
      const admin = kubeClientFromKubeconfig(kube.kubeconfig());
      let served = false;
      for (let i = 0; i < 100 && !served; i++) {
        served = (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/providers")).ok;
        if (!served) await new Promise((r) => setTimeout(r, 20));
      }
      const example = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
      const m = migrateText(example, "config.example.yaml");
      assert.ok(m.ok);
      for (const o of m.value.manifests) {
        const path = o.kind === "ConfigMap"
          ? `/api/v1/namespaces/${NS}/configmaps`
          : `/apis/proxscale.io/v1alpha1/${o.kind.toLowerCase()}s`;
        assert.ok((await admin.requestJson("POST", path, { body: o })).ok, o.kind);
      }
      const kc = `${dir}/kubeconfig`;
      await Deno.writeTextFile(kc, kube.kubeconfig());
      const at = ["--kubeconfig", kc, "--namespace", NS];

      const drain = await cli(hostCommand, ["drain", "pve2", ...at]);
      assert.equal(drain.code, 0, drain.err);
      assert.equal(
        drain.out,
        "Provider homelab: annotation host-maintenance.proxscale.io/pve2=drain set",
      );
      let config = await loadConfigFromCluster(admin, NS);
      assert.ok(config.ok);
      assert.deepEqual(
        config.value.providers[0]!.hosts.map((h) => [h.name, h.maintenance]),
        [["pve1", undefined], ["pve2", "drain"], ["pve3", undefined]],
      );
      const list = await cli(hostCommand, ["list", ...at]);
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /homelab\s+pve2\s+rack-b\s+drain\s+config\s+up\s+0/);

      // --wait follows the NodeClaims on the host until the last one is gone.
      const claim = {
        name: "general-abcde",
        nodePool: "general",
        machineTemplate: "worker",
        provider: "homelab",
        shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
        createdAt: Date.now(),
        labels: {},
        taints: [],
        startupTaints: [],
        conditions: [],
      };
      assert.ok((await createNodeClaim(admin, claim)).ok);
      assert.ok((await setNodeClaimStatus(admin, claim.name, { vmid: 9100, host: "pve2" })).ok);
      const waiting = cli(hostCommand, ["drain", "pve2", ...at, "--wait", "--interval", "50ms"]);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(
        (await admin.requestJson("DELETE", `/apis/proxscale.io/v1alpha1/nodeclaims/${claim.name}`))
          .ok,
      );
      const waited = await waiting;
      assert.equal(waited.code, 0, waited.err);
      assert.match(waited.out, /pve2: 1 NodeClaim left\npve2: drained, no proxscale VM left$/);

      const un = await cli(hostCommand, ["uncordon", "pve2", ...at]);
      assert.equal(
        un.out,
        "Provider homelab: annotation host-maintenance.proxscale.io/pve2 removed",
      );
      config = await loadConfigFromCluster(admin, NS);
      assert.ok(config.ok);
      assert.ok(config.value.providers[0]!.hosts.every((h) => h.maintenance === undefined));

      const min = await cli(poolCommand, ["scale-min", "general", "2", ...at]);
      assert.equal(min.code, 0, min.err);
      assert.equal(min.out, "NodePool general: spec.minNodes set to 2");
      assert.equal((await cli(poolCommand, ["pause", "general", ...at])).code, 0);
      config = await loadConfigFromCluster(admin, NS);
      assert.ok(config.ok);
      const general = config.value.nodePools.find((p) => p.name === "general")!;
      assert.equal(general.minNodes, 2);
      assert.equal(general.paused, true);
      const pools = await cli(poolCommand, ["list", ...at]);
      assert.match(pools.out, /general\s+worker\s+0\s+2\s+32\s+\S+ vCPU\s+\S+\s+yes/);
      const tooMany = await cli(poolCommand, ["scale-min", "general", "40", ...at]);
      assert.equal(tooMany.code, 1);
      assert.match(tooMany.err, /minNodes must not exceed limits\.nodes/);
      assert.equal((await cli(poolCommand, ["resume", "general", ...at])).code, 0);
      config = await loadConfigFromCluster(admin, NS);
      assert.ok(config.ok);
      assert.equal(config.value.nodePools.find((p) => p.name === "general")!.paused, undefined);

      // A Redfish Provider's machine is one node: host maintenance refuses it, saying so.
      const rack = {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "Provider",
        metadata: { name: "rack" },
        spec: {
          kind: "redfish",
          machines: [{
            name: "r1-07",
            endpoint: "https://bmc-r1-07.lan",
            systemId: "System.Embedded.1",
            username: "proxscale",
            password: { file: "/etc/proxscale/bmc" },
          }],
          seedServer: {
            url: "https://proxscale.lan:8450",
            certFile: "/etc/proxscale/seed.crt",
            keyFile: "/etc/proxscale/seed.key",
          },
        },
      };
      const made = await admin.requestJson("POST", "/apis/proxscale.io/v1alpha1/providers", {
        body: rack,
      });
      assert.ok(made.ok, made.ok ? "" : made.error.message);
      const metal = await cli(hostCommand, ["cordon", "r1-07", ...at]);
      assert.equal(metal.code, 1);
      assert.match(
        metal.err,
        /Provider rack is kind redfish \(bare metal\): host maintenance is for Proxmox hosts; a machine such as r1-07 is one node, so cordon or drain its node with kubectl/,
      );
      const named = await cli(hostCommand, ["drain", "pve2", "--provider", "rack", ...at]);
      assert.equal(named.code, 1);
      assert.match(named.err, /Provider rack is kind redfish/);
      const got = await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/providers/rack");
      assert.ok(got.ok);
      assert.equal(
        (got.value.body as { metadata: { annotations?: object } }).metadata.annotations,
        undefined,
        "nothing written",
      );
    } finally {
      await kube.close();
    }
  },
});
