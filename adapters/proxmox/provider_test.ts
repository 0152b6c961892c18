/**
 * Tests of provider.ts's listing over an in-memory PVE client stub: which VMs are proxscale's
 * machines, a config read once and again only when the listing shows a change or a minute
 * has passed, a host whose VM configs answer a host-down error (or whose breaker is open) is
 * reported as unknown instead of failing the listing, and list() is the listing's machines.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import { CONFIG_READS_IN_FLIGHT } from "./config_reads.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { ProxmoxProvider } from "./provider.ts";
import type { ResourceVm, VmConfig } from "./schemas.ts";
import { claim, provider } from "./testing/fixtures.ts";
import { claimDescription } from "./vm_config.ts";

const fail = (kind: PveErrorKind): PveError => localError(kind, "GET /x", kind);
const ours = (name = claim.name, o: { cores?: number; tags?: string } = {}): VmConfig => ({
  digest: "d",
  name,
  cores: o.cores ?? 2,
  memory: 4096,
  description: claimDescription({ ...claim, name }),
  tags: o.tags ?? "proxscale",
});

/** The stub: the cluster's VM list, configs by "host/vmid" and hosts whose breaker is open. */
function providerOver(
  vms: ResourceVm[],
  configs: Record<string, Result<VmConfig, PveError>>,
  tripped: string[] = [],
  now: () => number = Date.now,
) {
  const asked: string[] = [];
  const client = {
    resourcesVm: () => Promise.resolve(ok(vms)),
    hostTripped: (h: string) => tripped.includes(h),
    vmConfig: (h: string, id: number) => {
      asked.push(`${h}/${id}`);
      return Promise.resolve(configs[`${h}/${id}`] ?? err(fail("notFound")));
    },
  };
  const p = new ProxmoxProvider({
    client: client as unknown as PveClient,
    provider,
    sleep: () => Promise.resolve(),
    now,
  });
  return { p, asked };
}

const vm = (node: string, vmid: number, extra: Partial<ResourceVm> = {}): ResourceVm => ({
  type: "qemu",
  vmid,
  node,
  status: "running",
  tags: "proxscale",
  ...extra,
});

Deno.test("a host whose VM config answers a host-down error is unknown; the other hosts list", async () => {
  for (const kind of ["nodeUnreachable", "timeout", "connection", "circuitOpen"] as const) {
    const { p } = providerOver([vm("pve1", 1001), vm("pve2", 1002)], {
      "pve1/1001": ok(ours("general-a")),
      "pve2/1002": err(fail(kind)),
    });
    const l = await p.listing();
    assert.ok(l.ok, `${kind}: ${l.ok ? "" : l.error.message}`);
    assert.deepEqual(l.value.unknownHosts, ["pve2"], kind);
    assert.deepEqual(l.value.machines.map((m) => [m.host, m.vmid, m.claim]), [
      ["pve1", 1001, "general-a"],
    ]);
  }
});

Deno.test("a host whose breaker is open is unknown without asking it", async () => {
  const { p, asked } = providerOver(
    [vm("pve2", 1003), vm("pve1", 1001), vm("pve2", 1002)],
    { "pve1/1001": ok(ours()) },
    ["pve2"],
  );
  const l = await p.listing();
  assert.ok(l.ok);
  assert.deepEqual(l.value.unknownHosts, ["pve2"], "listed once");
  assert.deepEqual(asked, ["pve1/1001"]);
});

Deno.test("any other config error fails the listing, naming the VM", async () => {
  const { p } = providerOver([vm("pve1", 1001)], { "pve1/1001": err(fail("auth")) });
  const l = await p.listing();
  assert.ok(!l.ok);
  assert.equal(l.error.kind, "Api");
  assert.match(l.error.message, /read config of VM 1001/);
});

Deno.test("templates, containers, VMs gone since the listing and foreign VMs are not machines", async () => {
  const { p, asked } = providerOver([
    vm("pve1", 1001),
    vm("pve1", 1002, { template: true }),
    vm("pve1", 1003, { type: "lxc" }),
    vm("pve1", 1004),
    vm("pve1", 500, { tags: "other" }),
    { type: "qemu", vmid: 1005, node: "pve1", status: "stopped" },
    vm("pve1", 1006),
  ], {
    "pve1/1001": ok(ours("general-a")),
    "pve1/1005": ok(ours("general-b")),
    "pve1/1006": ok({ digest: "d", name: "someone-else", tags: "proxscale" }),
  });
  const l = await p.listing();
  assert.ok(l.ok);
  assert.deepEqual(asked, ["pve1/1001", "pve1/1004", "pve1/1005", "pve1/1006"]);
  assert.deepEqual(
    l.value.machines.map((m) => [m.vmid, m.claim, m.status]),
    [[1001, "general-a", "running"], [1005, "general-b", "stopped"]],
    "an untagged VM in the managed range with our description is ours",
  );
  assert.deepEqual(l.value.unknownHosts, []);
});

