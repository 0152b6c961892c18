/**
 * A NodeClaim's static address reaches the VM both ways it can be configured: the NoCloud
 * network-config v2 (nocloudIso) and PVE's own cloud-init keys `ipconfigN` and `nameserver`
 * (pveCloudInit), with the pool's prefix, gateway and DNS.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { templateWithAddresses } from "../core/ipam.ts";
import { checkIpPool } from "../core/ipam_pool.ts";
import { renderNoCloudSeed } from "../adapters/bootstrap/render.ts";
import { input, machineTemplate } from "../adapters/bootstrap/testing/sample.ts";
import { desiredConfig } from "../adapters/proxmox/vm_config.ts";
import { claim, provider, template } from "../adapters/proxmox/testing/fixtures.ts";

const checked = checkIpPool({
  name: "nodes",
  cidr: "10.0.20.0/24",
  gateway: "10.0.20.1",
  dns: ["10.0.0.53", "10.0.0.54"],
});
if (!checked.ok) throw new Error("sample pool is valid");
const pools = [checked.value];
const addresses = [{ slot: "net0", pool: "nodes", address: "10.0.20.7" }];

Deno.test("a pooled NIC's static address, gateway and DNS are in the seed's network-config v2", () => {
  const t = machineTemplate({ mode: "nocloudIso", template: "kubeadm" });
  t.network[0] = { ...t.network[0]!, ipPool: "nodes" };
  const r = renderNoCloudSeed({
    ...input(t.bootstrap),
    template: templateWithAddresses(t, pools, addresses),
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const net = parse(r.value.networkConfig);
  assert.deepEqual(net.ethernets.net0, {
    match: { macaddress: "02:00:00:04:d2:00" },
    addresses: ["10.0.20.7/24"],
    routes: [{ to: "0.0.0.0/0", via: "10.0.20.1" }],
    nameservers: { addresses: ["10.0.0.53", "10.0.0.54"] },
  });
  assert.deepEqual(
    net.ethernets.net1.addresses,
    ["10.1.0.5/24"],
    "a NIC without a pool is as configured",
  );
});

Deno.test("with PVE's cloud-init the address is the NIC's ipconfigN and the pool's DNS fills nameserver", () => {
  const { nameserver: _unset, ...bootstrap } = template.bootstrap;
  const t = { ...template, bootstrap, network: [{ ...template.network[0]!, ipPool: "nodes" }] };
  const d = desiredConfig(claim, templateWithAddresses(t, pools, addresses), provider);
  assert.equal(d.scalars.ipconfig0, "ip=10.0.20.7/24,gw=10.0.20.1");
  assert.equal(d.scalars.nameserver, "10.0.0.53 10.0.0.54");
});
