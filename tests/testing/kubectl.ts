/**
 * kubectl 1.32 (and any other command) run as a person runs it, for the tests that drive the
 * fake cluster from the outside: the environment names the kubeconfig and a private cache
 * directory, stdin may carry a manifest, and the answer is the exit code and both streams.
 */

/** What one kubectl call printed. */
export type KubectlRun = { code: number; stdout: string; stderr: string };

/** The environment for kubectl against `kubeconfig`, with its caches under `dir`. */
export function kubectlEnv(kubeconfig: string, dir: string): Record<string, string> {
  return { KUBECONFIG: kubeconfig, KUBECACHEDIR: `${dir}/kubecache`, HOME: dir, NO_COLOR: "1" };
}

/** Runs `cmd args...` with `env` (in `cwd` when given), feeding `stdin` when given. */
export async function runCommand(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  stdin?: string,
  cwd?: string,
): Promise<KubectlRun> {
  const child = new Deno.Command(cmd, {
    args,
    env,
    ...(cwd ? { cwd } : {}),
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `kubectl args...` with `env`, feeding `stdin` when given. */
export function kubectl(
  env: Record<string, string>,
  args: string[],
  stdin?: string,
): Promise<KubectlRun> {
  return runCommand("kubectl", args, env, stdin);
}
