import assert from "node:assert/strict";
import { gpuUnits, importOpenb, SHARED_GPU_REPLICAS } from "./alibaba.ts";
import { MiB } from "../../core/quantity.ts";
import { parseTrace, writeTrace } from "./format.ts";

// A small pod list in the openb schema (cluster-trace-gpu-v2023), written for this test:
// a CPU pod, a GPU-sharing pod, a never-scheduled pod (empty scheduled_time), a multi-GPU pod,
// and a row whose gpu_spec holds two models joined by '|'.
const CSV = [
  "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
  "openb-pod-0000,12000,16384,0,0,,LS,Running,0,3600,5",
  "openb-pod-0001,8000,30720,1,500,,BE,Succeeded,60,1260,61",
  "openb-pod-0002,4000,4096,0,0,,Burstable,Pending,120,900,",
  "openb-pod-0003,64000,262144,8,1000,G2,Guaranteed,Failed,200,7400,230",
  "openb-pod-0004,2000,1024,1,1000,G1|G3,LS,Running,300,1500,300",
].join("\n") + "\n";

Deno.test("openb import turns seconds into ms, MiB into bytes, and keeps the recorded bind", () => {
  const r = importOpenb(CSV);
  assert.ok(r.ok);
  const t = r.value;
  assert.deepEqual(t.pods.map((p) => p.name), ["openb-pod-0000", "openb-pod-0002"]);
  const p0 = t.pods[0]!;
  assert.equal(p0.arrival, 0);
  assert.equal(p0.departure, 3_600_000);
  assert.equal(p0.recordedBind, 5_000);
  assert.equal(p0.cpu, 12_000);
  assert.equal(p0.memory, 16_384 * MiB);
  assert.equal(p0.labels?.qos, "LS");
  const p2 = t.pods[1]!;
  assert.equal(p2.recordedBind, undefined, "an empty scheduled_time means never scheduled");
  assert.equal(t.duration, 3_600_000);
  assert.ok(t.notes.some((n) => n === "3 GPU pods dropped"), t.notes.join("; "));
  assert.ok(t.notes.some((n) => n.startsWith("1 pods were never scheduled")), t.notes.join("; "));
});

Deno.test("openb GPU pods can be replayed with CPU and memory only, and requests scaled", () => {
  const r = importOpenb(CSV, { gpu: "cpu-only", scale: 0.25 });
  assert.ok(r.ok);
  assert.equal(r.value.pods.length, 5);
  const big = r.value.pods.find((p) => p.name === "openb-pod-0003")!;
  assert.equal(big.cpu, 16_000);
  assert.equal(big.memory, 65_536 * MiB);
  assert.ok(r.value.notes.includes("3 GPU pods replayed with CPU and memory only"));
  assert.ok(r.value.notes.includes("CPU and memory requests scaled by 0.25"));
});

Deno.test("openb import names the line of a bad value and a missing column", () => {
  const bad = CSV.replace("openb-pod-0002,4000", "openb-pod-0002,-4000");
  const r = importOpenb(bad);
  assert.ok(!r.ok);
  assert.equal(r.error.line, 4);
  assert.match(r.error.message, /cpu_milli "-4000"/);
  const noCol = importOpenb("name,cpu_milli\nx,1\n");
  assert.ok(!noCol.ok);
  assert.match(noCol.error.message, /no "memory_mib" column/);
});

Deno.test("openb 'nan' fields read as empty, as pandas writes them", () => {
  const r = importOpenb(CSV.replace("Pending,120,900,", "Pending,120,900,nan"));
  assert.ok(r.ok);
  assert.equal(r.value.pods.find((p) => p.name === "openb-pod-0002")!.recordedBind, undefined);
});

Deno.test("openb GPU pods replayed with CPU and memory keep their GPU columns", () => {
  const r = importOpenb(CSV, { gpu: "cpu-only" });
  assert.ok(r.ok);
  const byName = new Map(r.value.pods.map((p) => [p.name, p]));
  assert.deepEqual(byName.get("openb-pod-0001")!.gpu, { count: 1, milli: 500, models: [] });
  assert.deepEqual(byName.get("openb-pod-0003")!.gpu, { count: 8, milli: 1000, models: ["G2"] });
  assert.deepEqual(byName.get("openb-pod-0004")!.gpu, {
    count: 1,
    milli: 1000,
    models: ["G1", "G3"],
  });
  assert.equal(byName.get("openb-pod-0000")!.gpu, undefined, "a CPU pod has no GPU record");
});

