/**
 * The Proxmox provider's safety guards, each shown to matter: a destroy refuses a VM whose
 * description names the claim but that is neither tagged as managed nor inside the managed
 * VMID range (someone's hand-made VM reusing the text), and concurrent launches in one process
 * never choose the same VMID because the ids reserved for launches in flight are handed to the
 * VMID choice (without them both launches would record the same id before either clone lands).
 */
import assert from "node:assert/strict";
import type { NodeClaim } from "../core/model.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { claim as baseClaim, template } from "../adapters/proxmox/testing/fixtures.ts";
import { ok } from "../core/result.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import {
  addJoinSnippet,
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

async function withProvider(
  body: (p: ProxmoxProvider, env: {
    fake: Awaited<ReturnType<typeof startFakePve>>;
    cfg: ReturnType<typeof fakeProviderConfig>;
  }) => Promise<void>,
): Promise<void> {
  const fake = await startFakePve({ hosts: 2, seed: 3, model: { timing: fastPveTiming(300) } });
  addJoinSnippet(fake);
  const client = fakePveClient(fake);
  const cfg = fakeProviderConfig(fake);
  // A constant random source: every VMID choice starts at the bottom of the range.
  const p = new ProxmoxProvider({
    client,
    provider: cfg,
    rng: () => 0,
    vmMemOverhead: 0,
    timings: FAST_PROVIDER_TIMINGS,
  });
  try {
    await body(p, { fake, cfg });
  } finally {
    client.close();
    await fake.close();
  }
}

const named = (name: string): NodeClaim => ({ ...baseClaim, name });

Deno.test("delete refuses a VM that names the claim but is neither tagged managed nor in the managed range", async () => {
  await withProvider(async (p, { fake, cfg }) => {
    const made = await p.create(baseClaim, template, cfg);
    assert.ok(made.ok, JSON.stringify(made));
    // VMID 500 is below the managed range (1000-1099) and carries no tags.
    fake.model.addVm({
      vmid: 500,
      node: "pve1",
      name: "hand-made",
      description: "proxscale.io/nodeclaim=look-alike",
    });
    const refused = await p.delete({ ...made.value, vmid: 500, host: "pve1", claim: "look-alike" });
    assert.ok(!refused.ok && refused.error.kind === "NotOwned", JSON.stringify(refused));
    assert.ok(
      fake.model.configFileText(500) !== undefined,
      "the VM outside the range is untouched",
    );
  });
});

Deno.test("concurrent launches in one process record different VMIDs before either clone is sent", async () => {
  await withProvider(async (p, { cfg }) => {
    const recorded: Record<string, number> = {};
    let bRecorded: () => void = () => {};
    const bSeen = new Promise<void>((r) => (bRecorded = r));
    const a = p.create(named("claim-a"), template, cfg, {
      recordVmid: async (vmid) => {
        recorded.a ??= vmid;
        // Holds launch A before its create is sent until B has chosen its id too.
        await Promise.race([bSeen, new Promise((r) => setTimeout(r, 3_000))]);
        return ok(undefined);
      },
    });
    const b = p.create(named("claim-b"), template, cfg, {
      recordVmid: (vmid) => {
        recorded.b ??= vmid;
        bRecorded();
        return Promise.resolve(ok(undefined));
      },
    });
    const [ra, rb] = await Promise.all([a, b]);
    assert.ok(ra.ok && rb.ok, JSON.stringify([ra, rb]));
    assert.ok(recorded.a !== undefined && recorded.b !== undefined);
    assert.notEqual(recorded.a, recorded.b, "the second launch skipped the id the first holds");
  });
});
