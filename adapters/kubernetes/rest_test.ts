import assert from "node:assert/strict";
import { stringify } from "yaml";
import { startFakeKube } from "../../fakes/fake_kube/server.ts";
import { KubeClient } from "./client.ts";
import { lines, RestTransport } from "./rest.ts";
import { inClusterConfig, kubeClientFromKubeconfig, parseKubeconfig } from "./kubeconfig.ts";

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: "https://k.example:6443/", ...cluster } }],
    users: [{ name: "u", user }],
    contexts: [
      { name: "x", context: { cluster: "c", user: "u", namespace: "team" } },
      { name: "nouser", context: { cluster: "c", user: "missing" } },
    ],
    "current-context": "x",
  });
}

Deno.test("kubeconfig: inline data, files relative to the kubeconfig, token, basic auth and plugins", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, "CA FROM FILE");
    const inline = parseKubeconfig(
      kubeconfig({ "certificate-authority-data": btoa("CA PEM") }, {
        "client-certificate-data": btoa("CERT"),
        "client-key-data": btoa("KEY"),
        token: "tok",
      }),
    );
    assert.ok(inline.ok, !inline.ok ? inline.error : "");
    assert.equal(inline.value.server, "https://k.example:6443");
    assert.deepEqual(inline.value.caCerts, ["CA PEM"]);
    assert.equal(inline.value.clientCertPem, "CERT");
    assert.equal(inline.value.clientKeyPem, "KEY");
    assert.equal(inline.value.token, "tok");
    assert.equal(inline.value.namespace, "team");
    assert.equal(inline.value.pluginKubeconfig, undefined);

    const files = parseKubeconfig(
      kubeconfig({ "certificate-authority": "ca.pem" }, { tokenFile: "token" }),
      { baseDir: dir },
    );
    assert.ok(files.ok);
    assert.deepEqual(files.value.caCerts, ["CA FROM FILE"]);
    assert.equal(files.value.tokenFile, `${dir}/token`);

    const basic = parseKubeconfig(kubeconfig({}, { username: "a", password: "b" }));
    assert.ok(basic.ok && basic.value.basic?.username === "a");
    const exec = parseKubeconfig(kubeconfig({}, { exec: { command: "aws" } }));
    assert.ok(exec.ok && exec.value.pluginKubeconfig !== undefined);

    const missingFile = parseKubeconfig(kubeconfig({ "certificate-authority": "nope.pem" }, {}), {
      baseDir: dir,
    });
    assert.ok(!missingFile.ok && /nope\.pem/.test(missingFile.error));
    assert.equal(parseKubeconfig(kubeconfig({}, {}), { context: "other" }).ok, false);
    assert.equal(parseKubeconfig(": not yaml: [").ok, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("over TLS with the cluster CA: bearer token and client certificate authenticate, nothing else does", async () => {
  const fake = await startFakeKube({ seed: 3 });
  try {
    const token = kubeClientFromKubeconfig(fake.kubeconfig());
    const r = await token.requestJson("GET", "/api/v1/namespaces/default");
    assert.ok(r.ok, JSON.stringify(r));

    const cert = parseKubeconfig(fake.kubeconfig(), { context: "proxscale-fake-cert" });
    assert.ok(cert.ok && cert.value.clientCertPem);
    const byCert = await new KubeClient(cert.value).requestJson("GET", "/api/v1/namespaces");
    assert.ok(byCert.ok, JSON.stringify(byCert));

    const anonymous = { ...cert.value };
    delete anonymous.clientCertPem;
    delete anonymous.clientKeyPem;
    const denied = await new KubeClient(anonymous).requestJson("GET", "/api/v1/namespaces");
    assert.ok(!denied.ok && denied.error.kind === "Status" && denied.error.code === 401);

    const wrongCa = await new KubeClient({ ...cert.value, caCerts: [] }).requestJson(
      "GET",
      "/api/v1/namespaces",
    );
    assert.ok(!wrongCa.ok && wrongCa.error.kind === "Transport", JSON.stringify(wrongCa));
  } finally {
    await fake.close();
  }
});

Deno.test("a token file is read for each connection's requests", async () => {
  const fake = await startFakeKube({ seed: 4 });
  const file = await Deno.makeTempFile();
  try {
    const base = parseKubeconfig(fake.kubeconfig());
    assert.ok(base.ok);
    const { token: _, ...rest } = base.value;
    await Deno.writeTextFile(file, `${fake.token}\n`);
    const t = new RestTransport({ ...rest, tokenFile: file });
    const resp = await t.fetch("GET", "/api/v1/namespaces");
    await resp.body?.cancel();
    assert.equal(resp.status, 200);
    t.close();
  } finally {
    await Deno.remove(file);
    await fake.close();
  }
});

Deno.test("watch lines are split across chunks and a last line without newline is kept", async () => {
  const enc = new TextEncoder();
  const parts = ['{"a":', '1}\n{"b"', ":2}\n\n", '{"c":"✓"}'];
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const p = parts.shift();
      if (p === undefined) c.close();
      else c.enqueue(enc.encode(p));
    },
  });
  const got: string[] = [];
  for await (const l of lines(body)) got.push(l);
  assert.deepEqual(got, ['{"a":1}', '{"b":2}', '{"c":"✓"}']);
});

Deno.test("in-cluster config reads the service account folder PROXSCALE_SERVICE_ACCOUNT_DIR names", async () => {
  const dir = await Deno.makeTempDir();
  const saved = [
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "PROXSCALE_SERVICE_ACCOUNT_DIR",
  ]
    .map((k) => [k, Deno.env.get(k)] as const);
  try {
    await Deno.writeTextFile(`${dir}/ca.crt`, "SA CA");
    await Deno.writeTextFile(`${dir}/namespace`, "ops\n");
    await Deno.writeTextFile(`${dir}/token`, "tok");
    Deno.env.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    Deno.env.set("KUBERNETES_SERVICE_PORT", "6443");
    Deno.env.set("PROXSCALE_SERVICE_ACCOUNT_DIR", dir);
    const c = inClusterConfig();
    assert.ok(c.ok, c.ok ? "" : c.error);
    assert.equal(c.value.server, "https://10.96.0.1:6443");
    assert.deepEqual(c.value.caCerts, ["SA CA"]);
    assert.equal(c.value.namespace, "ops");
    assert.equal(c.value.tokenFile, `${dir}/token`);
    // Without the override the kubelet's mount point is read, and here it does not exist.
    Deno.env.delete("PROXSCALE_SERVICE_ACCOUNT_DIR");
    const plain = inClusterConfig();
    if (plain.ok) {
      assert.equal(plain.value.tokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
    } else {assert.match(
        plain.error,
        /\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/ca\.crt/,
      );}
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watch lines end as soon as their signal aborts, even while the body stays silent", async () => {
  const enc = new TextEncoder();
  // A body that delivered one line and then neither ends nor errors (a half-dead watch).
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode('{"type":"ADDED"}\n'));
    },
  });
  const stop = new AbortController();
  const got: string[] = [];
  const reading = (async () => {
    for await (const l of lines(body, stop.signal)) got.push(l);
    return "ended";
  })();
  await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  const first = await Promise.race([
    reading,
    new Promise((r) => setTimeout(() => r("still reading"), 1_000)),
  ]);
  assert.equal(first, "ended");
  assert.deepEqual(got, ['{"type":"ADDED"}']);
});
