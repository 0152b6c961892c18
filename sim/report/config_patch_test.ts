/** The advise/sim config patch: what it changes, and the fields it refuses. */
import assert from "node:assert/strict";
import { applyConfigPatch } from "./config_patch.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { GiB } from "../../core/quantity.ts";

Deno.test("a patch sets forecast, consolidateAfter, VM sizes and the batch window by name", () => {
  const config = defaultSimConfig();
  const pool = config.nodePools[0]!.name;
  const template = config.machineTemplates[0]!.name;
  const r = applyConfigPatch(config, {
    nodePools: {
      [pool]: { scaleUp: { forecast: { enabled: true } }, disruption: { consolidateAfter: "2m" } },
    },
    machineTemplates: { [template]: { shapes: [{ cpu: 8, memory: "16Gi" }] } },
    settings: { batchIdle: "2s", batchMax: "20s" },
  });
  assert.ok(r.ok);
  const p = r.value.nodePools[0]!;
  assert.deepEqual(p.scaleUp.forecast, { maxNodes: 3, maxError: 0.2, horizon: null });
  assert.equal(p.disruption.consolidateAfter, 120_000);
  assert.deepEqual(r.value.machineTemplates[0]!.shapes.map((s) => [s.cpu, s.memory]), [[
    8000,
    16 * GiB,
  ]]);
  assert.equal(r.value.settings.batchMax, 20_000);
  assert.equal(config.nodePools[0]!.scaleUp.forecast, undefined, "the input is not changed");
  const off = applyConfigPatch(r.value, {
    nodePools: { [pool]: { scaleUp: { forecast: { enabled: false } } } },
  });
  assert.ok(off.ok && off.value.nodePools[0]!.scaleUp.forecast === undefined);
});

Deno.test("a patch naming an unknown pool, field or duration is refused with the field named", () => {
  const config = defaultSimConfig();
  const pool = config.nodePools[0]!.name;
  const bad = (p: unknown) => {
    const r = applyConfigPatch(config, p);
    assert.ok(!r.ok);
    return r.error;
  };
  assert.match(bad({ nodePools: { nope: {} } }), /nodePools\.nope: no such NodePool/);
  assert.match(bad({ limits: {} }), /unknown patch field "limits"/);
  assert.match(
    bad({ nodePools: { [pool]: { disruption: { consolidateAfter: "soon" } } } }),
    /consolidateAfter/,
  );
});

Deno.test("a patch sets a pool's cpu, memory and node limits and refuses a bad one", () => {
  const config = defaultSimConfig();
  const pool = config.nodePools[0]!.name;
  const r = applyConfigPatch(config, {
    nodePools: { [pool]: { limits: { cpu: "32", memory: "128Gi", nodes: 16 } } },
  });
  assert.ok(r.ok);
  assert.deepEqual(r.value.nodePools[0]!.limits, { cpu: 32_000, memory: 128 * GiB, nodes: 16 });
  const bad = applyConfigPatch(config, { nodePools: { [pool]: { limits: { nodes: -1 } } } });
  assert.ok(!bad.ok && /limits\.nodes/.test(bad.error));
  const unknown = applyConfigPatch(config, { nodePools: { [pool]: { limits: { disks: 1 } } } });
  assert.ok(!unknown.ok && /unknown field "disks"/.test(unknown.error));
});
