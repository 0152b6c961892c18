/**
 * The shape of a CLI subcommand. main.ts owns the process (exit codes, signals); a command
 * only returns the code it wants, and writes through `io` so tests can capture its output.
 */
export type Io = {
  out: (text: string) => void;
  err: (text: string) => void;
};

export type Command = {
  name: string;
  /** Its line of cli/summaries.ts, the one `proxscale --help` lists. */
  summary: string;
  usage: string;
  /**
   * Returns the process exit code: 0 ok, 1 failure, 2 bad input. A command that runs until
   * stopped ends when `stop` aborts: main.ts aborts it on the first SIGINT or SIGTERM (absent:
   * never, as in tests that stop it otherwise).
   */
  run: (args: string[], io: Io, stop?: AbortSignal) => Promise<number>;
};

/** Resolves once `stop` aborts (never without one). */
export function stopped(stop: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stop?.aborted) resolve();
    else stop?.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** Writes to the real stdout/stderr. */
export const processIo: Io = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
};

/** Collects output in memory, for tests. */
export function captureIo(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}
