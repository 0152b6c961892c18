import assert from "node:assert/strict";
import { importGenericCsv, parseCsv } from "./csv.ts";
import { GiB, MiB } from "../../core/quantity.ts";

Deno.test("CSV reader handles quotes, doubled quotes, commas and CRLF", () => {
  const rows = parseCsv('a,b,c\r\n"x, y","say ""hi""",\r\n\r\nlast,1,2');
  assert.deepEqual(rows.map((r) => r.fields), [
    ["a", "b", "c"],
    ["x, y", 'say "hi"', ""],
    ["last", "1", "2"],
  ]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4]);
});

Deno.test("generic CSV takes quantities, seconds, run times and owners", () => {
  const r = importGenericCsv(
    [
      "name,namespace,cpu,memory,start,end,run_for,priority,owner",
      "web-1,shop,500m,512Mi,0,3600,,10,Deployment/web",
      "job-1,,2,1Gi,30,,600,,Job/nightly",
      "idle,,0.25,128Mi,90,,,,",
    ].join("\n"),
  );
  assert.ok(r.ok);
  const [web, job, idle] = r.value.pods;
  assert.deepEqual(
    { ...web },
    {
      namespace: "shop",
      name: "web-1",
      arrival: 0,
      departure: 3_600_000,
      cpu: 500,
      memory: 512 * MiB,
      priority: 10,
      owner: "Deployment/web",
    },
  );
  assert.equal(job!.namespace, "default");
  assert.equal(job!.runFor, 600_000);
  assert.equal(job!.memory, GiB);
  assert.equal(idle!.departure, undefined);
  assert.equal(r.value.duration, 3_600_000);
});

Deno.test("generic CSV makes RFC 3339 times relative to the earliest start", () => {
  const r = importGenericCsv(
    "name,cpu,memory,start,end\nb,1,1Gi,2026-01-01T00:10:00Z,2026-01-01T01:00:00Z\na,1,1Gi,2026-01-01T00:00:00Z,2026-01-01T00:30:00Z\n",
  );
  assert.ok(r.ok);
  assert.deepEqual(r.value.pods.map((p) => [p.name, p.arrival, p.departure]), [
    ["a", 0, 1_800_000],
    ["b", 600_000, 3_600_000],
  ]);
});

Deno.test("generic CSV errors name the line and the column", () => {
  const r = importGenericCsv("name,cpu,memory,start\nok,1,1Gi,0\nbad,lots,1Gi,5\n");
  assert.ok(!r.ok);
  assert.equal(r.error.line, 3);
  assert.match(r.error.message, /^cpu: "lots" is not a Kubernetes quantity/);
  const missing = importGenericCsv("pod,cpu\nx,1\n");
  assert.ok(!missing.ok);
  assert.match(missing.error.message, /"name" column/);
});
