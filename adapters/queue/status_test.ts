import assert from "node:assert/strict";
import { formatJobStatus } from "./status.ts";
import type { JobInfo } from "../../daemon/ports/queue.ts";

const job = (id: string, state: JobInfo["state"], over: Partial<JobInfo> = {}): JobInfo => ({
  id,
  name: "launch",
  data: {},
  state,
  attemptsStarted: 1,
  attemptsFailed: 0,
  enqueuedAt: 0,
  ...over,
});

Deno.test("status lists failed jobs first with their attempts, the failure's code and PVE message", () => {
  const text = formatJobStatus(
    { waiting: 0, active: 1, delayed: 0, failed: 1, completed: 1 },
    [
      job("launch-a", "completed"),
      job("launch-b", "active", { enqueuedAt: 60_000 }),
      job("launch-c", "failed", {
        attemptsStarted: 5,
        lastError: "VM 130 is locked\n(clone)",
        lastErrorCode: "LaunchFailed",
      }),
    ],
    120_000,
  );
  assert.equal(
    text,
    [
      "jobs: waiting 0, active 1, delayed 0, failed 1, completed 1",
      "ID        NAME    STATE      ATTEMPTS  AGE  LAST ERROR",
      "launch-c  launch  failed     5         2m   LaunchFailed: VM 130 is locked (clone)",
      "launch-b  launch  active     1         1m",
      "launch-a  launch  completed  1         2m",
    ].join("\n"),
  );
  assert.match(
    formatJobStatus(
      { waiting: 3, active: 0, delayed: 0, failed: 0, completed: 0 },
      [
        job("a-1", "waiting"),
        job("a-2", "waiting"),
        job("a-3", "waiting"),
      ],
      0,
      2,
    ),
    /\.\.\. 1 more$/,
  );
});
