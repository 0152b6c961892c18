/**
 * `proxscale advise --trace` on the embedded trace, as a process: it names a change worth making
 * with its simulated gain and writes the patch; `proxscale sim --patch` on the same trace then
 * shows that very gain against `proxscale sim` without it.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

type Outcome = { nodeHours: number; cost: number; pendingP95Seconds: number };
type Summary = { nodeHours: number; cost: number; pendingSeconds: { p95: number } };

Deno.test("advise names a change and its gain, and sim with the patch shows that gain", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const trace = `${dir}/embedded.jsonl`;
    const patch = `${dir}/patch.yaml`;
    await cli("sim", "--policies", "proxscale", "--write-trace", trace);
    const table = await cli("advise", "--trace", trace, "--patch-out", patch);
    assert.match(table, /Recommended: .+: cost -\d+\.\d%/);
    const advice = JSON.parse(await cli("advise", "--trace", trace, "--json")) as {
      base: Outcome;
      recommended?: { change: string; outcome: Outcome; costChange: number };
    };
    const rec = advice.recommended!;
    assert.ok(rec, "a change is recommended");
    assert.match(table, new RegExp(rec.change.replace(/[()/.]/g, "\\$&")));
    assert.ok(rec.costChange <= -0.01, `cost change ${rec.costChange}`);

    const run = async (...extra: string[]) =>
      (JSON.parse(await cli("sim", "--trace", trace, "--policies", "proxscale", "--json", ...extra))
        .policies[0].summary) as Summary;
    const before = await run();
    const after = await run("--patch", patch);
    assert.ok(Math.abs(before.cost - advice.base.cost) < 1e-6, "advise's base is sim's run");
    assert.ok(Math.abs(after.cost - rec.outcome.cost) < 1e-6, "sim --patch gives the advised cost");
    assert.ok(after.cost <= before.cost * 0.99, `${after.cost} vs ${before.cost}`);
    assert.ok(after.pendingSeconds.p95 <= before.pendingSeconds.p95 * 1.1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
