import assert from "node:assert/strict";
import { parseTrace, type Trace, traceDigest, writeTrace } from "./format.ts";

const TRACE: Trace = {
  name: "t",
  source: "test",
  duration: 7_200_000,
  pods: [
    {
      namespace: "a",
      name: "p1",
      arrival: 0,
      departure: 60_000,
      cpu: 100,
      memory: 1024,
      owner: "Deployment/x",
      priority: 5,
      labels: { app: "x" },
      tolerations: [{ key: "k", operator: "Exists" }],
      nodeSelector: { zone: "a" },
    },
    { namespace: "a", name: "p2", arrival: 1000, runFor: 5000, cpu: 200, memory: 2048 },
    { namespace: "b", name: "p1", arrival: 1000, cpu: 1, memory: 1, recordedBind: 2000 },
  ],
  nodes: [{ name: "static", added: 0, removed: 3_600_000, cpu: 4000, memory: 8 << 20 }],
  pdbs: [{ namespace: "a", name: "x", selector: { matchLabels: { app: "x" } }, maxUnavailable: 1 }],
  notes: ["hand written"],
};

Deno.test("a trace written and read back is the same trace", () => {
  const text = writeTrace(TRACE);
  const back = parseTrace(text);
  assert.ok(back.ok, JSON.stringify(!back.ok && back.error));
  assert.deepEqual(back.value, TRACE);
  assert.equal(writeTrace(back.value), text);
  assert.equal(traceDigest(back.value), traceDigest(TRACE));
});

Deno.test("a pod name may be reused after its deletion", () => {
  const text = [
    '{"format":"proxscale-trace","version":1,"name":"r"}',
    '{"t":0,"type":"podCreated","name":"x","cpu":1,"memory":1}',
    '{"t":10,"type":"podDeleted","name":"x"}',
    '{"t":10,"type":"podCreated","name":"x","cpu":2,"memory":2}',
  ].join("\n");
  const r = parseTrace(text);
  assert.ok(r.ok);
  assert.deepEqual(r.value.pods.map((p) => [p.arrival, p.departure, p.cpu]), [
    [0, 10, 1],
    [10, undefined, 2],
  ]);
  assert.equal(r.value.duration, 10);
});

Deno.test("a node removed the instant it is added, or on a line dated earlier, reads back the same", () => {
  // Found by tests/fuzz_trace_test.ts: the writer put such a removal before the addition.
  const text = [
    JSON.stringify({ format: "proxscale-trace", version: 1, name: "n", durationMs: 7_200_000 }),
    JSON.stringify({ t: 0, type: "nodeAdded", name: "static-1", cpu: 8000, memory: 2 ** 33 }),
    JSON.stringify({ t: 5000, type: "nodeAdded", name: "static-2", cpu: 8000, memory: 2 ** 33 }),
    JSON.stringify({ t: 3_600_000, type: "podCreated", name: "web-1", cpu: 250, memory: 2 ** 28 }),
    JSON.stringify({ t: 0, type: "nodeRemoved", name: "static-1" }),
    JSON.stringify({ t: 1000, type: "nodeRemoved", name: "static-2" }),
  ].join("\n");
  const r = parseTrace(text);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(
    r.value.nodes.map((n) => [n.name, n.added, n.removed]),
    [["static-1", 0, 0], ["static-2", 5000, 5000]],
  );
  const back = parseTrace(writeTrace(r.value));
  assert.ok(back.ok, JSON.stringify(!back.ok && back.error));
  assert.deepEqual(back.value, r.value);
});

Deno.test("trace errors name the line: header, version, type, fields", () => {
  const cases: [string, number, RegExp][] = [
    ['{"t":0}', 1, /first line must be the header/],
    ['{"format":"proxscale-trace","version":2}', 1, /version 2 is not supported/],
    [
      '{"format":"proxscale-trace","version":1}\n{"t":0,"type":"podMoved"}',
      2,
      /unknown event type/,
    ],
    [
      '{"format":"proxscale-trace","version":1}\n\n{"t":-1,"type":"podCreated"}',
      3,
      /non-negative integer/,
    ],
    [
      '{"format":"proxscale-trace","version":1}\n{"t":0,"type":"podCreated","name":"x","cpu":"1"}',
      2,
      /integer cpu/,
    ],
    [
      '{"format":"proxscale-trace","version":1}\n{"t":0,"type":"podDeleted","name":"x"}',
      2,
      /not running/,
    ],
    ['{"format":"proxscale-trace","version":1}\nnot json', 2, /not JSON/],
    ["", 1, /header line is missing/],
  ];
  for (const [text, line, re] of cases) {
    const r = parseTrace(text);
    assert.ok(!r.ok, text);
    assert.equal(r.error.line, line, text);
    assert.match(r.error.message, re);
  }
});

Deno.test("a pod's extended requests are written, read back, and must be positive integers", () => {
  const t: Trace = {
    ...TRACE,
    pods: [{
      namespace: "g",
      name: "gpu",
      arrival: 0,
      cpu: 1,
      memory: 1,
      extended: { "nvidia.com/gpu": 2 },
    }],
    nodes: [],
    pdbs: [],
  };
  const text = writeTrace(t);
  assert.match(text, /"extended":\{"nvidia.com\/gpu":2\}/);
  const back = parseTrace(text);
  assert.ok(back.ok);
  assert.deepEqual(back.value.pods[0]!.extended, { "nvidia.com/gpu": 2 });
  const bad = parseTrace(text.replace('"nvidia.com/gpu":2', '"nvidia.com/gpu":-1'));
  assert.ok(!bad.ok);
  assert.equal(bad.error.line, 2);
  assert.match(bad.error.message, /extended must map resource names to positive integers/);
});
