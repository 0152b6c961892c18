/**
 * Writes an openb-like pod list (the Alibaba cluster-trace-gpu-v2023 columns) for trying the
 * simulator on GPU workloads: 1,000 pods, 30 % CPU only, 20 % sharing 300 gpu_milli of a GPU,
 * 15 % sharing 500, 30 % one whole GPU and 5 % two; 1, 2, 4 or 8 cores with 2 to 4 GiB per
 * core; 10 minutes to about 5.7 hours each; one pod every `gap / 2` seconds on average. Seeded, so
 * the same arguments write the same file (docs/simulation.md, "GPUs", quotes its figures).
 *
 *   npx -y deno@2.9.6 run examples/gpu_trace.ts [GAP_SECONDS] > gpu.csv     (GAP default 500)
 *   npx -y deno@2.9.6 run -A main.ts sim --trace gpu.csv --format alibaba --gpu shared
 */
const gap = Number(Deno.args[0] ?? 500);
let seed = 1;
/** A linear congruential generator: the same sequence on every machine. */
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const rows = [
  "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
];
let t = 0;
for (let i = 0; i < 1000; i++) {
  t += Math.floor(random() * gap);
  const r = random();
  const [gpus, milli] = r < 0.3
    ? [0, 0]
    : r < 0.5
    ? [1, 300]
    : r < 0.65
    ? [1, 500]
    : r < 0.95
    ? [1, 1000]
    : [2, 1000];
  const cpu = [1000, 2000, 4000, 8000][Math.floor(random() * 4)]!;
  const memory = cpu * (2 + Math.floor(random() * 3));
  const life = 600 + Math.floor(random() * 20000);
  rows.push(`p${i},${cpu},${memory},${gpus},${milli},,LS,Running,${t},${t + life},${t + 2}`);
}
console.log(rows.join("\n"));
