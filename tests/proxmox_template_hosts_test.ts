/**
 * The Proxmox provider's template locality against the fake PVE: a template on local storage
 * can be cloned only on its own host, one on shared storage (Ceph) on every host, per-host
 * copies serve their hosts, a full clone to shared target storage serves every host, and a
 * missing template serves none.
 */
import assert from "node:assert/strict";
import type { MachineTemplate } from "../core/model.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { template as base } from "../adapters/proxmox/testing/fixtures.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import {
  fakeProviderConfig,
  fakePveClient,
  FAST_PROVIDER_TIMINGS,
  fastPveTiming,
} from "./testing/proxmox.ts";

const clone = (source: Partial<Extract<MachineTemplate["source"], { kind: "clone" }>>) =>
  ({ ...base, source: { kind: "clone", full: false, ...source } }) as MachineTemplate;

Deno.test("the provider reports which hosts can clone each template", async () => {
  const fake = await startFakePve({ hosts: 2, seed: 4, model: { timing: fastPveTiming(300) } });
  const client = fakePveClient(fake);
  try {
    const p = new ProxmoxProvider({
      client,
      provider: fakeProviderConfig(fake),
      timings: FAST_PROVIDER_TIMINGS,
    });
    fake.model.addTemplate(8100, "pve2", "local-lvm");
    fake.model.addTemplate(8200, "pve1", "ceph");
    const hostsOf = async (t: MachineTemplate) => {
      const r = await p.templateHosts(t);
      assert.ok(r.ok, JSON.stringify(r));
      return r.value;
    };
    assert.deepEqual(await hostsOf(clone({ templateVmid: 8100 })), ["pve2"], "local storage");
    assert.deepEqual(await hostsOf(clone({ templateVmid: 8200 })), ["pve1", "pve2"], "Ceph");
    assert.deepEqual(
      await hostsOf(clone({ templateVmid: 8100, perHost: { pve1: 9000 } })),
      ["pve1", "pve2"],
      "a per-host copy covers the other host",
    );
    assert.deepEqual(
      await hostsOf(clone({ templateVmid: 8100, full: true, storage: "ceph" })),
      ["pve1", "pve2"],
      "a full clone onto shared storage",
    );
    assert.deepEqual(await hostsOf(clone({ templateVmid: 8999 })), [], "missing template");
    assert.deepEqual(await hostsOf(base), ["pve1", "pve2"], "built from scratch");
  } finally {
    client.close();
    await fake.close();
  }
});
