/**
 * Crash safety of a launch with the in-memory queue: the daemon is killed dead at each step
 * (claim created, VMID reserved, clone sent, VM started, launch recorded, node registered) and a
 * fresh instance with a fresh queue takes over: no VM leaks, no claim gets two VMs, and the
 * cluster converges (pods running on exactly one VM per claim).
 */
import assert from "node:assert/strict";
import { LAUNCH_POINTS, runCrashScenario } from "../harness/crash.ts";
import { memoryQueues } from "../harness/crash_queues.ts";

for (const point of LAUNCH_POINTS) {
  Deno.test(`memory queue: killed ${point}, a restarted daemon converges without leaks`, async () => {
    const r = await runCrashScenario(point, memoryQueues);
    const log = r.log.join("\n");
    assert.ok(r.crashed, `the daemon reached ${point}\n${log}`);
    assert.ok(r.converged, `converged\n${log}`);
    assert.equal(r.leaked, 0, log);
    assert.equal(r.duplicates, 0, log);
    assert.equal(r.liveVms, 1);
    assert.equal(r.claims, 1);
    assert.equal(r.pendingPods, 0);
  });
}
