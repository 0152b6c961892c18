/**
 * A progress bar for long runs, on stderr and only when stderr is a terminal, so piped and
 * --json output never carry it. Redraws at most every 2 % to stay cheap.
 *
 * May import: nothing (uses Deno.stderr).
 */

/** Returns a progress callback, or undefined when stderr is not a TTY. */
export function terminalProgress(label: string): ((fraction: number) => void) | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const enc = new TextEncoder();
  let shown = -1;
  return (f: number) => {
    const pct = Math.max(0, Math.min(100, Math.floor(f * 100)));
    if (pct < 100 && pct - shown < 2) return;
    shown = pct;
    const width = 30;
    const full = Math.round((pct / 100) * width);
    const bar = "#".repeat(full) + "-".repeat(width - full);
    Deno.stderr.writeSync(enc.encode(`\r${label} [${bar}] ${String(pct).padStart(3)}%`));
    if (pct >= 100) Deno.stderr.writeSync(enc.encode("\n"));
  };
}
