/** Traces made from stored demand histories: pods that add up to each bucket's demand. */
import assert from "node:assert/strict";
import { traceFromHistories } from "./history_trace.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { BUCKET_MS } from "../../core/forecast_history.ts";
import { GiB } from "../../core/quantity.ts";

/** Requested CPU of the trace's pods alive at `t`. */
function cpuAt(pods: { arrival: number; departure?: number; cpu: number }[], t: number): number {
  return pods.filter((p) => p.arrival <= t && (p.departure === undefined || p.departure > t))
    .reduce((a, p) => a + p.cpu, 0);
}

Deno.test("each bucket's demand becomes pods pinned to the pool that cover it, newest leaving first", () => {
  const base = defaultSimConfig();
  const config = {
    ...base,
    nodePools: base.nodePools.map((p) => ({
      ...p,
      taints: [{ key: "team", value: "a", effect: "NoSchedule" as const }],
    })),
  };
  const cpu = [4000, 10_000, 2000, 0, 6000];
  const h = { first: 100, cpu, memory: cpu.map((c) => c * GiB / 1000), gpus: cpu.map(() => 0) };
  const t = traceFromHistories({ general: h, unknown: h }, config);
  assert.equal(t.duration, 5 * BUCKET_MS);
  assert.ok(t.pods.every((p) => p.nodeSelector?.["proxscale.io/nodepool"] === "general"));
  assert.ok(t.pods.every((p) => p.tolerations?.[0]?.key === "team"));
  for (const [i, want] of cpu.entries()) {
    const have = cpuAt(t.pods, i * BUCKET_MS);
    assert.ok(have >= want && have < want + t.pods[0]!.cpu, `bucket ${i}: ${have} for ${want}`);
  }
  // The pods that leave when demand falls are the last ones made.
  const n = (name: string) => Number(name.split("-").at(-1));
  const alive = t.pods.filter((p) => p.arrival <= BUCKET_MS && p.departure! > BUCKET_MS)
    .sort((a, b) => n(a.name) - n(b.name));
  const leaving = alive.map((p) => p.departure === 2 * BUCKET_MS);
  assert.ok(leaving.includes(true));
  assert.deepEqual(leaving, [...leaving].sort((a, b) => Number(a) - Number(b)));
  // --days keeps the last buckets only.
  const last = traceFromHistories({ general: h }, config, { days: 2 * BUCKET_MS / 86_400_000 });
  assert.equal(last.duration, 2 * BUCKET_MS);
  assert.equal(cpuAt(last.pods, BUCKET_MS), cpuAt(t.pods, 4 * BUCKET_MS));
});

Deno.test("histories of pools the configuration does not have make no pods", () => {
  const h = { first: 0, cpu: [1000], memory: [GiB], gpus: [0] };
  assert.equal(traceFromHistories({ gone: h }, defaultSimConfig()).pods.length, 0);
});
