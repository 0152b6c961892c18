import assert from "node:assert/strict";
import { TraceRecorder } from "./recorder.ts";
import { parseTrace, writeTrace } from "./format.ts";
import type { Pod } from "../../core/model.ts";

const T0 = Date.UTC(2026, 0, 1);

function pod(name: string, extra: Partial<Pod> = {}): Pod {
  return {
    uid: `uid-${name}`,
    name,
    namespace: "web",
    phase: "Pending",
    createdAt: T0,
    containers: [{ cpu: 250, memory: 256 * 2 ** 20 }, { cpu: 50 }],
    ownerKind: "ReplicaSet",
    ownerName: "web-1",
    ...extra,
  };
}

Deno.test("recorder: running pods arrive at 0, new pods when seen, and leave when deleted or done", () => {
  const r = new TraceRecorder(T0 + 10_000, "lab");
  r.observe({ type: "add", pod: pod("old", { phase: "Running", nodeName: "n1" }) }, T0 + 10_000);
  r.observe({ type: "add", pod: pod("ds", { ownerKind: "DaemonSet" }) }, T0 + 10_000);
  r.observe({ type: "add", pod: pod("new", { createdAt: T0 + 70_000 }) }, T0 + 70_000);
  r.observe(
    { type: "update", pod: pod("new", { createdAt: T0 + 70_000, nodeName: "n2" }) },
    T0 + 95_000,
  );
  r.observe({ type: "update", pod: pod("job", { createdAt: T0 + 80_000 }) }, T0 + 80_000);
  r.observe(
    { type: "update", pod: pod("job", { createdAt: T0 + 80_000, phase: "Succeeded" }) },
    T0 + 200_000,
  );
  r.observe(
    { type: "delete", pod: pod("old", { phase: "Running", nodeName: "n1" }) },
    T0 + 300_000,
  );
  const t = r.finish(T0 + 400_000);
  assert.equal(t.duration, 390_000);
  assert.deepEqual(t.notes, ["1 DaemonSet or static pods left out"]);
  assert.deepEqual(t.pods.map((p) => [p.name, p.arrival, p.departure, p.recordedBind]), [
    ["old", 0, 290_000, undefined],
    ["new", 60_000, undefined, 85_000],
    ["job", 70_000, 190_000, undefined],
  ]);
  assert.equal(t.pods[0]!.cpu, 300);
  assert.equal(t.pods[0]!.owner, "ReplicaSet/web-1");
  // What it writes is a valid version-1 trace.
  const back = parseTrace(writeTrace(t));
  assert.ok(back.ok);
  assert.equal(back.value.pods.length, 3);
});
