/** IP pools: the written form checked, and which addresses a pool may hand out. */
import assert from "node:assert/strict";
import {
  assignable,
  checkIpPool,
  formatIpv4,
  parseCidr,
  parseIpv4,
  poolSize,
} from "./ipam_pool.ts";

Deno.test("dotted quads round-trip through integers and malformed ones are refused", () => {
  assert.equal(formatIpv4(parseIpv4("10.0.20.255")!), "10.0.20.255");
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["10.0.0", "10.0.0.256", "01.2.3.4", "a.b.c.d", "10.0.0.1/24"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  assert.deepEqual(parseCidr("10.0.20.0/24"), { network: parseIpv4("10.0.20.0"), prefix: 24 });
  assert.equal(parseCidr("10.0.20.1/24"), undefined, "host bits set");
});

Deno.test("a pool without ranges hands out the CIDR's hosts except the gateway and reserved ones", () => {
  const p = checkIpPool({
    name: "n",
    cidr: "10.0.0.0/29",
    gateway: "10.0.0.1",
    reserved: ["10.0.0.5-10.0.0.6"],
  });
  assert.ok(p.ok);
  // hosts .1-.6; minus gateway .1, reserved .5 .6
  assert.equal(poolSize(p.value), 3);
  const free = [1, 2, 3, 4, 5, 6, 7].filter((h) => assignable(p.value, p.value.network + h));
  assert.deepEqual(free, [2, 3, 4]);
});

Deno.test("a gateway outside the CIDR, overlapping ranges and foreign ranges are problems with their field", () => {
  const p = checkIpPool({
    name: "n",
    cidr: "10.0.0.0/24",
    gateway: "10.0.1.1",
    ranges: ["10.0.0.10-10.0.0.20", "10.0.0.15-10.0.0.30", "10.0.1.5", "10.0.0.9-10.0.0.3"],
    dns: ["dns.example"],
  });
  assert.ok(!p.ok);
  const byPath = Object.fromEntries(p.error.map((e) => [e.path.join("."), e.message]));
  assert.match(byPath["gateway"]!, /outside 10\.0\.0\.0\/24/);
  assert.match(byPath["ranges.1"]!, /overlaps 10\.0\.0\.10-10\.0\.0\.20/);
  assert.match(byPath["ranges.2"]!, /not inside the host addresses/);
  assert.match(byPath["ranges.3"]!, /not an address or a range/);
  assert.match(byPath["dns.0"]!, /not an IPv4 address/);
});

Deno.test("a CIDR with host bits or a prefix outside /8../30 is refused", () => {
  const a = checkIpPool({ name: "n", cidr: "10.0.0.1/24" });
  assert.ok(!a.ok);
  assert.match(a.error[0]!.message, /not an IPv4 CIDR/);
  const b = checkIpPool({ name: "n", cidr: "10.0.0.0/31" });
  assert.ok(!b.ok);
  assert.match(b.error[0]!.message, /outside \/8\.\.\/30/);
});
