/**
 * The trace recorded from the demo cluster with a compressed daily pattern
 * (examples/demo_diurnal.jsonl, made by harness/diurnal_record.ts), replayed by `proxscale sim` as
 * a process: proxscale-forecast takes the pending time off most pods (p50 and p90 down, p95 not
 * up) for at most 5 % more node-hours than proxscale, every pod scheduled.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TRACE = new URL("../examples/demo_diurnal.jsonl", import.meta.url).pathname;

type Summary = {
  nodeHours: number;
  podsNeverScheduled: number;
  pendingSeconds: { p50: number; p90: number; p95: number };
};

Deno.test("on the demo's recorded day/night trace the forecast cuts pending for at most 5 % more node-hours", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      MAIN,
      "sim",
      "--trace",
      TRACE,
      "--policies",
      "proxscale,proxscale-forecast",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    policies: { name: string; summary: Summary }[];
    forecast: { onFraction: number };
  };
  const [plain, forecast] = report.policies.map((p) => p.summary) as [Summary, Summary];
  assert.equal(forecast.podsNeverScheduled, 0);
  assert.ok(
    forecast.nodeHours <= plain.nodeHours * 1.05,
    `${forecast.nodeHours} vs ${plain.nodeHours}`,
  );
  assert.ok(forecast.pendingSeconds.p50 <= plain.pendingSeconds.p50 / 2, "p50 at least halved");
  assert.ok(forecast.pendingSeconds.p90 < plain.pendingSeconds.p90);
  assert.ok(forecast.pendingSeconds.p95 <= plain.pendingSeconds.p95);
  assert.ok(report.forecast.onFraction > 0.5, `on in ${report.forecast.onFraction}`);
});
