/** The advice's pool-limit and host-count candidates: their effect, their patch, hardware apart. */
import assert from "node:assert/strict";
import { advise, runOutcome, withHostCount } from "./advice.ts";
import { applyConfigPatch } from "./config_patch.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { withWorldClasses } from "../engine/world_classes.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB } from "../../core/quantity.ts";

const HOUR = 3_600_000;

/** Twelve 1-vCPU pods for two hours: four 4-vCPU VMs' worth. */
function trace(): Trace {
  const pods: TracePod[] = Array.from({ length: 12 }, (_, i) => ({
    namespace: "web",
    name: `web-${String(i).padStart(2, "0")}`,
    arrival: i * 1000,
    departure: 2 * HOUR,
    cpu: 1000,
    memory: GiB,
    owner: "Deployment/web",
  }));
  return { name: "t", source: "test", duration: 3 * HOUR, pods, nodes: [], pdbs: [], notes: [] };
}

Deno.test("a binding node limit's doubling shows its effect, and its patch gives the same run", () => {
  const base = defaultSimConfig();
  const config = {
    ...base,
    nodePools: base.nodePools.map((p) => ({ ...p, limits: { nodes: 2, cpu: 64_000 } })),
  };
  const world = defaultWorld();
  const advice = advise({ trace: trace(), config, world, seed: 1 });
  assert.ok(advice.base.podsNeverScheduled > 0, "two nodes cannot hold twelve pods");
  const raise = advice.candidates.find((c) => /node limit 4 \(now 2\)/.test(c.change));
  assert.ok(raise?.patch, advice.candidates.map((c) => c.change).join("\n"));
  assert.deepEqual(raise.patch, { nodePools: { general: { limits: { nodes: 4 } } } });
  assert.equal(raise.outcome.podsNeverScheduled, 0);
  assert.ok(raise.p95Change < 0 && raise.costChange > 0);
  assert.ok(advice.candidates.some((c) => /cpu limit 32 \(now 64\)/.test(c.change)));
  assert.ok(advice.candidates.some((c) => /cpu limit 128 \(now 64\)/.test(c.change)));
  // Unset limits (memory) are not tried; node limit 1 is (half of 2).
  assert.ok(!advice.candidates.some((c) => /memory limit/.test(c.change)));
  const patched = applyConfigPatch(config, raise.patch);
  assert.ok(patched.ok);
  assert.deepEqual(
    runOutcome(trace(), withWorldClasses(patched.value, world), world, 1),
    raise.outcome,
  );
});

Deno.test("host-count changes are hardware advice: no patch, never the recommended config change", () => {
  const base = defaultSimConfig();
  // One host of 4 cores: too small for twelve 1-vCPU pods; a second one helps.
  const config = withHostCount(base, 1);
  const world = { ...defaultWorld(), defaultHost: { cpu: 4_000, memory: 32 * GiB } };
  const advice = advise({ trace: trace(), config, world, seed: 1 });
  const hosts = advice.candidates.filter((c) => c.hosts !== undefined);
  assert.deepEqual(hosts.map((c) => [c.change, c.patch]), [[
    "provider sim: 2 host(s) (now 1)",
    undefined,
  ]]);
  const two = hosts[0]!;
  assert.ok(two.outcome.podsNeverScheduled < advice.base.podsNeverScheduled || two.p95Change < 0);
  assert.equal(advice.recommended?.hosts, undefined);
  assert.equal(withHostCount(base, 6).providers[0]!.hosts.length, 6);
  assert.deepEqual(
    withHostCount(base, 2).providers[0]!.hosts.map((h) => h.name),
    base.providers[0]!.hosts.slice(0, 2).map((h) => h.name),
  );
});
