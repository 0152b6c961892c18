/**
 * Tests of options.ts: egress targets for the NetworkPolicy parsed from URLs, addresses and
 * CIDRs (IPv6 included), with the default port, and refused when they name a host or a bad port.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { parseEgressTarget } from "./options.ts";

Deno.test("egress targets parse URLs, addresses and CIDRs, IPv6 included", () => {
  const p = (s: string) => {
    const r = parseEgressTarget(s, 8006);
    return r.ok ? `${r.value.cidr} ${r.value.port}` : "error";
  };
  assert.equal(p("https://10.0.0.11:8443"), "10.0.0.11/32 8443");
  assert.equal(p("https://10.0.0.11"), "10.0.0.11/32 8006");
  assert.equal(p("10.0.0.0/16"), "10.0.0.0/16 8006");
  assert.equal(p("10.0.0.0/16:9000"), "10.0.0.0/16 9000");
  assert.equal(p("https://[fd00::11]:8006"), "fd00::11/128 8006");
  assert.equal(p("[fd00::]/64"), "error");
  assert.equal(p("300.0.0.1"), "error");
  assert.equal(p("10.0.0.0/33"), "error");
  assert.equal(p("pve1"), "error");
});

Deno.test("an egress target refused says why: a name instead of an address, or a port out of range", () => {
  const why = (s: string) => {
    const r = parseEgressTarget(s, 8006);
    return r.ok ? "accepted" : r.error;
  };
  assert.match(why("https://pve1.lan:8006"), /matches IP addresses, not names/);
  assert.equal(why("10.0.0.1:0"), '"10.0.0.1:0": port must be 1-65535');
  assert.equal(why("10.0.0.1:70000"), '"10.0.0.1:70000": port must be 1-65535');
  assert.equal(why("https://"), '"https://" is not a URL');
  assert.equal(why(" 10.0.0.1 "), "accepted");
});
