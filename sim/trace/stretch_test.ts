/** Stretching a trace multiplies every instant and keeps the requests. */
import assert from "node:assert/strict";
import { stretchTrace } from "./stretch.ts";
import type { Trace } from "./format.ts";

Deno.test("stretching a trace multiplies arrivals, departures, run lengths, nodes and duration", () => {
  const trace: Trace = {
    name: "t",
    source: "s",
    duration: 60_000,
    pods: [
      { namespace: "a", name: "p", arrival: 1000, departure: 30_000, cpu: 500, memory: 1 },
      {
        namespace: "a",
        name: "q",
        arrival: 2000,
        runFor: 5000,
        recordedBind: 2500,
        cpu: 1,
        memory: 2,
      },
    ],
    nodes: [{ name: "n", added: 0, removed: 10_000, cpu: 1, memory: 1 }],
    pdbs: [],
    notes: [],
  };
  const s = stretchTrace(trace, 1440);
  assert.equal(s.duration, 86_400_000);
  assert.deepEqual(s.pods.map((p) => [p.arrival, p.departure, p.runFor, p.recordedBind, p.cpu]), [
    [1_440_000, 43_200_000, undefined, undefined, 500],
    [2_880_000, undefined, 7_200_000, 3_600_000, 1],
  ]);
  assert.equal(s.nodes[0]!.removed, 14_400_000);
  assert.equal(trace.pods[0]!.arrival, 1000, "the input is unchanged");
});