Deno.test("list() answers the listing's machines and fails when the cluster list fails", async () => {
  const { p } = providerOver([vm("pve1", 1001), vm("pve2", 1002)], {
    "pve1/1001": ok(ours("general-a")),
    "pve2/1002": err(fail("nodeUnreachable")),
  });
  const [list, listing] = [await p.list(), await p.listing()];
  assert.ok(list.ok && listing.ok);
  assert.deepEqual(list.value, listing.value.machines);
  assert.equal(list.value[0]!.size.cpu, 2000);

  const down = new ProxmoxProvider({
    client: { resourcesVm: () => Promise.resolve(err(fail("auth"))) } as unknown as PveClient,
    provider,
  });
  const r = await down.list();
  assert.ok(!r.ok);
  assert.match(r.error.message, /^list VMs: /);
});

Deno.test("a managed VM's config is read once, then again only when the listing shows it changed", async () => {
  let now = 1_000_000;
  const vms = [vm("pve1", 1001), vm("pve1", 1002)];
  const configs: Record<string, Result<VmConfig, PveError>> = {
    "pve1/1001": ok(ours("general-a")),
    "pve1/1002": ok(ours("general-b")),
  };
  const { p, asked } = providerOver(vms, configs, [], () => now);
  const claims = async () => {
    const l = await p.list();
    assert.ok(l.ok);
    return l.value.map((m) => `${m.vmid}:${m.claim}:${m.size.cpu}`);
  };
  assert.deepEqual(await claims(), ["1001:general-a:2000", "1002:general-b:2000"]);
  assert.deepEqual(await claims(), ["1001:general-a:2000", "1002:general-b:2000"]);
  assert.deepEqual(asked, ["pve1/1001", "pve1/1002"], "the second listing asked PVE nothing");

  // Tags show at once in the listing; sizes once the statistics catch up: either re-reads.
  asked.length = 0;
  vms[0] = vm("pve1", 1001, { tags: "proxscale;team-a" });
  vms[1] = vm("pve1", 1002, { maxcpu: 4 });
  configs["pve1/1002"] = ok(ours("general-b", { cores: 4 }));
  assert.deepEqual(await claims(), ["1001:general-a:2000", "1002:general-b:4000"]);
  assert.deepEqual(asked, ["pve1/1001", "pve1/1002"]);

  // A locked VM (a config change, a migration under way) is read on every listing.
  asked.length = 0;
  vms[0] = vm("pve1", 1001, { tags: "proxscale;team-a", lock: "migrate" });
  await claims();
  await claims();
  assert.deepEqual(asked, ["pve1/1001", "pve1/1001"]);

  // What the listing cannot show (a description edited by hand) is seen within the minute.
  asked.length = 0;
  vms[0] = vm("pve1", 1001, { tags: "proxscale;team-a" });
  await claims();
  configs["pve1/1001"] = ok(ours("general-c", { tags: "proxscale;team-a" }));
  now += 29_000;
  assert.deepEqual(await claims(), ["1001:general-a:2000", "1002:general-b:4000"]);
  now += 31_000;
  assert.deepEqual(await claims(), ["1001:general-c:2000", "1002:general-b:4000"]);
  assert.deepEqual(asked, ["pve1/1001", "pve1/1001", "pve1/1002"]);
});

Deno.test("a VM gone from the listing is forgotten: the VMID listed again is read again", async () => {
  const vms = [vm("pve1", 1001)];
  const { p, asked } = providerOver(vms, { "pve1/1001": ok(ours("general-a")) });
  await p.list();
  vms.length = 0;
  await p.list();
  vms.push(vm("pve1", 1001));
  await p.list();
  assert.deepEqual(asked, ["pve1/1001", "pve1/1001"]);
});

Deno.test("1,000 managed VMs cost one listing per pass once their configs are known", async () => {
  const vms = Array.from({ length: 1000 }, (_, i) => vm(`pve${i % 20}`, 1000 + i));
  const configs = Object.fromEntries(
    vms.map((v) => [`${v.node}/${v.vmid}`, ok(ours(`general-${v.vmid}`))]),
  );
  const { p, asked } = providerOver(vms, configs);
  for (let pass = 0; pass < 5; pass++) {
    const l = await p.list();
    assert.ok(l.ok);
    assert.equal(l.value.length, 1000);
  }
  assert.equal(asked.length, 1000, "each config was read once over five passes");
});

Deno.test("a first listing of 200 VMs reads their configs a few at a time, and lists them in PVE's order", async () => {
  const vms = Array.from({ length: 200 }, (_, i) => vm(`pve${i % 5}`, 1000 + i));
  let inFlight = 0;
  let most = 0;
  const client = {
    resourcesVm: () => Promise.resolve(ok(vms)),
    hostTripped: () => false,
    vmConfig: async (_h: string, id: number) => {
      most = Math.max(most, ++inFlight);
      // Answers come back out of order, as from a real pveproxy.
      await new Promise((r) => setTimeout(r, id % 3));
      inFlight--;
      return ok(ours(`general-${id}`));
    },
  };
  const p = new ProxmoxProvider({
    client: client as unknown as PveClient,
    provider,
    sleep: () => Promise.resolve(),
  });
  const l = await p.list();
  assert.ok(l.ok);
  assert.ok(most > 1 && most <= CONFIG_READS_IN_FLIGHT, `${most} config reads in flight`);
  assert.deepEqual(l.value.map((m) => m.vmid), vms.map((v) => v.vmid));
});
