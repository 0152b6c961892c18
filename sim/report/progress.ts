/**
 * A progress bar for long runs, on stderr and only when stderr is a terminal, so piped and
 * --json output never carry it. Redraws at most every 2 % to stay cheap.
 *
 * May import: nothing (uses Deno.stderr).
 */

/** Returns a progress callback, or undefined when stderr is not a TTY. */
export function terminalProgress(label: string): ((fraction: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  return progressBar(label, (b) => Deno.stderr.writeSync(b));
}

/**
 * One bar per policy run: it advances with that run's own work and names the run ("sim
 * [2/4 karpenter]"), so a slow policy does not make a shared bar linger and a fast one jump.
 */
export function terminalRunProgress(
  label: string,
): ((f: number, policy: string, index: number, count: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  return runProgress(label, (b) => Deno.stderr.writeSync(b));
}

/** The per-run bar writing to `write` (tests pass a buffer). */
export function runProgress(
  label: string,
  write: (bytes: Uint8Array) => unknown,
): (f: number, policy: string, index: number, count: number) => void {
  let current = -1;
  let bar: ((f: number) => void) | undefined;
  return (f, policy, index, count) => {
    if (index !== current) {
      current = index;
      bar = progressBar(`${label} [${index + 1}/${count} ${policy}]`, write);
    }
    bar!(f);
  };
}

/** A bar redrawn at most every 2 %, ending its line at 100 %. */
export function progressBar(
  label: string,
  write: (bytes: Uint8Array) => unknown,
): (fraction: number) => void {
  const enc = new TextEncoder();
  let shown = -2; // so 0 % is drawn at once
  return (f: number) => {
    const pct = Math.max(0, Math.min(100, Math.floor(f * 100)));
    if (pct < 100 && pct - shown < 2) return;
    if (pct === shown) return;
    shown = pct;
    const width = 30;
    const full = Math.round((pct / 100) * width);
    const bar = "#".repeat(full) + "-".repeat(width - full);
    write(enc.encode(`\r${label} [${bar}] ${String(pct).padStart(3)}%`));
    if (pct >= 100) write(enc.encode("\n"));
  };
}
