import assert from "node:assert/strict";
import { guardNodeRepair } from "./lifecycle_repair.ts";
import type { LifecycleDecision } from "./lifecycle.ts";
import { reason } from "./reason.ts";
import { managedNode, T0 } from "./testing/arbitraries.ts";

const decision = (claim: string, down: boolean): LifecycleDecision => ({
  claim,
  conditions: [],
  changed: false,
  status: {},
  actions: down ? [{ kind: "DeleteClaim", claim, reason: reason("NodeNotReady", "down") }] : [],
  notReadySince: down ? T0 : undefined,
});

Deno.test("node repair pauses in a pool where more than 20% of nodes are NotReady", () => {
  const claims = Array.from({ length: 10 }, (_, i) => managedNode(`n${i}`, "general").claim);
  const two = claims.map((c, i) => decision(c.name, i < 2));
  const ok = guardNodeRepair(claims, two);
  assert.deepEqual(ok.blocked, []);
  assert.equal(ok.decisions.flatMap((d) => d.actions).length, 2, "20% exactly: repaired");

  const three = claims.map((c, i) => decision(c.name, i < 3));
  const held = guardNodeRepair(claims, three);
  assert.equal(held.decisions.flatMap((d) => d.actions).length, 0);
  assert.equal(held.blocked.length, 1);
  assert.equal(held.blocked[0]!.reason.code, "RepairPaused");
  assert.match(held.blocked[0]!.reason.message, /3 of 10 nodes NotReady \(more than 20%\)/);
});

Deno.test("the repair guard counts each pool on its own", () => {
  const a = Array.from({ length: 2 }, (_, i) => managedNode(`a${i}`, "small").claim);
  const b = Array.from({ length: 10 }, (_, i) => managedNode(`b${i}`, "big").claim);
  const decisions = [
    ...a.map((c) => decision(c.name, true)),
    ...b.map((c, i) => decision(c.name, i === 0)),
  ];
  const r = guardNodeRepair([...a, ...b], decisions);
  assert.deepEqual(r.blocked.map((x) => x.nodePool), ["small"]);
  const left = r.decisions.flatMap((d) =>
    d.actions.map((x) => x.kind === "DeleteClaim" && x.claim)
  );
  assert.deepEqual(left, [b[0]!.name]);
});

Deno.test("the repair allowance rounds up: one NotReady node of a small pool is still repaired", () => {
  // As Karpenter: 20% of 1 or 2 nodes rounds up to 1, so a lone bad node is replaced.
  for (const size of [1, 2, 5]) {
    const claims = Array.from({ length: size }, (_, i) => managedNode(`s${i}`, "small").claim);
    const r = guardNodeRepair(claims, claims.map((c, i) => decision(c.name, i === 0)));
    assert.deepEqual(r.blocked, [], `1 of ${size}`);
    assert.equal(r.decisions.flatMap((d) => d.actions).length, 1);
  }
});
