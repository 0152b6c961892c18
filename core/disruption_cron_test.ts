import assert from "node:assert/strict";
import { cronMatches, lastTrigger, parseCron, windowOpen } from "./disruption_cron.ts";

const at = (iso: string) => Date.parse(iso);
function cron(expr: string) {
  const r = parseCron(expr);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

Deno.test("five-field schedules match the minutes they name, in UTC", () => {
  const s = cron("30 9 * * 1-5");
  assert.ok(cronMatches(s, at("2027-01-15T09:30:00Z"))); // Friday
  assert.ok(cronMatches(s, at("2027-01-15T09:30:59Z")));
  assert.ok(!cronMatches(s, at("2027-01-16T09:30:00Z"))); // Saturday
  assert.ok(!cronMatches(s, at("2027-01-15T09:31:00Z")));
});

Deno.test("lists, ranges, steps, names and Sunday as 7", () => {
  const s = cron("*/15 0-6/3 * JAN,mar sun");
  assert.ok(cronMatches(s, at("2027-01-17T03:45:00Z"))); // Sunday
  assert.ok(!cronMatches(s, at("2027-01-17T04:45:00Z")));
  assert.ok(!cronMatches(s, at("2027-02-21T03:45:00Z")));
  assert.ok(cronMatches(cron("0 0 * * 7"), at("2027-01-17T00:00:00Z")));
  assert.ok(cronMatches(cron("5/20 * * * *"), at("2027-01-17T00:45:00Z")));
  assert.ok(!cronMatches(cron("5/20 * * * *"), at("2027-01-17T00:40:00Z")));
});

Deno.test("day of month and day of week are OR'd unless one is a star", () => {
  const either = cron("0 0 13 * 5"); // the 13th, or any Friday
  assert.ok(cronMatches(either, at("2027-01-13T00:00:00Z"))); // Wednesday the 13th
  assert.ok(cronMatches(either, at("2027-01-15T00:00:00Z"))); // Friday the 15th
  assert.ok(!cronMatches(either, at("2027-01-14T00:00:00Z")));
  const both = cron("0 0 13 * *");
  assert.ok(!cronMatches(both, at("2027-01-15T00:00:00Z")));
});

Deno.test("macros expand to their five-field forms", () => {
  assert.ok(cronMatches(cron("@daily"), at("2027-03-02T00:00:00Z")));
  assert.ok(cronMatches(cron("@hourly"), at("2027-03-02T17:00:00Z")));
  assert.ok(cronMatches(cron("@weekly"), at("2027-01-17T00:00:00Z")));
  assert.ok(cronMatches(cron("@yearly"), at("2027-01-01T00:00:00Z")));
  assert.ok(!cronMatches(cron("@monthly"), at("2027-01-02T00:00:00Z")));
});

Deno.test("invalid schedules are errors naming the field", () => {
  for (
    const bad of [
      "* * * *",
      "60 * * * *",
      "* 24 * * *",
      "* * 0 * *",
      "* * * 13 *",
      "*/0 * * * *",
      "1-x * * * *",
      "5-1 * * * *",
      "@often",
    ]
  ) {
    const r = parseCron(bad);
    assert.equal(r.ok, false, bad);
  }
  const r = parseCron("0 25 * * *");
  assert.ok(!r.ok && r.error.includes("hour"));
});

Deno.test("the last trigger is found across days and bounded by the lookback", () => {
  const s = cron("0 22 * * *");
  const now = at("2027-01-15T08:00:00Z");
  assert.equal(lastTrigger(s, now, 24 * 3_600_000), at("2027-01-14T22:00:00Z"));
  assert.equal(lastTrigger(s, now, 3_600_000), undefined);
  const yearly = cron("@yearly");
  assert.equal(lastTrigger(yearly, now, 30 * 86_400_000), at("2027-01-01T00:00:00Z"));
});

Deno.test("a window is open from its trigger for its duration only", () => {
  const s = cron("0 9 * * *");
  const hour = 3_600_000;
  assert.ok(windowOpen(s, hour, at("2027-01-15T09:00:00Z")));
  assert.ok(windowOpen(s, hour, at("2027-01-15T09:59:59Z")));
  assert.ok(!windowOpen(s, hour, at("2027-01-15T10:00:00Z")));
  assert.ok(!windowOpen(s, hour, at("2027-01-15T08:59:00Z")));
});
