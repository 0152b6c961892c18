import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { simCommand, speedLines } from "./sim.ts";

async function run(args: string[]) {
  const io = captureIo();
  const code = await simCommand.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

Deno.test("proxscale sim --json is byte-identical across two runs of the default", async () => {
  const a = await run(["--json"]);
  const b = await run(["--json"]);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  const report = JSON.parse(a.out);
  assert.equal(report.format, "proxscale-sim-report");
  assert.deepEqual(report.policies.map((p: { name: string }) => p.name), [
    "proxscale",
    "cluster-autoscaler",
    "karpenter",
    "kubenodesmith-v0",
  ]);
  assert.doesNotMatch(a.out, /wall|elapsed|202\d-\d\d-\d\dT/, "no wall-clock values in --json");
  const other = await run(["--json", "--seed", "2", "--policies", "proxscale"]);
  assert.notEqual(
    JSON.parse(other.out).policies[0].summary.nodeHours,
    report.policies[0].summary.nodeHours,
  );
});

Deno.test("proxscale sim replays a CSV trace, writes HTML and the trace it replayed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-" });
  try {
    const csv = `${dir}/pods.csv`;
    const rows = ["name,cpu,memory,start,end"];
    for (let i = 0; i < 30; i++) rows.push(`p${i},500m,1Gi,${i * 60},${i * 60 + 3600}`);
    await Deno.writeTextFile(csv, rows.join("\n") + "\n");
    const r = await run([
      "--trace",
      csv,
      "--html",
      `${dir}/r.html`,
      "--write-trace",
      `${dir}/t.jsonl`,
      "--policies",
      "proxscale,kubenodesmith-v0",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trace pods \(30 pods/);
    assert.match(r.out, /^proxscale\s+\d/m);
    assert.match(await Deno.readTextFile(`${dir}/r.html`), /<svg /);
    const again = await run(["--trace", `${dir}/t.jsonl`, "--json", "--policies", "proxscale"]);
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).trace.pods, 30);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxscale sim --sweep recommends the cheapest shape and host count meeting the target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sweep-" });
  try {
    const csv = `${dir}/pods.csv`;
    const rows = ["name,cpu,memory,start,end"];
    for (let i = 0; i < 20; i++) rows.push(`p${i},1,2Gi,${i * 30},${i * 30 + 1800}`);
    await Deno.writeTextFile(csv, rows.join("\n") + "\n");
    const r = await run(["--trace", csv, "--sweep", "--json", "--target-p95", "120"]);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.equal(s.targetP95Seconds, 120);
    assert.ok(s.rows.length >= 4);
    const ok = s.rows.filter((x: { meetsTarget: boolean }) => x.meetsTarget);
    const cheapest = Math.min(...ok.map((x: { totalCost: number }) => x.totalCost));
    assert.equal(s.recommended.totalCost, cheapest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxscale sim rejects bad options with exit code 2 and says why", async () => {
  const cases: [string[], RegExp][] = [
    [["--seed", "x"], /--seed must be a non-negative integer/],
    [["--format", "xml"], /--format must be one of proxscale, alibaba, csv/],
    [["--policies", "proxscale,nope"], /unknown policy "nope"/],
    [["--trace", "/nonexistent/trace.jsonl"], /nonexistent/],
    [["--bogus"], /Unknown option/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, re);
  }
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--sweep/);
});

Deno.test("proxscale sim exits 1 with one clear line when no pod of the trace fits any shape", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-" });
  try {
    const csv = `${dir}/huge.csv`;
    await Deno.writeTextFile(
      csv,
      "name,cpu,memory,start,end\nhuge-1,64,1Ti,0,3600\nhuge-2,32,512Gi,10,7200\n",
    );
    const r = await run(["--trace", csv, "--format", "csv", "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^no pod of the trace fits any shape: all 2 pods request more than/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the speed line times each policy and does not multiply the span by the policy count", () => {
  const text = speedLines(3600, [{ policy: "proxscale", seconds: 0.5 }, {
    policy: "karpenter",
    seconds: 0.1,
  }], 0.6);
  assert.match(
    text,
    /time per policy: proxscale 0\.50 s \(7,200x\), karpenter 0\.10 s \(36,000x\)/,
  );
  assert.match(text, /replayed 1 h with 2 policies in 0\.6 s: 6,000x real time for the whole/);
});

Deno.test("sim --json on the default: proxscale uses no more node-hours than any baseline, and creates fewer VMs and evicts fewer pods than the Karpenter-like one", async () => {
  const r = await run(["--json"]);
  assert.equal(r.code, 0, r.err);
  type P = {
    name: string;
    summary: { nodeHours: number; vmCreates: number; evictions: number };
  };
  const report = JSON.parse(r.out) as { policies: P[] };
  const by = new Map(report.policies.map((p) => [p.name, p.summary]));
  const px = by.get("proxscale")!;
  const karpenter = by.get("karpenter")!;
  assert.deepEqual([...by.keys()].sort(), [
    "cluster-autoscaler",
    "karpenter",
    "kubenodesmith-v0",
    "proxscale",
  ]);
  assert.ok(px.vmCreates < karpenter.vmCreates, `${px.vmCreates} vs ${karpenter.vmCreates}`);
  assert.ok(px.evictions < karpenter.evictions, `${px.evictions} vs ${karpenter.evictions}`);
  for (const [name, other] of by) {
    if (name === "proxscale") continue;
    assert.ok(px.nodeHours <= other.nodeHours, `${name}: ${other.nodeHours} < ${px.nodeHours}`);
  }
});
