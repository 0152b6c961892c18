import assert from "node:assert/strict";
import { recordingEvents } from "./testing/events_fake.ts";
import type { CandidateVerdict } from "../core/disruption.ts";
import type { ReasonCode } from "../core/reason.ts";
import {
  VERDICT_EVENT_GAP,
  VERDICT_EVENT_REFRESH,
  VERDICT_EVENTS_PER_PASS,
  VerdictEvents,
} from "./verdict_events.ts";

const kept = (claim: string, code: ReasonCode, message: string): CandidateVerdict => ({
  nodeClaim: claim,
  node: claim,
  nodePool: "general",
  disrupt: false,
  reason: { code, message },
});

Deno.test("a kept node says why on its NodeClaim and Node; a new code is told, a new figure is not", async () => {
  const { calls, events } = recordingEvents();
  const v = new VerdictEvents(events);
  let t = 1_000_000;
  await v.observe([kept("general-a", "Unconsolidatable", "a replacement costs 0.0500/h")], t);
  assert.deepEqual(calls.map((c) => [c.subject.kind, c.subject.name, c.reason.code]), [
    ["NodeClaim", "general-a", "Unconsolidatable"],
    ["Node", "general-a", "Unconsolidatable"],
  ]);
  // The next pass: same verdict, a new figure in its message: not news.
  t += 10_000;
  await v.observe([kept("general-a", "Unconsolidatable", "a replacement costs 0.0510/h")], t);
  assert.equal(calls.length, 2);
  // A new code within the gap waits for it (a flapping node writes no more than that) ...
  const pdb = kept("general-a", "PdbBlocked", "PodDisruptionBudget default/db allows 0");
  await v.observe([pdb], t);
  assert.equal(calls.length, 2);
  // ... and is told once the gap has passed.
  t += VERDICT_EVENT_GAP;
  await v.observe([pdb], t);
  assert.equal(calls.length, 4);
  assert.equal(calls[2]!.reason.message, pdb.reason.message);
  // The same verdict is told again after the refresh period.
  t += VERDICT_EVENT_REFRESH;
  await v.observe([pdb], t);
  assert.equal(calls.length, 6);
});

Deno.test("disrupted, NotReady, in-progress and window-waiting nodes get no verdict Event; a node that comes back is news", async () => {
  const { calls, events } = recordingEvents();
  const v = new VerdictEvents(events);
  await v.observe([
    { ...kept("general-a", "Empty", "no pods"), disrupt: true },
    kept("general-b", "NodeNotReady", "NotReady"),
    kept("general-c", "DisruptionInProgress", "being deleted"),
    kept("general-e", "StabilizationWindow", "last pod event 2s ago; consolidateAfter is 30s"),
  ], 0);
  assert.equal(calls.length, 0);
  await v.observe([kept("general-d", "Unconsolidatable", "needed")], 0);
  await v.observe([], 1);
  await v.observe([kept("general-d", "Unconsolidatable", "needed")], 2);
  assert.equal(calls.filter((c) => c.subject.kind === "NodeClaim").length, 2);
});

Deno.test("a pass tells a bounded number of nodes; the next passes tell the rest", async () => {
  const { calls, events } = recordingEvents();
  const v = new VerdictEvents(events);
  const all = Array.from(
    { length: VERDICT_EVENTS_PER_PASS * 2 + 3 },
    (_, i) => kept(`general-${i}`, "Unconsolidatable", "needed"),
  );
  const claims = () => calls.filter((c) => c.subject.kind === "NodeClaim").length;
  await v.observe(all, 0);
  assert.equal(claims(), VERDICT_EVENTS_PER_PASS);
  await v.observe(all, 1);
  await v.observe(all, 2);
  assert.equal(claims(), all.length);
  await v.observe(all, 3);
  assert.equal(claims(), all.length);
});
