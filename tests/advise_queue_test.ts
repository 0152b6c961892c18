/**
 * `proxscale advise --queue`: the runs of an advice replayed by two `proxscale sim worker`
 * processes through Redis (the sweep queue) give the same JSON, byte for byte, as a local run.
 */
import assert from "node:assert/strict";
import { startWorker, TEST_REDIS as REDIS } from "../cli/testing/sim_worker.ts";
const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout), err: d.decode(out.stderr) };
}

Deno.test("advise run by two worker processes through Redis equals the local advice byte for byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-advise-queue-" });
  const queueName = `advise-test-${crypto.randomUUID()}`;
  const workers = [startWorker(queueName), startWorker(queueName)];
  let runs = 0;
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
    const local = await cli("advise", "--trace", csv, "--format", "csv", "--json");
    assert.equal(local.code, 0, local.err);
    await Promise.all(workers.map((w) => w.ready));
    const remote = await cli(
      "advise",
      "--trace",
      csv,
      "--format",
      "csv",
      "--json",
      "--queue",
      REDIS,
      "--queue-name",
      queueName,
    );
    assert.equal(remote.code, 0, remote.err);
    assert.equal(remote.out, local.out);
    const advice = JSON.parse(local.out) as { candidates: unknown[] };
    assert.ok(advice.candidates.length > 5);
    runs = advice.candidates.length + 1;
  } finally {
    const codes = await Promise.all(workers.map((w) => w.stop()));
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.log()).join("\n"));
  }
  // Every run (the base and each candidate) was replayed by some worker, and both took part.
  const counts = workers.map((w) => (w.log().match(/^replayed an advise run /gm) ?? []).length);
  assert.equal(counts[0]! + counts[1]!, runs, workers.map((w) => w.log()).join("\n"));
  assert.ok(counts.every((c) => c > 0), `runs per worker: ${counts}`);
});
