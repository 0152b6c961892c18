/**
 * `tokenSecret: { secret: ... }` (and the Redis password) read from a Kubernetes Secret, as
 * `proxscale run` does, against the fake API server with proxscale's own RBAC: the PVE token is
 * read from a Secret in proxscale's namespace and a Provider pointing at it talks to the fake
 * PVE; a missing Secret, a missing key and a Secret in another namespace (403) are clear errors
 * naming namespace/name, never a value; `proxscale run` stops at startup with that error.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cli/command.ts";
import { runCommand } from "../cli/run.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { kubeSecretReader } from "../adapters/kubernetes/secret_reader.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { readSecret } from "../adapters/proxmox/secret.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import { demoConfig } from "../harness/demo_config.ts";
import { applyShippedRbac } from "./testing/shipped_rbac.ts";

const NS = "proxscale-system";

function secretObject(namespace: string, name: string, data: Record<string, string>) {
  const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)]));
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "Opaque",
    data: b64,
  };
}

async function withFakes(
  body: (
    f: {
      kube: Awaited<ReturnType<typeof startFakeKube>>;
      sa: KubeClient;
      saToken: string;
      token: string;
    },
  ) => Promise<void>,
) {
  const kube = await startFakeKube({ seed: 11 });
  try {
    const token = "7c4a8d09-ca37-42ab-9c1e-secret-in-kube";
    for (const ns of [NS, "other"]) {
      const r = kube.store.create("namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
      assert.ok(r.ok || r.error.reason === "AlreadyExists", JSON.stringify(r));
    }
    for (const [ns, name] of [[NS, "pve-token"], ["other", "pve-token"]] as const) {
      assert.ok(
        kube.store.create("secrets", secretObject(ns, name, { token: `${token}\n` }), {
          namespace: ns,
        }).ok,
      );
    }
    // The daemon refuses to start without its CRDs.
    for (const k of KINDS) {
      kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
    }
    const saToken = await applyShippedRbac(kube, NS);
    const sa = kubeClientFromKubeconfig(kube.kubeconfig().replace(kube.token, saToken));
    await body({ kube, sa, saToken, token });
  } finally {
    await kube.close();
  }
}

Deno.test("a Provider's token is read from a Secret in proxscale's namespace and used", async () => {
  const pve = await startFakePve({ hosts: 1, seed: 11 });
  try {
    await withFakes(async ({ kube, sa }) => {
      assert.ok(
        kube.store.create(
          "secrets",
          secretObject(NS, "pve-real", { token: pve.tokenSecret }),
          { namespace: NS },
        ).ok,
      );
      const c = demoConfig({
        url: pve.url,
        tokenId: pve.tokenId,
        fingerprint: pve.fingerprint,
        hosts: ["pve1"],
      });
      const provider = c.providers[0]!;
      provider.tokenSecret = { secret: { namespace: NS, name: "pve-real", key: "token" } };
      const client = await connectPveClient(provider, {
        readKubeSecret: kubeSecretReader(sa, NS),
      });
      assert.ok(client.ok, client.ok ? "" : client.error.message);
      try {
        const v = await client.value.version();
        assert.ok(v.ok, "the fake PVE accepted the token read from the Secret");
      } finally {
        client.value.close();
      }
    });
  } finally {
    await pve.close();
  }
});

Deno.test("Secret references: value decoded; missing Secret, missing key, other namespace are clear errors", async () => {
  await withFakes(async ({ sa, token }) => {
    const deps = { readKubeSecret: kubeSecretReader(sa, NS) };
    const ref = (namespace: string, name: string, key = "token") => ({
      secret: { namespace, name, key },
    });

    assert.deepEqual(await readSecret(ref(NS, "pve-token"), deps), { ok: true, value: token });

    const missing = await readSecret(ref(NS, "nope"), deps);
    assert.ok(!missing.ok);
    assert.equal(
      missing.error.message,
      `Kubernetes Secret ${NS}/nope key token: does not exist`,
    );

    const noKey = await readSecret(ref(NS, "pve-token", "secret"), deps);
    assert.ok(!noKey.ok);
    assert.equal(
      noKey.error.message,
      `Kubernetes Secret ${NS}/pve-token key secret: has no key secret (keys: token)`,
    );

    const elsewhere = await readSecret(ref("other", "pve-token"), deps);
    assert.ok(!elsewhere.ok);
    assert.match(
      elsewhere.error.message,
      /^Kubernetes Secret other\/pve-token key token: forbidden: proxscale may read Secrets only in its own namespace proxscale-system; .*get on secrets in other/,
    );
    for (const e of [missing, noKey, elsewhere]) {
      assert.ok(!JSON.stringify(e).includes(token.slice(0, 12)));
    }
  });
});

Deno.test("proxscale run: a token Secret in another namespace stops the start with a clear error", async () => {
  await withFakes(async ({ kube, saToken, token }) => {
    const dir = await Deno.makeTempDir({ prefix: "proxscale-run-secret-" });
    try {
      await Deno.writeTextFile(
        `${dir}/kubeconfig`,
        kube.kubeconfig().replace(kube.token, saToken),
      );
      await Deno.writeTextFile(
        `${dir}/config.yaml`,
        `providers:
  - name: lab
    spec:
      endpoint: https://127.0.0.1:1
      tokenId: "proxscale@pve!t"
      tokenSecret: { secret: { namespace: other, name: pve-token, key: token } }
      tls: { fingerprint: "${"AA:".repeat(31)}AA" }
      hosts: [{ name: pve1, zone: a }]
      vmidRange: { lower: 1000, upper: 1999 }
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { templateVmid: 9000, full: false } }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec: { machineTemplate: worker }
`,
      );
      const io = captureIo();
      const code = await runCommand.run([
        "--config",
        `${dir}/config.yaml`,
        "--kubeconfig",
        `${dir}/kubeconfig`,
        "--namespace",
        NS,
      ], io);
      const err = io.stderr.join("\n");
      assert.equal(code, 1, err + io.stdout.join("\n"));
      assert.match(
        err,
        /provider lab: Kubernetes Secret other\/pve-token key token: forbidden: proxscale may read Secrets only in its own namespace proxscale-system/,
      );
      assert.ok(!err.includes(token.slice(0, 12)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
