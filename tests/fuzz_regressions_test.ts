/**
 * The inputs the fuzzers found, kept as plain tests: each was a crash, a hang of seconds, or a
 * trace that imported but could not be written back, and each is now a located refusal (or a
 * correct import) within the time budget.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../adapters/config/load.ts";
import { importOpenb } from "../sim/trace/alibaba.ts";
import { importGenericCsv } from "../sim/trace/csv.ts";
import { parseTrace, type Trace, writeTrace } from "../sim/trace/format.ts";
import { withinBudget } from "./testing/fuzz.ts";
import * as S from "../adapters/proxmox/schemas.ts";
import { decodeData } from "../adapters/proxmox/client.ts";
import { interpret } from "../adapters/proxmox/transport.ts";
import { podFromKube } from "../adapters/kubernetes/translate.ts";
import { persistentVolumeFromKube } from "../adapters/kubernetes/translate_workloads.ts";

const EXAMPLE = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
/** The first line after config.example.yaml and a blank line, where each case's text starts. */
const AFTER_EXAMPLE = EXAMPLE.split("\n").length + 1;
const HEADER = '{"format":"proxscale-trace","version":1,"name":"t"}';

function refused(text: string) {
  const r = withinBudget("parseConfigText", () => parseConfigText(text, "c.yaml"));
  assert.ok(!r.ok, "refused");
  return r.error[0]!;
}

Deno.test("config: collections nested 3000 deep are refused where the nesting passes 64 levels", () => {
  const p = refused(`${EXAMPLE}\ndeep: ${"[".repeat(3000)}${"]".repeat(3000)}\n`);
  assert.equal(p.line, AFTER_EXAMPLE);
  assert.equal(p.col, 7 + 64);
  assert.match(p.message, /nested deeper than 64 levels/);
});

Deno.test("config: an anchor whose value aliases itself is an alias bomb, not a hang", () => {
  const p = refused(`${EXAMPLE}\nloop: &x [1, [2, *x]]\n`);
  assert.match(p.message, /alias bomb|refers to no anchor/);
});

Deno.test("config: 2000 aliases are refused at the 1001st", () => {
  const aliases = Array.from({ length: 2000 }, (_, i) => `a${i}: *x`).join("\n");
  const p = refused(`${EXAMPLE}\nanchor: &x 1\n${aliases}\n`);
  assert.match(p.message, /more than 1000 aliases/);
  // The anchor is on the first line after the example, alias a0 on the next.
  assert.equal(p.line, AFTER_EXAMPLE + 1 + 1000);
});

Deno.test("config: 5000 duplicated lines (seconds of parsing before) are refused by size first", () => {
  const dup = Array(6000).fill("dup: 1").join("\n");
  const p = refused(`${EXAMPLE}\n${dup}\n`);
  assert.match(p.message, /more than 5000 lines/);
  assert.equal(p.line, 5001);
});

Deno.test("traces: a JSON value with a toString key is a located error, not a TypeError", () => {
  for (
    const [line, key] of [
      [`{"t":0,"type":"podDeleted","name":{"toString":1}}`, "name"],
      [`{"t":0,"type":"nodeRemoved","name":{"toString":1}}`, "name"],
    ] as const
  ) {
    const r = parseTrace(`${HEADER}\n${line}\n`);
    assert.ok(!r.ok);
    assert.equal(r.error.line, 2);
    assert.equal(r.error.col, line.indexOf(`"${key}"`) + 1);
  }
  const header = '{"format":"proxscale-trace","version":{"toString":1}}';
  const v = parseTrace(`${header}\n`);
  assert.ok(!v.ok && v.error.col === header.indexOf('"version"') + 1, JSON.stringify(v));
  const notes = parseTrace('{"format":"proxscale-trace","version":1,"notes":[{"toString":1}]}\n');
  assert.ok(notes.ok);
  assert.deepEqual(notes.value.notes, ['{"toString":1}']);
});

Deno.test("traces: labels, priority and tolerations of the wrong type name their column", () => {
  const base = '{"t":0,"type":"podCreated","name":"p","cpu":1,"memory":1,';
  for (
    const [extra, key] of [
      ['"labels":5}', "labels"],
      ['"nodeSelector":{"a":1}}', "nodeSelector"],
      ['"priority":"high"}', "priority"],
      ['"tolerations":"none"}', "tolerations"],
      ['"requiredNodeAffinity":[1]}', "requiredNodeAffinity"],
    ] as const
  ) {
    const line = base + extra;
    const r = parseTrace(`${HEADER}\n${line}\n`);
    assert.ok(!r.ok, extra);
    assert.equal(r.error.col, line.indexOf(`"${key}"`) + 1, extra);
  }
  const huge = parseTrace(
    `${HEADER}\n{"t":1e300,"type":"podCreated","name":"p","cpu":1,"memory":1}\n`,
  );
  assert.ok(!huge.ok && huge.error.col === 2);
});

