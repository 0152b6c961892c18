/**
 * Tests of normalize.ts: the schema-accepted written form becomes core/model.ts values
 * (millicores, bytes, milliseconds), with defaults filled and shapes ordered cheapest first.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { configFile } from "./schema.ts";
import { normalize, shapeName } from "./normalize.ts";
import { GiB, MiB } from "../../core/quantity.ts";

/** A small written configuration; `template` and `pool` override parts of the one template and pool. */
function written(template: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) {
  return configFile.parse({
    providers: [{
      name: "home",
      spec: {
        endpoint: "https://pve.example:8006//",
        tokenId: "root@pam!proxscale",
        tokenSecret: { env: "PVE_TOKEN" },
        tls: { fingerprint: "ab:".repeat(31) + "cd" },
        hosts: [{ name: "pve1" }, { name: "pve2", zone: "rack-b", reserved: { cpu: "500m" } }],
        vmidRange: { lower: 9000, upper: 9099 },
      },
    }],
    machineTemplates: [{
      name: "worker",
      spec: {
        provider: "home",
        source: { clone: { templateVmid: 8000 } },
        shapes: [{ cpu: 2, memory: "4Gi" }],
        ...template,
      },
    }],
    nodePools: [{ name: "general", spec: { machineTemplate: "worker", ...pool } }],
  });
}

Deno.test("a provider's endpoint loses its trailing slashes and its fingerprint is upper-cased", () => {
  const p = normalize(written()).providers[0]!;
  assert.equal(p.endpoint, "https://pve.example:8006");
  assert.equal(p.tls.fingerprint, "AB:".repeat(31) + "CD");
  assert.equal(p.tls.caFile, undefined);
  assert.ok(!("caFile" in p.tls), "an absent caFile is no key at all");
});

Deno.test("a host without a zone is its own zone, and reserved quantities become millicores and bytes", () => {
  const hosts = normalize(written()).providers[0]!.hosts;
  assert.deepEqual(hosts.map((h) => [h.name, h.zone]), [["pve1", "pve1"], ["pve2", "rack-b"]]);
  assert.deepEqual(hosts[0]!.reserved, { cpu: 0, memory: 0 });
  assert.deepEqual(hosts[1]!.reserved, { cpu: 500, memory: 0 });
});

Deno.test("shapes are named by cores and memory and ordered cheapest first", () => {
  const t = normalize(written({
    shapes: [{ cpu: 8, memory: "16Gi" }, { cpu: 2, memory: "4Gi" }, { cpu: 2, memory: "8Gi" }],
  })).machineTemplates[0]!;
  assert.deepEqual(t.shapes.map((s) => s.name), ["2c-4Gi", "2c-8Gi", "8c-16Gi"]);
  assert.deepEqual(t.shapes[0], { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB });
  assert.equal(t.vmMemOverhead, 256 * MiB, "the default overhead is 256 MiB");
});

Deno.test("the kubelet's memory eviction threshold defaults to its own 100Mi and can be set", () => {
  const dflt = normalize(written({ reserved: { cpu: "100m", memory: "256Mi" } }))
    .machineTemplates[0]!;
  assert.deepEqual(dflt.reserved, { cpu: 100, memory: 256 * MiB });
  assert.equal(dflt.evictionHardMemory, 100 * MiB);
  const set = normalize(written({ evictionHard: { memory: "500Mi" } })).machineTemplates[0]!;
  assert.equal(set.evictionHardMemory, 500 * MiB);
  const none = normalize(written({ evictionHard: { memory: 0 } })).machineTemplates[0]!;
  assert.equal(none.evictionHardMemory, 0, "0 for a kubelet that evicts on nothing");
});

Deno.test("shapeName writes whole cores and the memory in binary units", () => {
  assert.equal(shapeName(4000, 8 * GiB), "4c-8Gi");
  assert.equal(shapeName(1000, 512 * MiB), "1c-512Mi");
});

Deno.test("a flexible template's steps default to one core and 512Mi", () => {
  const t = normalize(written({
    flexible: { cpu: { min: 1, max: 8 }, memory: { min: "1Gi", max: "32Gi" } },
  })).machineTemplates[0]!;
  assert.deepEqual(t.flexible, {
    cpu: { min: 1000, max: 8000, step: 1000 },
    memory: { min: GiB, max: 32 * GiB, step: 512 * MiB },
  });
});

Deno.test("a clone source keeps only the fields written, and extended resources become numbers", () => {
  const t = normalize(written({
    source: { clone: { perHost: { pve1: 8000, pve2: 8001 }, full: false } },
    extendedResources: { "example.com/gpu": "2" },
  })).machineTemplates[0]!;
  assert.deepEqual(t.source, { kind: "clone", full: false, perHost: { pve1: 8000, pve2: 8001 } });
  assert.deepEqual(t.extendedResources, { "example.com/gpu": 2 });
});

Deno.test("a pool's durations become milliseconds and Never becomes null", () => {
  const p = normalize(written({}, {
    scaleDown: { drainTimeout: "90s" },
    disruption: { consolidateAfter: "Never", expireAfter: "1h30m", terminationGracePeriod: "5m" },
    limits: { cpu: "64", memory: "128Gi" },
  })).nodePools[0]!;
  assert.equal(p.scaleDown.drainTimeout, 90_000);
  assert.equal(p.scaleDown.stabilizationWindow, 600_000, "the default window is 10m");
  assert.equal(p.disruption.consolidateAfter, null);
  assert.equal(p.disruption.expireAfter, 90 * 60_000);
  assert.equal(p.disruption.terminationGracePeriod, 300_000);
  assert.deepEqual(p.limits, { cpu: 64_000, memory: 128 * GiB });
});

Deno.test("a pool without a termination grace period has null, and default settings are in milliseconds", () => {
  const c = normalize(written());
  assert.equal(c.nodePools[0]!.disruption.terminationGracePeriod, null);
  assert.equal(c.nodePools[0]!.disruption.expireAfter, 720 * 3_600_000);
  assert.equal(c.settings.batchIdle, 1000);
  assert.deepEqual(c.settings.launchBackoff, { base: 5000, max: 600_000, maxClaimsPerHour: 100 });
  assert.ok(!("queue" in c), "no queue key without a queue section");
});
