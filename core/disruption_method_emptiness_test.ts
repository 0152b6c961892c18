import assert from "node:assert/strict";
import { EMPTINESS } from "./disruption_method_emptiness.ts";
import { GiB } from "./quantity.ts";
import { managedNode, testPod } from "./testing/arbitraries.ts";
import { passOver, summary } from "./testing/disruption_fixture.ts";

/** A pod that fills most of a 4c-8Gi node, so that node is needed. */
const busy = (name: string, node: string) =>
  testPod(name, node, { containers: [{ cpu: 3000, memory: 6 * GiB }] });

Deno.test("emptiness removes an unneeded node that runs no pods", () => {
  const pass = passOver(
    [managedNode("a", "general"), managedNode("b", "general")],
    [busy("web-1", "b")],
  );
  assert.deepEqual(summary(EMPTINESS.decide(pass)), [["Emptiness", "Empty", ["a"]]]);
  assert.deepEqual(pass.commands.length, 1);
});

Deno.test("emptiness takes every empty node in one command, most expensive first", () => {
  const big = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
  const pass = passOver([
    managedNode("a", "general"),
    managedNode("b", "general"),
    managedNode("c", "general", { shape: big }),
  ], [busy("web-1", "b")]);
  const made = EMPTINESS.decide(pass);
  assert.deepEqual(summary(made), [["Emptiness", "Empty", ["c", "a"]]]);
  assert.match(made[0]!.reason.message, /^2 empty nodes \(c, a\) save /);
  assert.deepEqual(pass.commands, made);
});

Deno.test("emptiness leaves a node that runs a pod", () => {
  const pass = passOver([managedNode("a", "general")], [busy("web-1", "a")]);
  assert.deepEqual(EMPTINESS.decide(pass), []);
  assert.deepEqual(pass.commands, []);
});
