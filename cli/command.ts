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
  summary: string;
  usage: string;
  /** Returns the process exit code: 0 ok, 1 failure, 2 bad input. */
  run: (args: string[], io: Io) => Promise<number>;
};

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
