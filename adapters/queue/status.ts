/**
 * The job queue as `proxscale status` prints it: counts per state, then one line per job
 * (state, attempts, age, last error with its code: whose failure it was), jobs that need
 * attention first.
 */
import { formatDuration } from "../../core/duration.ts";
import {
  JOB_STATES,
  type JobCounts,
  type JobInfo,
  type JobState,
} from "../../daemon/ports/queue.ts";

const ORDER: Record<JobState, number> = {
  failed: 0,
  active: 1,
  delayed: 2,
  waiting: 3,
  completed: 4,
};

/** Plain text for a terminal; `limit` lines of jobs at most (the rest is counted). */
export function formatJobStatus(
  counts: JobCounts,
  jobs: readonly JobInfo[],
  now: number,
  limit = 50,
): string {
  const head = `jobs: ${JOB_STATES.map((s) => `${s} ${counts[s]}`).join(", ")}`;
  if (jobs.length === 0) return head;
  const sorted = [...jobs].sort((a, b) =>
    ORDER[a.state] - ORDER[b.state] || a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1)
  );
  const rows = sorted.slice(0, limit).map((j) => [
    j.id,
    j.name,
    j.state,
    String(j.attemptsStarted),
    formatDuration(Math.max(0, Math.floor((now - j.enqueuedAt) / 1000) * 1000)),
    (j.lastError === undefined
      ? ""
      : `${j.lastErrorCode ? `${j.lastErrorCode}: ` : ""}${j.lastError}`)
      .replace(/\s+/g, " ").slice(0, 120),
  ]);
  const table = [["ID", "NAME", "STATE", "ATTEMPTS", "AGE", "LAST ERROR"], ...rows];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  const more = sorted.length > limit ? [`... ${sorted.length - limit} more`] : [];
  return [head, ...lines, ...more].join("\n");
}
