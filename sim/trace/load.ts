/**
 * One entry point for every trace format: proxscale JSON Lines, the Alibaba openb pod CSV and
 * the generic CSV. With no explicit format, a file whose first line is the proxscale header is
 * a proxscale trace, a CSV with a cpu_milli column is openb, any other CSV is generic.
 *
 * May import: core/result.ts (types).
 */
import type { Result } from "../../core/result.ts";
import type { Trace, TraceError } from "./format.ts";
import { parseTrace, TRACE_FORMAT } from "./format.ts";
import { importOpenb, type OpenbOptions } from "./alibaba.ts";
import { importGenericCsv } from "./csv.ts";

export type TraceFormat = "proxscale" | "alibaba" | "csv";
export const TRACE_FORMATS: readonly TraceFormat[] = ["proxscale", "alibaba", "csv"];

/** Guesses the format from the text. */
export function detectFormat(text: string): TraceFormat {
  const first = text.slice(0, text.indexOf("\n") >>> 0 || text.length).trim();
  if (first.startsWith("{") && first.includes(TRACE_FORMAT)) return "proxscale";
  if (/(^|,)\s*cpu_milli\s*(,|$)/.test(first)) return "alibaba";
  return "csv";
}

/** Parses `text` as `format` (or the detected one). */
export function loadTrace(
  text: string,
  format: TraceFormat | undefined,
  name: string,
  openb: Partial<OpenbOptions> = {},
): Result<Trace, TraceError> {
  switch (format ?? detectFormat(text)) {
    case "proxscale":
      return parseTrace(text);
    case "alibaba":
      return importOpenb(text, { name, ...openb });
    case "csv":
      return importGenericCsv(text, name);
  }
}
