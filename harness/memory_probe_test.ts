/**
 * The memory probe measures the shipped daemon with what it was given: at a small size the
 * child runs with deno.json's compile flags and the front door (its worker held the Lease), its
 * passes see every NodeClaim, VM, Node and pod the fakes hold, each claim with its VM and Node
 * and no lifecycle step left to take (the inventory is the daemon's own at rest),
 * and the whole process (both isolates) stays under 130 MB (about 110 MB measured: most of the
 * daemon's resident set is the runtime, its modules and the worker, not the inventory).
 * Not timed; the full-size figures live in docs/performance.md.
 *
 * May import: harness/.
 */
import assert from "node:assert/strict";
import { runMemoryProbe } from "./memory_probe.ts";
import { runProcessProbe } from "./memory_probe_process.ts";

/** The `--v8-flags=` list of deno.json's compile task, read here on its own. */
async function compileFlags(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const task = String(deno.tasks.compile);
  const at = task.indexOf("--v8-flags=");
  assert.ok(at >= 0, "the compile task bakes V8 flags into the binary");
  return task.slice(at + "--v8-flags=".length).split(" ")[0]!.split(",");
}

Deno.test("the memory probe runs the shipped daemon (compile flags, front door holding the Lease) and it sees the managed claims, their VMs and Nodes, and the pods", async () => {
  const r = await runMemoryProbe(50, 500);
  const flags = r.v8Flags.split(",");
  for (const f of await compileFlags()) assert.ok(flags.includes(f), `child runs with ${f}`);
  assert.deepEqual(r.frontDoor, { running: true, leader: true });
  assert.equal(r.passes, 5);
  assert.deepEqual(r.seen, { pods: 500, nodes: 50, nodeClaims: 50, vms: 50, hosts: 3 });
  assert.equal(r.matched, 50, "every claim has its VM listed by the provider and its Node");
  // The inventory is the daemon's own at rest: no lifecycle step is left for it to take (a
  // Node without the initialized label made every pass plan a MarkInitialized per claim).
  // Consolidation may find the small probe cluster underused: that is a decision, not a gap.
  const lifecycle = Object.keys(r.planned).filter((k) => k !== "Disrupt");
  assert.deepEqual(lifecycle, [], `planned ${JSON.stringify(r.planned)}`);
  assert.ok(r.heapUsed > 0 && r.heapUsed < r.rssBytes);
  // A regression such as client-node or a second copy of the daemon's modules on the worker
  // thread adds tens of MB; the small inventory itself is a few.
  assert.ok(r.rssBytes < 130 * 2 ** 20, `RSS ${Math.round(r.rssBytes / 2 ** 20)} MB at 50/500`);
  assert.ok(r.phaseMs.observe !== undefined && r.phaseMs.decide !== undefined);
});

Deno.test("the process probe measures the real `proxscale run` process from outside: the compile task's flags, its Lease, its passes and its nodes", async () => {
  const r = await runProcessProbe(50, 500, 2);
  const v8 = r.argv.find((a) => a.startsWith("--v8-flags="));
  assert.ok(v8, "the daemon runs with the compile task's V8 flags");
  for (const f of await compileFlags()) assert.ok(v8.includes(f), `daemon runs with ${f}`);
  assert.ok(!r.argv.includes("-A"), "with the compile task's permissions, not -A");
  assert.ok(r.argv.includes("--pause") && r.argv.includes("--leader-elect"));
  assert.ok(r.passes >= 2, `passes counted on its /metrics: ${r.passes}`);
  assert.equal(r.leader, true, "its front door holds the Lease");
  assert.equal(r.nodes, 50, "the daemon counts the 50 managed nodes");
  assert.ok(r.rssBytes > r.rssFileBytes && r.rssAnonBytes > 0);
  // About 123 MB measured at 50/500; the burst of one Event write per claim that the paused
  // reporter used to start at once cost ~50 MB at 1,000 claims (docs/performance.md).
  assert.ok(r.rssBytes < 150 * 2 ** 20, `RSS ${Math.round(r.rssBytes / 2 ** 20)} MB at 50/500`);
});
