import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { simCommand } from "./sim.ts";

async function run(args: string[]) {
  const io = captureIo();
  const code = await simCommand.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/**
 * A small pod list in the openb schema, written for this test: GPU-sharing pods (300 and 500
 * gpu_milli of one GPU), whole-GPU pods, one two-GPU pod and a few CPU pods, over two hours.
 */
function openbCsv(): string {
  const rows = [
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
  ];
  for (let i = 0; i < 24; i++) {
    const t = i * 240;
    const [gpus, milli] = i % 4 === 0
      ? [0, 0]
      : i % 4 === 1
      ? [1, 300]
      : i % 4 === 2
      ? [1, 500]
      : [1, 1000];
    rows.push(`pod-${i},2000,4096,${gpus},${milli},,LS,Running,${t},${t + 3000},${t + 2}`);
  }
  rows.push("pod-two,4000,8192,2,1000,V100M16,LS,Running,600,4200,605");
  return rows.join("\n") + "\n";
}

Deno.test("proxscale sim --format alibaba --gpu shared runs the GPU pods and reports GPU utilisation and the GPU-aware bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-gpu-" });
  try {
    const csv = `${dir}/gpu.csv`;
    await Deno.writeTextFile(csv, openbCsv());
    const r = await run([
      "--trace",
      csv,
      "--format",
      "alibaba",
      "--gpu",
      "shared",
      "--html",
      `${dir}/r.html`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /shapes 4c-8Gi, 8c-32Gi-1gpu, 16c-48Gi-2gpu on 4 hosts/);
    assert.match(
      r.out,
      /bin-packing bound [\d.]+ node-hours \(Martello-Toth L2 at every instant, peak \d+ nodes\); both bounds count GPUs \(nvidia\.com\/gpu: [\d.]+ unit-hours demanded, at most 20 per node\)/,
    );
    const lines = r.out.split("\n");
    const header = lines.find((l) => l.startsWith("POLICY"))!.split(/\s+/);
    assert.deepEqual(header.slice(12, 17), ["NEVER", "UTIL", "cpu", "mem", "gpu"]);
    for (const name of ["proxscale", "cluster-autoscaler", "karpenter", "kubenodesmith-v0"]) {
      const row = lines.find((l) => l.startsWith(`${name} `))!.split(/\s+/);
      assert.equal(row[11], "0", `${name}: no pod left never scheduled`);
      const gpu = Number(row[14]!.replace("%", ""));
      assert.ok(gpu > 0 && gpu <= 100, `${name}: GPU utilisation ${row[14]}`);
    }

    const html = await Deno.readTextFile(`${dir}/r.html`);
    assert.match(html, /<th>mem util<\/th><th>GPU util<\/th>/);
    assert.match(html, /GPU units requested \/ allocatable/);
    assert.match(html, /both bounds count GPUs \(nvidia\.com\/gpu: /);

    const json = await run([
      "--trace",
      csv,
      "--format",
      "alibaba",
      "--gpu",
      "shared",
      "--json",
      "--write-trace",
      `${dir}/gpu.jsonl`,
    ]);
    assert.equal(json.code, 0, json.err);
    const report = JSON.parse(json.out);
    assert.deepEqual(report.bound.extended.perNode, { "nvidia.com/gpu": 20 });
    assert.ok(report.bound.extended.demandHours["nvidia.com/gpu"] > 0);
    assert.ok(report.series.byPolicy.proxscale.gpuUtil.some((u: number) => u > 0));
    assert.deepEqual(report.binBound.extendedPerNode, { "nvidia.com/gpu": 20 });
    assert.equal(report.bound.podsTooLarge, 0);
    for (const p of report.policies) {
      assert.equal(p.summary.podsNeverScheduled, 0, p.name);
      assert.equal(p.summary.podsScheduled, 25, p.name);
      assert.ok(p.summary.utilization.gpu > 0, p.name);
    }
    // The written trace keeps the GPU requests: replayed as a proxscale trace, the same runs.
    const jsonl = await Deno.readTextFile(`${dir}/gpu.jsonl`);
    assert.match(jsonl, /"extended":\{"nvidia.com\/gpu":5\}/);
    const again = await run(["--trace", `${dir}/gpu.jsonl`, "--gpu", "shared", "--json"]);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(JSON.parse(again.out).policies, report.policies);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxscale sim documents the GPU modes and refuses an unknown one", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--gpu MODE {8}openb GPU pods: drop \(default\), cpu-only/);
  assert.match(help.out, /whole/);
  assert.match(help.out, /shared \(each GPU time-sliced into 10 replicas/);
  const bad = await run(["--gpu", "half"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--gpu must be one of drop, cpu-only, whole, shared, got "half"/);
});

Deno.test("a GPU trace whose config has no GPU shape is refused with the GPUs named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-gpu-" });
  try {
    const csv = `${dir}/gpu.csv`;
    // GPU pods only: every one asks GPUs.
    const rows = openbCsv().split("\n").filter((l, i) => i === 0 || !/,0,0,,/.test(l));
    await Deno.writeTextFile(csv, rows.join("\n"));
    const config = `${dir}/c.yaml`;
    await Deno.writeTextFile(
      config,
      await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url)),
    );
    const r = await run([
      "--trace",
      csv,
      "--format",
      "alibaba",
      "--gpu",
      "whole",
      "--config",
      config,
    ]);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.err,
      /no pod of the trace fits any shape: all \d+ pods request more than the largest allocatable \(.*, at most 0 nvidia\.com\/gpu\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without GPU pods the report has no GPU column and no GPU words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-gpu-" });
  try {
    const csv = `${dir}/gpu.csv`;
    await Deno.writeTextFile(csv, openbCsv());
    // --gpu drop (the default) drops the GPU pods: a CPU-only replay.
    const r = await run(["--trace", csv, "--format", "alibaba", "--json"]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.bound.extended, undefined);
    assert.equal(report.binBound.extendedPerNode, undefined);
    assert.equal(report.policies[0].summary.utilization.gpu, undefined);
    assert.equal(report.series.byPolicy.proxscale.gpuUtil, undefined);
    assert.deepEqual(report.config.shapes, ["4c-8Gi"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
