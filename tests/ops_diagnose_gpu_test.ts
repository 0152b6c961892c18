/**
 * `proxscale diagnose` for GPU shapes against the fake PVE: a token that may do everything
 * else is told it lacks Mapping.Use on the PCI mapping a template's GPU shape names and
 * VM.Config.HWType (for the hostpci lines), each with what it is for; granting them passes.
 */
import assert from "node:assert/strict";
import type { Config } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { diagnose, formatChecks } from "../cli/diagnose.ts";
import { privilegeNeeds } from "../cli/diagnose_pve.ts";
import { type FakePve, startFakePve } from "../fakes/fake_pve/server.ts";
import { gpuSeed } from "../fakes/fake_pve/pci_inventory.ts";
import { demoConfig } from "../harness/demo_config.ts";

const NS = "proxscale-system";
const TOKEN = "proxscale@pve!gpu";
const SECRET = "0f0e0d0c-gpu-token-secret";

function gpuConfig(pve: FakePve | { url: string; fingerprint: string }, hosts: string[]): Config {
  const c = demoConfig({ url: pve.url, tokenId: TOKEN, fingerprint: pve.fingerprint, hosts });
  c.providers[0]!.tokenSecret = { env: "PROXSCALE_DIAG_GPU" };
  const t = c.machineTemplates[0]!;
  t.disks = [{ slot: "scsi0", storage: "local-lvm", size: 32 * GiB }];
  t.bootstrap = { mode: "nocloudIso", isoStorage: "local", template: "kubeadm" };
  t.shapes = [...t.shapes, {
    name: "8c-32Gi-1xgpu",
    cpu: 8000,
    memory: 32 * GiB,
    gpus: { count: 1, mapping: "gpu" },
  }];
  return c;
}

Deno.test("diagnose: a token without Mapping.Use on the GPU mapping or VM.Config.HWType is told so", async () => {
  const hosts = ["pve1", "pve2"];
  const shape = gpuConfig({ url: "https://x", fingerprint: "" }, hosts);
  const needs = privilegeNeeds(shape.providers[0]!, shape.machineTemplates);
  const keys = needs.map((n) => `${n.priv}@${n.path}`);
  assert.ok(keys.includes("Mapping.Use@/mapping/pci/gpu"), keys.join("\n"));
  assert.ok(keys.includes("VM.Config.HWType@/vms"));
  // Everything else, granted from /: only the two GPU privileges are missing.
  const others = [...new Set(needs.map((n) => n.priv))]
    .filter((p) => p !== "Mapping.Use" && p !== "VM.Config.HWType");
  const run = async (extra: string[]) => {
    const pve = await startFakePve({
      hosts: 2,
      seed: 9,
      model: { pci: gpuSeed({ pve1: 1, pve2: 1 }) },
      tokens: [{ id: TOKEN, secret: SECRET, acls: [{ path: "/", privs: [...others, ...extra] }] }],
    });
    try {
      Deno.env.set("PROXSCALE_DIAG_GPU", SECRET);
      const checks = await diagnose(gpuConfig(pve, hosts), undefined, NS);
      return { checks, text: formatChecks(checks) };
    } finally {
      Deno.env.delete("PROXSCALE_DIAG_GPU");
      await pve.close();
    }
  };
  const lacking = await run([]);
  assert.deepEqual(
    lacking.checks.filter((c) => !c.ok).map((c) => c.name).sort(),
    [
      "pve demo: token rights Mapping.Use on /mapping/pci/gpu",
      "pve demo: token rights VM.Config.HWType on /vms",
    ],
    lacking.text,
  );
  assert.match(
    lacking.text,
    /lacks Mapping\.Use on \/mapping\/pci\/gpu, needed to pass through PCI mapping gpu \(worker\)/,
  );
  assert.match(lacking.text, /lacks VM\.Config\.HWType on \/vms, needed to write hostpci lines/);
  const granted = await run(["Mapping.Use", "VM.Config.HWType"]);
  assert.deepEqual(granted.checks.filter((c) => !c.ok).map((c) => c.name), [], granted.text);
});