Deno.test("traces: a CSV pod name reused while the first still runs is refused at its row", () => {
  const csv = "name,start,end\nweb,0,100\nweb,50,200\n";
  const r = importGenericCsv(csv);
  assert.ok(!r.ok);
  assert.deepEqual([r.error.line, r.error.col], [3, 1]);
  assert.match(r.error.message, /starts again while it is still running/);
  // Reuse after the end imports, and the written trace reads back.
  const ok = importGenericCsv("name,start,end\nweb,0,100\nweb,100,200\n");
  assert.ok(ok.ok);
  assert.ok(parseTrace(writeTrace(ok.value)).ok);
});

Deno.test("traces: the openb counterexample (a zero-length pod listed twice) never yields a trace that cannot be read back", () => {
  const head =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time";
  const row = "openb-pod-0004,2000,2048,0,0,,Burstable,Failed,30,5.697177066726186e-134,31";
  // Deleted "before" it was created: the importer drops both rows and says so.
  const r = importOpenb(`${head}\n${row}\n${row}\n`);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.pods.length, 0);
  assert.ok(r.value.notes.some((n) => /2 rows dropped/.test(n)), r.value.notes.join("\n"));
  assert.ok(parseTrace(writeTrace(r.value)).ok);
  const big = importOpenb(`${head}\nx,1e300,1,0,0,,LS,Running,0,1,0\n`);
  assert.ok(!big.ok && big.error.col === 3, JSON.stringify(big));
});

Deno.test("traces: a zero-length pod is written deleted after its creation and reads back", () => {
  const t: Trace = {
    name: "z",
    source: "",
    duration: 10,
    pods: [{ namespace: "d", name: "p", arrival: 5, departure: 5, cpu: 1, memory: 1 }],
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const back = parseTrace(writeTrace(t));
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.value.pods, t.pods);
});

Deno.test("traces: 150,000 CSV rows with absolute times import (no spread into Math.min)", () => {
  const rows = Array.from(
    { length: 150_000 },
    (_, i) => `p${i},${new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()}`,
  );
  // 150,000 rows is 75 times the fuzzers' largest input: its budget is the hang guard's, scaled
  // to the input (about 0.6 s on an idle machine, 3 s once under a full parallel test run).
  const text = `name,start\n${rows.join("\n")}\n`;
  const r = withinBudget("import", () => importGenericCsv(text), 15_000);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.equal(r.value.pods.length, 150_000);
  assert.equal(r.value.pods[0]!.arrival, 0);
});

Deno.test("traces: a CSV byte order mark is not part of the first column's name", () => {
  const r = importGenericCsv("\uFEFFname,start\nweb,0\n");
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
});

Deno.test("traces: a run_for too large for exact milliseconds is refused at its column", () => {
  const r = importGenericCsv("name,start,run_for\nweb,0,1e300\n");
  assert.ok(!r.ok);
  assert.deepEqual([r.error.line, r.error.col], [2, 7]);
});

Deno.test("decoders: 200,000 bad array entries are a Malformed, not a stack overflow in zod", () => {
  const terms = Array(200_000).fill({ matchExpressions: "x" });
  const pv = withinBudget("decode", () =>
    persistentVolumeFromKube({
      metadata: { name: "pv" },
      spec: { nodeAffinity: { required: { nodeSelectorTerms: terms } } },
    }));
  assert.ok(!pv.ok);
  assert.ok(pv.error.length <= 600, pv.error.slice(0, 200));
  const nodes = withinBudget(
    "decode",
    () => decodeData(S.nodes, Array(200_000).fill({ node: 1 }), "GET /nodes"),
  );
  assert.ok(!nodes.ok && nodes.error.kind === "malformed");
});

Deno.test("decoders: a megabyte in a value or an error body is quoted, not copied", () => {
  const big = "y".repeat(1 << 20);
  const pod = podFromKube({
    metadata: { name: "p", namespace: "d" },
    spec: { containers: [{ name: "c", resources: { requests: { cpu: big } } }] },
  });
  assert.ok(!pod.ok && pod.error.length <= 600, !pod.ok ? pod.error.slice(0, 100) : "");
  const answer = interpret("GET /nodes", 500, "x", JSON.stringify({ data: null, message: big }));
  assert.ok(!answer.ok && answer.error.message.length <= 2_000);
  const errors = interpret(
    "POST /x",
    400,
    "Parameter verification failed.",
    JSON.stringify({
      data: null,
      errors: Object.fromEntries([...Array(5000)].map((_, i) => [`k${i}`, big.slice(0, 5000)])),
    }),
  );
  assert.ok(!errors.ok && JSON.stringify(errors.error).length <= 50_000);
});
