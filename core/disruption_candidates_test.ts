import assert from "node:assert/strict";
import { buildWorld } from "./disruption_candidates.ts";
import { PdbLedger } from "./disruption_pdb.ts";
import { managedNode, snapshotOf, testConfig } from "./testing/arbitraries.ts";
import { generalPool } from "./testing/disruption_fixture.ts";

Deno.test("a pool replaced in place in the same config object is the pool the next world uses", () => {
  const n = managedNode("node-a", "general");
  const snap = snapshotOf({ nodes: [n.node], nodeClaims: [n.claim] });
  const before = generalPool({}, { consolidateAfter: 60_000 });
  const config = testConfig({ nodePools: [before] });
  const first = buildWorld(snap, config, new PdbLedger([]));
  assert.equal(first.candidates[0]!.pool, before);
  const after = generalPool({}, { consolidateAfter: 0 });
  config.nodePools[0] = after;
  const second = buildWorld(snap, config, new PdbLedger([]));
  assert.equal(second.candidates[0]!.pool, after);
  assert.equal(second.pools.get("general"), after);
  // And a pool list replaced by another one is seen too.
  config.nodePools = [before];
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.pool, before);
});

Deno.test("a claim whose pool is gone from the config is a candidate under the removed-pool rules", () => {
  const n = managedNode("node-a", "general");
  const snap = snapshotOf({ nodes: [n.node], nodeClaims: [n.claim] });
  const config = testConfig({ nodePools: [generalPool()] });
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.poolRemoved, false);
  config.nodePools = [];
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.poolRemoved, true);
});
