/**
 * Redis for tests: the CI's server (`PROXSCALE_TEST_REDIS_URL`, started by .ci/run) or, when
 * that is not set, a private redis-server on a free 127.0.0.1 port started for one test and
 * stopped after it, so the Redis tests run everywhere redis-server is installed. Test-only.
 */

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}: ${e}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Runs `fn` with a Redis URL. `password` (or `own`) always starts a private server, since the
 * shared one has no password and other tests use it in parallel.
 */
export async function withRedis<T>(
  fn: (url: string) => Promise<T>,
  options: { password?: string; own?: boolean } = {},
): Promise<T> {
  const shared = Deno.env.get("PROXSCALE_TEST_REDIS_URL");
  if (shared && options.password === undefined && !options.own) return await fn(shared);
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "proxscale-redis-" });
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  args.push("--dir", dir);
  if (options.password !== undefined) args.push("--requirepass", options.password);
  const child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
  try {
    await waitForPort(port, 5_000);
    return await fn(`redis://127.0.0.1:${port}`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/** A key prefix no other test uses, so tests sharing one server stay independent. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Polls `check` every 20 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
