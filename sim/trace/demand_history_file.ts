/**
 * The file `proxscale record --demand-history` writes and `proxscale sim --demand-history`
 * reads: the stored demand histories of a cluster's pools (core/forecast_history.ts encoding) as
 * JSON `{ "format": "proxscale-demand-history", "version": 1, "pools": { name: encoded } }`.
 * Read into the simulator, each history is moved in time so that it ends where the replayed trace
 * begins, as if the trace had been recorded right after it.
 *
 * May import: core/.
 */
import { decodeHistory, type DemandHistory, encodeHistory } from "../../core/forecast_history.ts";
import { err, ok, type Result } from "../../core/result.ts";

export const DEMAND_HISTORY_FORMAT = "proxscale-demand-history";

/** The file text for `histories`. */
export function writeDemandHistoryFile(histories: Record<string, DemandHistory>): string {
  const pools: Record<string, string> = {};
  for (const [name, h] of Object.entries(histories)) pools[name] = encodeHistory(h);
  return JSON.stringify({ format: DEMAND_HISTORY_FORMAT, version: 1, pools }) + "\n";
}

/** The histories of a file, each ending at the bucket just before the simulation's time 0. */
export function readDemandHistoryFile(text: string): Result<Record<string, DemandHistory>, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return err((e as Error).message);
  }
  const f = parsed as { format?: unknown; version?: unknown; pools?: unknown };
  if (f?.format !== DEMAND_HISTORY_FORMAT || f.version !== 1) {
    return err(`not a ${DEMAND_HISTORY_FORMAT} file of version 1`);
  }
  if (typeof f.pools !== "object" || f.pools === null) return err("pools must be a mapping");
  const out: Record<string, DemandHistory> = {};
  for (const [name, text] of Object.entries(f.pools as Record<string, unknown>)) {
    const h = typeof text === "string" ? decodeHistory(text) : undefined;
    if (!h) return err(`pool ${name}: not an encoded history`);
    out[name] = { ...h, first: -h.cpu.length };
  }
  return ok(out);
}
