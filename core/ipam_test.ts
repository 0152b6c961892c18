/** Static address allocation: lowest free, kept on retry, exhaustion as a value with a reason. */
import assert from "node:assert/strict";
import type { MachineTemplate } from "./model.ts";
import {
  allocateAddresses,
  ipPoolExhaustedReason,
  pooledNics,
  poolUsage,
  templateWithAddresses,
} from "./ipam.ts";
import { checkIpPool, type IpPool } from "./ipam_pool.ts";

function pool(input: Partial<Parameters<typeof checkIpPool>[0]> = {}): IpPool {
  const p = checkIpPool({ name: "nodes", cidr: "10.0.20.0/24", ...input });
  if (!p.ok) throw new Error(JSON.stringify(p.error));
  return p.value;
}

Deno.test("the lowest address not held, reserved, the gateway or used by a foreign VM is chosen", () => {
  const p = pool({
    ranges: ["10.0.20.10-10.0.20.20"],
    reserved: ["10.0.20.11"],
    gateway: "10.0.20.12",
  });
  const r = allocateAddresses({
    claim: "c",
    nics: [{ slot: "net0", pool: p }],
    held: [{ claim: "a", addresses: [{ slot: "net0", pool: "nodes", address: "10.0.20.10" }] }],
    foreign: ["10.0.20.13", "192.168.1.1"],
  });
  assert.deepEqual(r, {
    ok: true,
    value: [{ slot: "net0", pool: "nodes", address: "10.0.20.14" }],
  });
});

Deno.test("a claim that holds addresses keeps them, and two NICs on one pool get two addresses", () => {
  const p = pool({ ranges: ["10.0.20.10-10.0.20.20"] });
  const nics = [{ slot: "net0", pool: p }, { slot: "net1", pool: p }];
  const first = allocateAddresses({ claim: "c", nics, held: [], foreign: [] });
  assert.ok(first.ok);
  assert.deepEqual(first.value.map((a) => a.address), ["10.0.20.10", "10.0.20.11"]);
  const again = allocateAddresses({
    claim: "c",
    nics,
    held: [{ claim: "c", addresses: [{ slot: "net1", pool: "nodes", address: "10.0.20.17" }] }],
    foreign: ["10.0.20.17"],
  });
  assert.ok(again.ok);
  assert.deepEqual(again.value.map((a) => a.address), ["10.0.20.10", "10.0.20.17"]);
});

Deno.test("a full pool is IpPoolExhausted with the counts in the reason", () => {
  const p = pool({ ranges: ["10.0.20.10-10.0.20.12"] });
  const held = [{
    claim: "a",
    addresses: [{ slot: "net0", pool: "nodes", address: "10.0.20.10" }],
  }];
  const r = allocateAddresses({
    claim: "c",
    nics: [{ slot: "net0", pool: p }],
    held,
    foreign: ["10.0.20.11", "10.0.20.12"],
  });
  assert.ok(!r.ok);
  assert.deepEqual(r.error, {
    kind: "IpPoolExhausted",
    pool: "nodes",
    size: 3,
    held: 1,
    foreign: 2,
  });
  const why = ipPoolExhaustedReason(r.error, "pve");
  assert.equal(why.code, "IpPoolExhausted");
  assert.equal(
    why.message,
    "IP pool 'nodes' of Provider 'pve' has no free address: 3 addresses, 1 held by NodeClaims, " +
      "2 used by other VMs",
  );
  assert.deepEqual(poolUsage(p, held, ["10.0.20.11"]), { size: 3, held: 1, foreign: 1, free: 1 });
});

Deno.test("the VM's template gets the static address, prefix, gateway and the pool's DNS", () => {
  const p = pool({ gateway: "10.0.20.1", dns: ["10.0.0.53"], searchDomains: ["lan"] });
  const t = {
    name: "t",
    network: [
      { slot: "net0", model: "virtio", bridge: "vmbr0", ipPool: "nodes" },
      { slot: "net1", model: "virtio", bridge: "vmbr1", ipconfig: "ip=dhcp" },
    ],
    bootstrap: { mode: "nocloudIso" },
  } as unknown as MachineTemplate;
  const out = templateWithAddresses(t, [p], [{
    slot: "net0",
    pool: "nodes",
    address: "10.0.20.7",
  }]);
  assert.equal(out.network[0]!.ipconfig, "ip=10.0.20.7/24,gw=10.0.20.1");
  assert.equal(out.network[1]!.ipconfig, "ip=dhcp");
  assert.equal(out.bootstrap.nameserver, "10.0.0.53");
  assert.equal(out.bootstrap.searchdomain, "lan");
  assert.equal(templateWithAddresses(t, [p], []), t);
});

Deno.test("the pooled NICs of a template, and a pool the Provider lacks as ConfigInvalid", () => {
  const p = pool();
  const t = {
    name: "t",
    network: [
      { slot: "net0", model: "virtio", bridge: "vmbr0" },
      { slot: "net1", model: "virtio", bridge: "vmbr1", ipPool: "nodes" },
    ],
  } as unknown as MachineTemplate;
  const r = pooledNics(t, [p]);
  assert.ok(r.ok);
  assert.deepEqual(r.value.map((n) => n.slot), ["net1"]);
  const missing = pooledNics(t, []);
  assert.ok(!missing.ok);
  assert.equal(missing.error.code, "ConfigInvalid");
});
