import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { simCommand } from "./sim.ts";
import { decodeJob, encodeJob } from "./sim_queue.ts";
import { startWorker, TEST_REDIS as REDIS } from "./testing/sim_worker.ts";

async function run(args: string[]) {
  const io = captureIo();
  const code = await simCommand.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

Deno.test("sweep jobs keep infinite numbers through their JSON", () => {
  const v = { a: Infinity, b: [-Infinity, 1.5], c: "x" };
  assert.deepEqual(decodeJob(encodeJob(v)), v);
});

Deno.test("a sweep run by two worker processes through Redis equals the local sweep byte for byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sweep-" });
  const queueName = `sim-test-${crypto.randomUUID()}`;
  const workers = [startWorker(queueName), startWorker(queueName)];
  try {
    const lines = ["name,cpu,memory,start,end"];
    for (let i = 0; i < 300; i++) {
      const start = (i * 173) % 14_000;
      lines.push(
        `p${i},${[250, 500, 1000, 1500][i % 4]}m,${[512, 1024, 3072][i % 3]}Mi,${start},${
          start + 1800 + (i * 97) % 5400
        }`,
      );
    }
    const csv = `${dir}/pods.csv`;
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
    const args = ["--trace", csv, "--format", "csv", "--sweep", "--json"];
    const local = await run(args);
    assert.equal(local.code, 0, local.err);
    await Promise.all(workers.map((w) => w.ready));
    const remote = await run([...args, "--queue", REDIS, "--queue-name", queueName]);
    assert.equal(remote.code, 0, remote.err);
    assert.equal(remote.out, local.out);
    assert.ok(JSON.parse(local.out).rows.length > 0);
  } finally {
    const codes = await Promise.all(workers.map((w) => w.stop()));
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.log()).join("\n"));
  }
  // Every cell of the 4 x 4 grid ran on some worker, and both workers took part.
  const counts = workers.map((w) => (w.log().match(/^replayed /gm) ?? []).length);
  assert.equal(counts[0]! + counts[1]!, 16, workers.map((w) => w.log()).join("\n"));
  assert.ok(counts.every((c) => c > 0), `jobs per worker: ${counts}`);
});
