import assert from "node:assert/strict";
import { allowance, budgetLimit } from "./disruption_budgets.ts";
import { T0, testPool } from "./testing/arbitraries.ts";
import type { Budget } from "./model.ts";

function pool(budgets: Budget[]) {
  const p = testPool("p");
  return { ...p, disruption: { ...p.disruption, budgets } };
}

Deno.test("percentages round up against the pool's node count", () => {
  assert.equal(budgetLimit({ nodes: "10%" }, 12, T0).nodes, 2);
  assert.equal(budgetLimit({ nodes: "10%" }, 10, T0).nodes, 1);
  assert.equal(budgetLimit({ nodes: "10%" }, 0, T0).nodes, 0);
  assert.equal(budgetLimit({ nodes: "100%" }, 7, T0).nodes, 7);
  assert.equal(budgetLimit({ nodes: "3" }, 1, T0).nodes, 3);
});

Deno.test("the smallest active budget covering the reason wins, minus what is in flight", () => {
  const p = pool([
    { nodes: "50%" },
    { nodes: "1", reasons: ["Drifted"] },
    { nodes: "0", reasons: ["Expired"], schedule: "0 0 1 1 *", duration: 3_600_000 },
  ]);
  assert.equal(allowance(p, "Empty", 10, 0, T0).allowed, 5);
  assert.equal(allowance(p, "Empty", 10, 4, T0).allowed, 1);
  assert.equal(allowance(p, "Empty", 10, 9, T0).allowed, 0);
  assert.equal(allowance(p, "Drifted", 10, 0, T0).allowed, 1);
  // The Expired window is closed in mid-January, so only the 50% budget applies.
  assert.equal(allowance(p, "Expired", 10, 0, T0).allowed, 5);
  assert.equal(allowance(p, "Expired", 10, 0, Date.UTC(2027, 0, 1, 0, 30)).allowed, 0);
});

Deno.test("an invalid schedule allows nothing; no budget allows everything", () => {
  const bad = pool([{ nodes: "100%", schedule: "nonsense", duration: 60_000 }]);
  const a = allowance(bad, "Underutilized", 10, 0, T0);
  assert.equal(a.allowed, 0);
  assert.match(a.why, /invalid schedule/);
  assert.equal(allowance(pool([]), "Underutilized", 10, 2, T0).allowed, Infinity);
});