Deno.test("openb GPU columns survive writing and reading the proxscale trace format", () => {
  const r = importOpenb(CSV, { gpu: "cpu-only" });
  assert.ok(r.ok);
  const back = parseTrace(writeTrace(r.value));
  assert.ok(back.ok, back.ok ? "" : back.error.message);
  assert.deepEqual(
    back.value.pods.find((p) => p.name === "openb-pod-0004")!.gpu,
    { count: 1, milli: 1000, models: ["G1", "G3"] },
  );
});

Deno.test("openb rejects a pod name reused while the first pod still lives, naming both lines", () => {
  const dup = CSV + "openb-pod-0000,1000,1024,0,0,,LS,Running,1800,5400,1800\n";
  const r = importOpenb(dup);
  assert.ok(!r.ok);
  assert.equal(r.error.line, 7);
  assert.match(r.error.message, /"openb-pod-0000" is used again while the pod of line 2/);
  // The same name after the first pod left is a new pod, as in the proxscale format.
  const reuse = CSV + "openb-pod-0000,1000,1024,0,0,,LS,Running,3600,5400,3601\n";
  const ok = importOpenb(reuse);
  assert.ok(ok.ok);
  assert.equal(ok.value.pods.filter((p) => p.name === "openb-pod-0000").length, 2);
});

Deno.test("openb says how many rows it dropped and why", () => {
  const extra = CSV +
    "openb-pod-0005,1000,1024,0,0,,LS,Running,500,400,500\n" +
    "openb-pod-0006,1000,1024,0,0,,LS,Running,600,600,600\n";
  const r = importOpenb(extra);
  assert.ok(r.ok);
  assert.equal(r.value.pods.length, 2);
  assert.ok(
    r.value.notes.includes(
      "5 rows dropped: 3 GPU pods (--gpu drop), 1 with deletion_time before creation_time, " +
        "1 with a zero lifetime (deleted when created)",
    ),
    r.value.notes.join("; "),
  );
});

Deno.test("openb --gpu whole asks whole GPUs: num_gpu, or a sharing pod's share rounded up", () => {
  const r = importOpenb(CSV, { gpu: "whole" });
  assert.ok(r.ok);
  const ext = Object.fromEntries(r.value.pods.map((p) => [p.name, p.extended]));
  assert.equal(ext["openb-pod-0000"], undefined, "a CPU pod asks no GPU");
  assert.deepEqual(ext["openb-pod-0001"], { "nvidia.com/gpu": 1 }, "500 milli rounds up to 1");
  assert.deepEqual(ext["openb-pod-0003"], { "nvidia.com/gpu": 8 });
  assert.deepEqual(ext["openb-pod-0004"], { "nvidia.com/gpu": 1 });
  assert.ok(r.value.notes.includes("3 GPU pods replayed asking whole GPUs (nvidia.com/gpu)"));
});

Deno.test("openb --gpu shared asks time-sliced replicas: ceil(gpu_milli x R / 1000) per GPU", () => {
  assert.equal(SHARED_GPU_REPLICAS, 10);
  const r = importOpenb(CSV, { gpu: "shared" });
  assert.ok(r.ok);
  const ext = Object.fromEntries(r.value.pods.map((p) => [p.name, p.extended]));
  assert.deepEqual(ext["openb-pod-0001"], { "nvidia.com/gpu": 5 }, "half a GPU is 5 of 10");
  assert.deepEqual(ext["openb-pod-0003"], { "nvidia.com/gpu": 80 }, "8 whole GPUs");
  assert.deepEqual(ext["openb-pod-0004"], { "nvidia.com/gpu": 10 });
  assert.equal(gpuUnits("shared", 1, 1), 1, "the smallest share is one replica");
  assert.equal(gpuUnits("shared", 1, 101), 2);
  assert.equal(gpuUnits("shared", 2, 0), 20, "num_gpu without gpu_milli: whole GPUs");
  assert.equal(gpuUnits("whole", 0, 1500), 2);
  // The recorded GPU fields stay, and the extended requests survive the JSON Lines round trip.
  const pod1 = r.value.pods.find((p) => p.name === "openb-pod-0001")!;
  assert.deepEqual(pod1.gpu, { count: 1, milli: 500, models: [] });
  const back = parseTrace(writeTrace(r.value));
  assert.ok(back.ok);
  assert.deepEqual(back.value.pods, r.value.pods);
});
