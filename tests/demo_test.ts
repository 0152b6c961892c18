/**
 * End to end: the demo scenario (burst, hold, scale-in) with the real daemon against the fake
 * PVE and fake API server over real sockets; the summary's figures are asserted.
 */
import assert from "node:assert/strict";
import { runDemo } from "../harness/demo.ts";

Deno.test("demo: the burst is served, scale-in removes VMs, nothing leaks", async () => {
  const lines: string[] = [];
  const s = await runDemo({ print: (l) => lines.push(l) });
  assert.equal(s.leakedVms, 0, lines.join("\n"));
  assert.equal(s.duplicateVms, 0);
  // Every node joined with its own token; after registration no token or seed ISO is left.
  assert.equal(s.joinTokens, s.vmsCreated);
  assert.equal(s.tokensLeft, 0);
  assert.equal(s.seedIsosLeft, 0);
  assert.ok(s.vmsCreated >= 3, `VMs created ${s.vmsCreated}`);
  // Scale-in leaves 2 web + 1 api pods (2 vCPU): one VM holds them.
  assert.ok(s.vmsRemoved >= s.vmsCreated - 2, `removed ${s.vmsRemoved} of ${s.vmsCreated}`);
  assert.equal(s.vmsLeft, s.vmsCreated - s.vmsRemoved);
  assert.equal(s.podsPending, 0);
  assert.ok(s.podsScheduled >= 26);
  assert.ok(s.pendingP50 > 0 && s.pendingP50 <= s.pendingP95);
  assert.ok(s.launchLatencies.length >= 3);
  assert.ok(lines.some((l) => /leaked[^0-9]*0/.test(l)), "summary prints leaked VMs: 0");
  assert.ok(lines.some((l) => l.includes("LaunchClaim") && l.includes("PodsPending")));
  assert.ok(lines.some((l) => l.includes("VmDeleted")));
  // Every decision line carries a reason code.
  for (const d of s.decisions) assert.ok(d.reason.code.length > 0 && d.reason.message.length > 0);
});
