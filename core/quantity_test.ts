import assert from "node:assert/strict";
import { bytes, cpuMillis, formatCpu, formatMemory, parseQuantity } from "./quantity.ts";

Deno.test("cpu quantities become exact millicores, fractions rounding up", () => {
  assert.equal(cpuMillis("500m"), 500);
  assert.equal(cpuMillis("2"), 2000);
  assert.equal(cpuMillis(1.5), 1500);
  assert.equal(cpuMillis("0.1"), 100);
  assert.equal(cpuMillis("100u"), 1);
  assert.equal(cpuMillis("1e3"), 1_000_000);
});

Deno.test("memory quantities become bytes in binary and decimal units", () => {
  assert.equal(bytes("4Gi"), 4 * 2 ** 30);
  assert.equal(bytes("512Mi"), 512 * 2 ** 20);
  assert.equal(bytes("1G"), 1e9);
  assert.equal(bytes("1.5Gi"), 1.5 * 2 ** 30);
  assert.equal(bytes("128974848"), 128974848);
});

Deno.test("negative and malformed quantities are refused with a reason", () => {
  const neg = parseQuantity("-1Gi", 1);
  assert.ok(!neg.ok && neg.error.includes("negative"));
  const bad = parseQuantity("4 GB", 1);
  assert.ok(!bad.ok && bad.error.includes("not a Kubernetes quantity"));
});

Deno.test("formatting picks the shortest exact unit", () => {
  assert.equal(formatCpu(2000), "2");
  assert.equal(formatCpu(1500), "1500m");
  assert.equal(formatMemory(8 * 2 ** 30), "8Gi");
  assert.equal(formatMemory(1000), "1000");
});
