/**
 * `proxscale backup` and `restore` against the fake API server, for what the end-to-end run
 * does not reach: every kind of the proxscale.io group is backed up, found from the CRDs (a
 * kind proxscale's own code never names, Tenant here, included); bad files, invalid
 * configurations and missing CRDs are refused with exit codes and messages that say where.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { captureIo } from "../cli/command.ts";
import { backupCommand } from "../cli/backup.ts";
import { restoreCommand } from "../cli/restore.ts";

const NS = "proxscale-system";

/** A proxscale.io kind this proxscale does not know: backup must find it from its CRD alone. */
const GADGET_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "gadgets.proxscale.io" },
  spec: {
    group: "proxscale.io",
    scope: "Cluster",
    names: { kind: "Gadget", plural: "gadgets", singular: "gadget", listKind: "GadgetList" },
    versions: [{
      name: "v1alpha1",
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      },
    }],
  },
};

const CONFIG = [
  {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "Provider",
    metadata: { name: "lab" },
    spec: {
      endpoint: "https://127.0.0.1:1",
      tokenId: "a@pam!b",
      tokenSecret: { secret: { namespace: NS, name: "pve", key: "token" } },
      hosts: [{ name: "pve1" }],
      vmidRange: { lower: 1000, upper: 1100 },
    },
  },
  {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "MachineTemplate",
    metadata: { name: "worker" },
    spec: {
      provider: "lab",
      shapes: [{ cpu: 2, memory: "4Gi" }],
      source: { clone: { templateVmid: 9000 } },
    },
  },
  {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodePool",
    metadata: { name: "general" },
    spec: { machineTemplate: "worker" },
  },
];

async function withKube(
  crds: boolean,
  body: (dir: string, kc: string, fake: Awaited<ReturnType<typeof startFakeKube>>) => Promise<void>,
) {
  const fake = await startFakeKube({ seed: 9 });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-backup-cli-" });
  try {
    fake.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    if (crds) {
      for (const k of KINDS) {
        const r = fake.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
        assert.ok(r.ok);
      }
    }
    await Deno.writeTextFile(`${dir}/kubeconfig`, fake.kubeconfig());
    await body(dir, `--kubeconfig=${dir}/kubeconfig`, fake);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("backup finds every kind of the proxscale.io group from the CRDs, Tenants and one it does not know included", async () => {
  await withKube(true, async (dir, kc, fake) => {
    const crd = fake.store.create("customresourcedefinitions.apiextensions.k8s.io", GADGET_CRD);
    assert.ok(crd.ok);
    const g = fake.store.create("gadgets.proxscale.io", {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "Gadget",
      metadata: { name: "g1" },
      spec: { size: 3 },
    });
    assert.ok(g.ok, JSON.stringify(!g.ok && g.error));
    for (const o of CONFIG) {
      assert.ok(fake.store.create(`${o.kind.toLowerCase()}s.proxscale.io`, o).ok);
    }
    const t = fake.store.create("tenants.proxscale.io", {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "Tenant",
      metadata: { name: "team-a" },
      spec: { namespaces: ["a"] },
    });
    assert.ok(t.ok, JSON.stringify(!t.ok && t.error));
    const io = captureIo();
    const code = await backupCommand.run([kc, `--out=${dir}/b.yaml`], io);
    assert.equal(code, 0, io.stderr.join("\n"));
    const doc = parseYaml(await Deno.readTextFile(`${dir}/b.yaml`));
    assert.deepEqual(
      doc.kinds.map((k: { kind: string }) => k.kind),
      ["Gadget", "MachineTemplate", "NodeClaim", "NodePool", "Provider", "Tenant"],
    );
    assert.ok(doc.objects.some((o: { kind: string }) => o.kind === "Tenant"));
    assert.ok(doc.objects.some((o: { kind: string }) => o.kind === "Gadget"));
    assert.deepEqual(doc.secretRefs, [{
      namespace: NS,
      name: "pve",
      key: "token",
      usedBy: "Provider/lab",
    }]);
    // PVE cannot be reached here: the file is still written, and the warning says why.
    assert.match(io.stderr.join("\n"), /warning: inventory: provider lab: /);
  });
});

Deno.test("restore refuses a file that is not a backup, of another format, or with an invalid configuration", async () => {
  await withKube(true, async (dir, kc) => {
    const io = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/none.yaml`, kc], io), 2);
    assert.match(io.stderr[0]!, /none\.yaml: cannot read/);
    await Deno.writeTextFile(`${dir}/pod.yaml`, "apiVersion: v1\nkind: Pod\n");
    const io2 = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/pod.yaml`, kc], io2), 2);
    assert.match(io2.stderr[0]!, /pod\.yaml: not a proxscale backup/);
    const backup = (objects: unknown[], formatVersion = 1) =>
      JSON.stringify({
        apiVersion: "proxscale.io/backup",
        kind: "ProxscaleBackup",
        formatVersion,
        createdAt: "",
        namespace: NS,
        kinds: [],
        objects,
        configHistory: [],
        secretRefs: [],
        inventory: { vms: [], problems: [] },
      });
    await Deno.writeTextFile(`${dir}/v9.yaml`, backup(CONFIG, 9));
    const io3 = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/v9.yaml`, kc], io3), 2);
    assert.match(io3.stderr[0]!, /formatVersion 9 is not one this proxscale reads/);
    const bad = structuredClone(CONFIG);
    (bad[2]!.spec as Record<string, unknown>).weight = 0;
    await Deno.writeTextFile(`${dir}/bad.yaml`, backup(bad));
    const io4 = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/bad.yaml`, kc], io4), 2);
    assert.match(io4.stderr.join("\n"), /bad\.yaml: NodePool\/general.*spec\.weight/);
  });
});

Deno.test("restore names the missing CRD and changes nothing; with the CRDs it creates, then finds nothing to change", async () => {
  const text = JSON.stringify({
    apiVersion: "proxscale.io/backup",
    kind: "ProxscaleBackup",
    formatVersion: 1,
    createdAt: "",
    namespace: NS,
    kinds: [],
    objects: CONFIG,
    configHistory: [],
    secretRefs: [],
    inventory: { vms: [], problems: [] },
  });
  await withKube(false, async (dir, kc) => {
    await Deno.writeTextFile(`${dir}/b.yaml`, text);
    const io = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/b.yaml`, kc], io), 1);
    assert.match(
      io.stderr.join("\n"),
      /kind NodePool is not installed in the cluster \(CRD nodepools\.proxscale\.io\)/,
    );
  });
  await withKube(true, async (dir, kc) => {
    await Deno.writeTextFile(`${dir}/b.yaml`, text);
    const io = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/b.yaml`, kc], io), 0, io.stderr.join("\n"));
    assert.match(io.stdout.join("\n"), /^\+ NodePool\/general \(create\)$/m);
    const again = captureIo();
    assert.equal(await restoreCommand.run([`${dir}/b.yaml`, kc, "--dry-run"], again), 0);
    assert.match(again.stdout.join("\n"), /^= NodePool\/general \(unchanged\)$/m);
    assert.match(again.stdout.join("\n"), /dry run: 0 objects would be applied/);
  });
});
