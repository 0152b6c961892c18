/**
 * A `proxscale sim worker` process against the test Redis, for the tests of `sim --sweep --queue`
 * and `advise --queue`: `ready` once it listens, its stderr collected, `stop` sends SIGTERM and
 * gives the exit code.
 *
 * May import: nothing (it runs main.ts as a process).
 */
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The Redis the queue tests use (CI starts one on this port). */
export const TEST_REDIS = Deno.env.get("PROXSCALE_TEST_REDIS_URL") ?? "redis://127.0.0.1:6399";

/** A `proxscale sim worker` process; resolves `ready` once it listens, collects its stderr. */
export function startWorker(queueName: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      MAIN,
      "sim",
      "worker",
      "--queue",
      TEST_REDIS,
      "--queue-name",
      queueName,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log += chunk;
      if (log.includes("waiting for sweep jobs")) markReady();
    }
  })();
  return {
    ready,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      const status = await child.status;
      await drained;
      return status.code;
    },
  };
}
