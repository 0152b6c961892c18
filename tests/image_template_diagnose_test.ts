/**
 * `proxscale diagnose` for a MachineTemplate built from a cloud image, against the fake PVE:
 * the token needs Datastore.AllocateTemplate on the import storage, PVE's network access for
 * download-url (Sys.Audit and Sys.Modify on `/`, or Sys.AccessNetwork on the host) and
 * VM.Allocate (with the config and clone rights) on the template VMID range; the import storage
 * must take content `import`.
 */
import assert from "node:assert/strict";
import type { Config } from "../core/model.ts";
import { diagnose, formatChecks } from "../cli/diagnose.ts";
import { privilegeNeeds } from "../cli/diagnose_pve.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import type { FakePve } from "../fakes/fake_pve/server.ts";
import { demoConfig } from "../harness/demo_config.ts";

const NS = "proxscale-system";
const TOKEN = "proxscale@pve!images";
const SECRET = "0a0b0c0d-images-token-secret";

function imageConfig(pve: Pick<FakePve, "url" | "fingerprint">, hosts: string[]): Config {
  const c = demoConfig({ url: pve.url, tokenId: TOKEN, fingerprint: pve.fingerprint, hosts });
  c.providers[0]!.tokenSecret = { env: "PROXSCALE_DIAG_IMAGES" };
  c.providers[0]!.templateVmidRange = { lower: 8000, upper: 8099 };
  const t = c.machineTemplates[0]!;
  t.source = {
    kind: "image",
    url: "http://127.0.0.1:1/noble.img",
    checksum: { algorithm: "sha256", value: "a".repeat(64) },
    storage: "local-lvm",
    importStorage: "local",
    full: false,
  };
  t.bootstrap = { mode: "pveCloudInit" };
  return c;
}

/** Every privilege the config needs, granted from `/`, except those `drop` names. */
function grants(c: Config, drop: string[]): string[] {
  return [...new Set(privilegeNeeds(c.providers[0]!, c.machineTemplates).map((n) => n.priv))]
    .filter((p) => !drop.includes(p));
}

async function run(
  acls: (c: Config) => { path: string; privs: string[] }[],
  importContent: boolean,
): Promise<string[]> {
  const pve = await startFakePve({ hosts: 2, seed: 9, tokens: [] });
  try {
    if (importContent) pve.model.st.storages.get("local")!.content.push("import");
    const c = imageConfig(pve, ["pve1", "pve2"]);
    pve.auth.addToken({ id: TOKEN, secret: SECRET, acls: acls(c) });
    Deno.env.set("PROXSCALE_DIAG_IMAGES", SECRET);
    const checks = await diagnose(c, undefined, NS);
    const text = formatChecks(checks);
    return checks.filter((x) => !x.ok).map((x) => x.name).concat([text]);
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_IMAGES");
    await pve.close();
  }
}

Deno.test("diagnose: an image template needs AllocateTemplate, network access and the template range", async () => {
  const out = await run((c) => [{
    path: "/",
    privs: grants(c, ["Datastore.AllocateTemplate", "Sys.Modify"]),
  }], false);
  const text = out.pop()!;
  assert.deepEqual(out.sort(), [
    "pve demo: storage local (import) on pve1",
    "pve demo: storage local (import) on pve2",
    "pve demo: token rights Datastore.AllocateTemplate on /storage/local",
    "pve demo: token rights Sys.Modify on /",
  ], text);
  assert.match(
    text,
    /token rights Datastore\.AllocateTemplate on \/storage\/local: the token lacks Datastore\.AllocateTemplate on \/storage\/local, needed to download worker's cloud image \(download-url\)/,
  );
  assert.match(text, /token rights Sys\.Modify on \/: .*fetch worker's image URL \(download-url\)/);
  assert.match(text, /storage local \(import\) on pve1: holds .*not import/);
  assert.match(text, /fix: pvesm set local --content .*import/);
});

Deno.test("diagnose: Sys.AccessNetwork on each host stands in for Sys.Audit and Sys.Modify on /", async () => {
  const out = await run((c) => [
    { path: "/", privs: grants(c, ["Sys.Modify"]) },
    { path: "/nodes/pve1", privs: ["Sys.AccessNetwork"] },
    { path: "/nodes/pve2", privs: ["Sys.AccessNetwork"] },
  ], true);
  const text = out.pop()!;
  assert.deepEqual(out, [], text);
  const c = imageConfig({ url: "https://x", fingerprint: "" }, ["pve1"]);
  const needs = privilegeNeeds(c.providers[0]!, c.machineTemplates).map((n) =>
    `${n.priv}@${n.path}`
  );
  for (const n of ["VM.Allocate@/vms/8000", "VM.Clone@/vms/8000", "VM.Config.HWType@/vms/8000"]) {
    assert.ok(needs.includes(n), n);
  }
});
