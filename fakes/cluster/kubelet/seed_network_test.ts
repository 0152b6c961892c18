/** The static addresses a guest takes from its NoCloud network-config, default route first. */
import { deepEqual } from "node:assert/strict";
import { networkConfigAddresses } from "./seed_network.ts";

Deno.test("version 2 static addresses are read, the default-route interface first, DHCP none", () => {
  const text = `version: 2
ethernets:
  a-storage:
    match: { macaddress: "bc:24:11:00:00:02" }
    addresses: [192.168.50.4/24]
  b-main:
    match: { macaddress: "bc:24:11:00:00:01" }
    addresses: [10.0.20.7/24]
    routes: [{ to: 0.0.0.0/0, via: 10.0.20.1 }]
  c-dhcp:
    dhcp4: true
`;
  deepEqual(networkConfigAddresses(text), ["10.0.20.7", "192.168.50.4"]);
  deepEqual(
    networkConfigAddresses(
      `network:\n  version: 2\n  ethernets:\n    e:\n      addresses: ["10.1.0.5/16"]\n      gateway4: 10.1.0.1\n`,
    ),
    ["10.1.0.5"],
  );
});

Deno.test("version 1 static subnets are read; unreadable or DHCP-only configs give no address", () => {
  const v1 = `version: 1
config:
  - type: physical
    name: eth0
    subnets:
      - { type: static, address: 10.2.0.9/24, gateway: 10.2.0.1 }
`;
  deepEqual(networkConfigAddresses(v1), ["10.2.0.9"]);
  deepEqual(networkConfigAddresses("version: 2\nethernets:\n  e: { dhcp4: true }\n"), []);
  deepEqual(networkConfigAddresses(": not yaml ["), []);
});
