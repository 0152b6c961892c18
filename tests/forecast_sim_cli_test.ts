/**
 * Predictive scale-up judged the way a user runs it: `proxscale sim --synthetic ... --json`
 * as a process, comparing plain proxscale with proxscale-forecast. On day/night and weekly
 * traces the forecast at least halves p95 pending time for at most 5% more node-hours; on a
 * flat trace with random bursts it switches itself off and costs at most 1% more.
 */
import assert from "node:assert/strict";

type Report = {
  policies: {
    name: string;
    summary: { nodeHours: number; pendingSeconds: { p95: number } };
  }[];
  forecast?: { onFraction: number; actualCpu: number[]; predictedCpu: number[] };
};

async function sim(trace: string, days: number): Promise<Report> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      new URL("../main.ts", import.meta.url).pathname,
      "sim",
      "--synthetic",
      trace,
      "--days",
      String(days),
      "--policies",
      "proxscale,proxscale-forecast",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function pair(r: Report) {
  const plain = r.policies.find((p) => p.name === "proxscale")!.summary;
  const ahead = r.policies.find((p) => p.name === "proxscale-forecast")!.summary;
  return { plain, ahead, extra: ahead.nodeHours / plain.nodeHours - 1 };
}

for (const [trace, days] of [["diurnal", 8], ["weekly", 14]] as const) {
  Deno.test(`on the ${trace} trace the forecast halves p95 pending for at most 5% more node-hours`, async () => {
    const r = await sim(trace, days);
    const { plain, ahead, extra } = pair(r);
    assert.ok(
      ahead.pendingSeconds.p95 <= plain.pendingSeconds.p95 / 2,
      `p95 pending ${ahead.pendingSeconds.p95} s vs ${plain.pendingSeconds.p95} s`,
    );
    assert.ok(extra <= 0.05, `${(extra * 100).toFixed(1)}% more node-hours`);
    assert.ok(r.forecast!.onFraction > 0.5, `acted in ${r.forecast!.onFraction} of the buckets`);
    assert.equal(r.forecast!.actualCpu.length, r.forecast!.predictedCpu.length);
  });
}

Deno.test("on a flat trace with random bursts the forecast switches off and costs at most 1% more", async () => {
  const r = await sim("flat", 4);
  const { extra } = pair(r);
  assert.equal(r.forecast!.onFraction, 0);
  assert.ok(extra <= 0.01, `${(extra * 100).toFixed(2)}% more node-hours`);
});

Deno.test("sim --help says the forecast policy runs only when named", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      new URL("../main.ts", import.meta.url).pathname,
      "sim",
      "--help",
    ],
    stdout: "piped",
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /proxscale-forecast, run only when named/);
});
