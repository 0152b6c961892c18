/**
 * The inputs `proxscale sim` and `proxscale advise` read from files the same way: a
 * configuration (the built-in one without a file), a world (JSON; the default without a file) and
 * a trace in any supported format, and the --seed and --format options both take. A file that
 * cannot be read or parsed, or an option out of range, prints where and what on stderr and gives
 * undefined, and the command exits 2.
 *
 * May import: core/, adapters/config/, sim/, cli/command.ts.
 */
import type { Io } from "./command.ts";
import type { Config } from "../core/model.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import { defaultSimConfig } from "../sim/policies/default_config.ts";
import { defaultWorld, worldFrom, type WorldSpec } from "../sim/engine/world_spec.ts";
import { loadTrace, TRACE_FORMATS, type TraceFormat } from "../sim/trace/load.ts";
import type { Trace } from "../sim/trace/format.ts";

/**
 * --seed (default 1) and --format (absent: detected from the file) as given on the command line.
 */
export function readSeedAndFormat(
  values: { seed?: string | undefined; format?: string | undefined },
  io: Io,
): { seed: number; format: TraceFormat | undefined } | undefined {
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    io.err(`--seed must be a non-negative integer, got "${values.seed}"`);
    return undefined;
  }
  if (values.format !== undefined && !TRACE_FORMATS.includes(values.format as TraceFormat)) {
    io.err(`--format must be one of ${TRACE_FORMATS.join(", ")}, got "${values.format}"`);
    return undefined;
  }
  return { seed, format: values.format as TraceFormat | undefined };
}

/** The configuration in `path`, or the simulator's built-in one when there is no path. */
export async function readSimConfig(path: string | undefined, io: Io): Promise<Config | undefined> {
  if (!path) return defaultSimConfig();
  const loaded = await loadConfigFile(path);
  if (loaded.ok) return loaded.value;
  for (const p of loaded.error) io.err(formatProblem(p));
  return undefined;
}

/** The world in the JSON file `path`, or the default world when there is no path. */
export async function readSimWorld(
  path: string | undefined,
  io: Io,
): Promise<WorldSpec | undefined> {
  if (!path) return defaultWorld();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    io.err(`${path}: ${(e as Error).message}`);
    return undefined;
  }
  const w = worldFrom(parsed);
  if (w.ok) return w.value;
  io.err(`${path}: ${w.error}`);
  return undefined;
}

/** The trace in `path` (named after the file), its problems located at file:line:col. */
export async function readSimTrace(
  path: string,
  format: TraceFormat | undefined,
  io: Io,
  options?: Parameters<typeof loadTrace>[3],
): Promise<Trace | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    io.err(`${path}: ${(e as Error).message}`);
    return undefined;
  }
  const name = path.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
  const t = loadTrace(text, format, name, options);
  if (t.ok) return t.value;
  io.err(`${path}:${t.error.line}:${t.error.col}: ${t.error.message}`);
  return undefined;
}
