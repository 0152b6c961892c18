import { deepEqual, equal, match, ok as assert } from "node:assert/strict";
import { startFakeRedfish } from "../../fakes/fake_redfish/server.ts";
import { issueCa, issueLeaf, serverSans } from "../../fakes/tls/pki.ts";
import type { Provider } from "../../core/model.ts";
import { connectRedfishProvider, SeedServers } from "./connect.ts";

async function providerConfig(
  bmc: { url: string; fingerprint: string },
  dir: string,
): Promise<Provider> {
  const ca = await issueCa("seed CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans(),
  });
  await Deno.writeTextFile(`${dir}/seed.crt`, leaf.certPem);
  await Deno.writeTextFile(`${dir}/seed.key`, leaf.keyPem);
  return {
    name: "rack",
    kind: "redfish",
    redfish: {
      machines: [{
        name: "m1",
        zone: "a",
        endpoint: bmc.url,
        systemId: "node1",
        username: "admin",
        password: { env: "BMC_PW" },
        tls: { fingerprint: bmc.fingerprint, insecureSkipVerify: false },
      }],
      seedServer: {
        listen: "127.0.0.1:0",
        url: "https://127.0.0.1:1",
        certFile: `${dir}/seed.crt`,
        keyFile: `${dir}/seed.key`,
        ttlSeconds: 60,
      },
    },
    endpoint: "",
    tokenId: "",
    tokenSecret: { env: "" },
    tls: { insecureSkipVerify: false },
    hosts: [{
      name: "m1",
      zone: "a",
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      reserved: { cpu: 0, memory: 0 },
    }],
    vmidRange: { lower: 100, upper: 100 },
    managedTag: "proxscale",
    placement: "mostAllocated",
  };
}

Deno.test("a redfish Provider connects with its secret password and pinned BMC, and starts its seed server", async () => {
  const bmc = await startFakeRedfish({ systems: [{ cpus: 8, memoryGiB: 32 }] });
  const dir = await Deno.makeTempDir();
  try {
    const cfg = await providerConfig(bmc, dir);
    const learned: string[] = [];
    const c = await connectRedfishProvider(cfg, {
      getEnv: (n) => (n === "BMC_PW" ? bmc.password : undefined),
      onSecret: (s) => learned.push(s),
    });
    assert(c.ok, c.ok ? "" : c.error);
    deepEqual(learned, [bmc.password], "the redaction guard learns the password");
    equal(c.value.seeds.url, "https://127.0.0.1:1", "BMCs are given the configured origin");
    const inv = await c.value.provider.inventory();
    assert(inv.ok);
    deepEqual(inv.value.map((h) => [h.name, h.capacity.cpu]), [["m1", 8000]]);
    await c.value.close();
  } finally {
    await bmc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreadable BMC password or seed certificate is a message, not a throw", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = await providerConfig({ url: "https://127.0.0.1:9", fingerprint: "AA" }, dir);
    const noPw = await connectRedfishProvider(cfg, { getEnv: () => undefined });
    assert(!noPw.ok);
    match(noPw.error, /machine m1: BMC password: environment variable BMC_PW/);
    cfg.redfish!.seedServer.certFile = `${dir}/missing.crt`;
    const noCert = await connectRedfishProvider(cfg, { getEnv: () => "pw" });
    assert(!noCert.ok);
    match(noCert.error, /seed server certificate or key unreadable/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a rebuilt connection shares the seed server on its address until the last one closes", async () => {
  const bmc = await startFakeRedfish({ systems: 1 });
  const dir = await Deno.makeTempDir();
  try {
    const cfg = await providerConfig(bmc, dir);
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    cfg.redfish!.seedServer.listen = `127.0.0.1:${port}`;
    const shared = new SeedServers();
    const deps = { getEnv: () => bmc.password, seedServers: shared };
    const a = await connectRedfishProvider(cfg, deps);
    assert(a.ok, a.ok ? "" : a.error);
    const b = await connectRedfishProvider(cfg, deps);
    assert(b.ok, b.ok ? "" : b.error);
    equal(a.value.seeds, b.value.seeds, "one server, not a second bind on the same port");
    await a.value.close();
    const still = await Deno.connect({ hostname: "127.0.0.1", port });
    still.close();
    await b.value.close();
    const free = Deno.listen({ hostname: "127.0.0.1", port });
    free.close();
  } finally {
    await bmc.close();
    await Deno.remove(dir, { recursive: true });
  }
});
