/**
 * The memory probe measures the daemon with what it was given: at a small size the child's
 * passes see every NodeClaim, VM, Node and pod the fakes hold, each claim with its VM and Node.
 * Not timed and no memory limit asserted (the figures live in docs/performance.md).
 *
 * May import: harness/.
 */
import assert from "node:assert/strict";
import { runMemoryProbe } from "./memory_probe.ts";

Deno.test("the memory probe's daemon sees the managed claims, their VMs and Nodes, and the pods", async () => {
  const r = await runMemoryProbe(50, 500);
  assert.equal(r.passes, 5);
  assert.deepEqual(r.seen, { pods: 500, nodes: 50, nodeClaims: 50, vms: 50, hosts: 3 });
  assert.equal(r.matched, 50, "every claim has its VM listed by the provider and its Node");
  assert.ok(r.rssBytes > 0 && r.heapUsed > 0);
  assert.ok(r.phaseMs.observe !== undefined && r.phaseMs.decide !== undefined);
});
