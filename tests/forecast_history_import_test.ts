/**
 * A recorded demand history is importable by the simulator: `sim --demand-history` starts the
 * proxscale-forecast policy from it, so on a two-day trace (too short for the policy to learn
 * anything by itself) it already launches ahead of the morning and cuts p95 pending.
 */
import assert from "node:assert/strict";
import { forecastTrace } from "../sim/trace/forecast_traces.ts";
import { forecastVsActual } from "../sim/report/forecast_series.ts";
import { writeDemandHistoryFile } from "../sim/trace/demand_history_file.ts";
import { defaultSimConfig } from "../sim/policies/default_config.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function p95s(...extra: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      MAIN,
      "sim",
      "--synthetic",
      "diurnal",
      "--days",
      "2",
      "--policies",
      "proxscale,proxscale-forecast",
      "--json",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    policies: { name: string; summary: { pendingSeconds: { p95: number } } }[];
  };
  return Object.fromEntries(r.policies.map((p) => [p.name, p.summary.pendingSeconds.p95]));
}

Deno.test("sim --demand-history starts the forecast from a recorded history", async () => {
  // Five earlier days of the same kind of workload, as `proxscale record --demand-history` writes.
  const earlier = forecastVsActual(forecastTrace("diurnal", 5, 2), "auto", 0.2);
  const pool = defaultSimConfig().nodePools[0]!.name;
  const history = {
    first: 0,
    cpu: earlier.actualCpu.map((c) => Math.round(c * 1000)),
    memory: earlier.actualMemory.map((m) => Math.round(m * 2 ** 30)),
    gpus: earlier.actualCpu.map(() => 0),
  };
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/history.json`;
    await Deno.writeTextFile(file, writeDemandHistoryFile({ [pool]: history }));
    const alone = await p95s();
    assert.equal(alone["proxscale-forecast"], alone["proxscale"], "two days teach it nothing");
    const seeded = await p95s("--demand-history", file);
    assert.ok(
      seeded["proxscale-forecast"]! <= seeded["proxscale"]! / 2,
      `p95 ${seeded["proxscale-forecast"]} s vs ${seeded["proxscale"]} s`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
