/**
 * Fuzzing the trace importers of `proxscale sim --trace` (proxscale JSON Lines, the openb pod
 * CSV, the generic pod CSV): mutated sample traces (deleted, duplicated, swapped, truncated and
 * random lines, fields replaced by random JSON values or text, byte order marks, huge sizes)
 * import or are refused with a line and column inside the text, never an exception, and within
 * 2 s; what imports is written back by writeTrace as a trace parseTrace reads again.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadTrace, type TraceFormat } from "../sim/trace/load.ts";
import { parseTrace, writeTrace } from "../sim/trace/format.ts";
import { assertPlainMessage, FUZZ_RUNS, fuzzParams, rarely, withinBudget } from "./testing/fuzz.ts";

const JSONL = [
  '{"format":"proxscale-trace","version":1,"name":"fuzz","durationMs":7200000,"source":"test"}',
  '{"t":0,"type":"nodeAdded","name":"static-1","cpu":8000,"memory":34359738368,"labels":{"zone":"a"}}',
  '{"t":0,"type":"pdb","namespace":"web","name":"web","selector":{"matchLabels":{"app":"web"}},"maxUnavailable":1}',
  '{"t":0,"type":"podCreated","namespace":"web","name":"web-1","cpu":250,"memory":268435456,"owner":"Deployment/web","priority":0,"labels":{"app":"web"},"nodeSelector":{"zone":"a"},"tolerations":[{"key":"k","operator":"Exists"}]}',
  '{"t":1000,"type":"podCreated","name":"job-1","cpu":1000,"memory":1073741824,"runForMs":600000,"recordedBindMs":2000}',
  '{"t":3600000,"type":"podDeleted","namespace":"web","name":"web-1"}',
  '{"t":7000000,"type":"nodeRemoved","name":"static-1"}',
].join("\n");

const OPENB = [
  "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
  "openb-pod-0001,12000,16384,0,0,,LS,Running,0,3600,5",
  "openb-pod-0002,4000,8192,1,500,V100,BE,Succeeded,10,900,12",
  'openb-pod-0003,6000,"4096",0,0,,LS,Pending,20,,',
  "openb-pod-0004,2000,2048,0,0,,Burstable,Failed,30,60,31",
].join("\n");

const GENERIC = [
  "name,namespace,cpu,memory,start,end,run_for,priority,owner",
  "web-1,web,500m,512Mi,0,3600,,0,Deployment/web",
  'batch-1,jobs,2,4Gi,60,,600,-5,"Job/batch-1"',
  "api-1,,0.25,256Mi,120,7200,,,",
].join("\n");

const randomField = fc.oneof(
  fc.constantFrom(
    "",
    "-1",
    "1e309",
    "NaN",
    "nan",
    "Infinity",
    "0x10",
    "99999999999999999999",
    "1.5",
    "-0",
    "null",
    "true",
    '"',
    '""',
    "'",
    ",",
    "\\",
    "\u0000",
    "\uFEFF",
    "2026-13-45T99:99:99Z",
    "2026-01-01T00:00:00Z",
    "1Ei",
    "100000000000000000000Gi",
    "-5m",
    "{",
    "[",
    '{"toString":1}',
    '{"__proto__":{"x":1}}',
  ),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
);

const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    { toString: 1 },
    { valueOf: "x" },
    { __proto__: null, a: 1 },
    [1, 2],
    -1,
    1.5,
    1e300,
    Number.MAX_SAFE_INTEGER + 2,
    "",
    null,
  ),
);

type Mut = (lines: string[]) => string[];
const at = (ls: string[], i: number) => Math.min(i, Math.max(0, ls.length - 1));

function mutations(kind: "json" | "csv"): fc.Arbitrary<Mut> {
  const common: fc.Arbitrary<Mut>[] = [
    fc.nat().map((i) => (ls: string[]) => ls.filter((_, j) => j !== at(ls, i))),
    fc.nat().map((i) => (ls: string[]) => {
      const k = at(ls, i);
      return [...ls.slice(0, k + 1), ls[k] ?? "", ...ls.slice(k + 1)];
    }),
    fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => (ls: string[]) => {
      const out = [...ls];
      const a = at(ls, i);
      const b = at(ls, j);
      [out[a], out[b]] = [out[b] ?? "", out[a] ?? ""];
      return out;
    }),
    fc.tuple(fc.nat(), fc.nat()).map(([i, c]) => (ls: string[]) =>
      ls.map((l, k) => (k === at(ls, i) ? l.slice(0, c % (l.length + 1)) : l))
    ),
    fc.tuple(fc.nat(), fc.nat(), fc.string({ minLength: 1, maxLength: 4 })).map(
      ([i, c, x]) => (ls: string[]) =>
        ls.map((l, k) => {
          if (k !== at(ls, i)) return l;
          const p = c % (l.length + 1);
          return l.slice(0, p) + x + l.slice(p);
        }),
    ),
    fc.tuple(fc.nat(), fc.oneof(fc.string({ maxLength: 60 }), fc.json())).map(
      ([i, line]) => (ls: string[]) => {
        const k = at(ls, i);
        return [...ls.slice(0, k), line, ...ls.slice(k)];
      },
    ),
    fc.nat().map((i) => (ls: string[]) => ls.map((l, k) => (k === at(ls, i) ? `\uFEFF${l}` : l))),
    fc.constant((ls: string[]) => ls.map((l) => `${l}\r`)),
  ];
  const field: fc.Arbitrary<Mut> = kind === "csv"
    ? fc.tuple(fc.nat(), fc.nat(), randomField).map(([i, f, v]) => (ls: string[]) =>
      ls.map((l, k) => {
        if (k !== at(ls, i)) return l;
        const cells = l.split(",");
        cells[f % cells.length] = v;
        return cells.join(",");
      })
    )
    : fc.tuple(fc.nat(), fc.nat(), jsonValue, fc.boolean()).map(
      ([i, f, v, drop]) => (ls: string[]) =>
        ls.map((l, k) => {
          if (k !== at(ls, i)) return l;
          let o: Record<string, unknown>;
          try {
            o = JSON.parse(l);
          } catch {
            return l;
          }
          if (typeof o !== "object" || o === null) return l;
          const keys = Object.keys(o);
          const key = keys[f % Math.max(1, keys.length)] ?? "x";
          if (drop) delete o[key];
          else o[key] = v;
          return JSON.stringify(o);
        }),
    );
  return fc.oneof({ arbitrary: field, weight: 4 }, ...common);
}

const huge = (kind: "json" | "csv"): fc.Arbitrary<Mut> =>
  fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1_000, max: 50_000 })).map(([i, n]) => (ls: string[]) => {
      const k = Math.max(1, at(ls, i));
      // Distinct names, so the copies are not just duplicates refused at the first one.
      const copies = Array.from({ length: n }, (_, c) =>
        (ls[k] ?? "").replace(/pod|web|job|api/, `p${c}`));
      return [...ls.slice(0, k + 1), ...copies, ...ls.slice(k + 1)];
    }),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })).map(([i, mb]) => (ls: string[]) =>
      ls.map((l, k) =>
        k === Math.max(1, at(ls, i))
          ? (kind === "csv"
            ? `${"x".repeat(mb << 20)},${l}`
            : l.replace(/"name":"/, `"name":"${"x".repeat(mb << 20)}`))
          : l
      )
    ),
    fc.integer({ min: 1_000, max: 100_000 }).map((n) => (ls: string[]) => [
      ...ls,
      kind === "csv"
        ? `${'"'.repeat(n)}`
        : `{"t":0,"type":"pdb","name":"d","maxUnavailable":1,"selector":${"[".repeat(n)}${
          "]".repeat(n)
        }}`,
    ]),
  );

function mutated(sample: string, kind: "json" | "csv"): fc.Arbitrary<string> {
  const lines = sample.split("\n");
  return fc.tuple(
    fc.array(mutations(kind), { minLength: 1, maxLength: 4 }),
    rarely(huge(kind)),
  ).map(([ms, h]) => {
    let ls = lines;
    for (const m of ms) ls = m(ls);
    if (h) ls = h(ls);
    return ls.join("\n");
  });
}

function check(text: string, format: TraceFormat): "imported" | "refused" {
  return withinBudget(`${format} import`, () => {
    const r = loadTrace(text, format, "fuzz");
    if (!r.ok) {
      const { line, col, message } = r.error;
      // Lines as each reader counts them: CSV breaks at \r\n, \r or \n; JSON Lines at \n.
      const lines = text.split(format === "proxscale" ? "\n" : /\r\n|\r|\n/);
      assert.ok(line >= 1 && line <= lines.length + 1, `line ${line}: ${message.slice(0, 200)}`);
      assert.ok(
        col >= 1 && col <= (lines[line - 1]?.length ?? 0) + 2,
        `col ${col}: ${message.slice(0, 200)}`,
      );
      assertPlainMessage(message);
      return "refused";
    }
    // What imports is a trace the simulator's own reader takes back.
    const again = parseTrace(writeTrace(r.value));
    assert.ok(again.ok, `written trace not readable: ${!again.ok && again.error.message}`);
    assert.equal(again.value.pods.length, r.value.pods.length);
    return "imported";
  });
}

for (
  const [format, sample, kind] of [
    ["proxscale", JSONL, "json"],
    ["alibaba", OPENB, "csv"],
    ["csv", GENERIC, "csv"],
  ] as const
) {
  Deno.test(`fuzz: ${FUZZ_RUNS} mutated ${format} traces import or name line and column, within 2 s`, () => {
    assert.equal(check(sample, format), "imported", "the sample itself imports");
    const seen = { imported: 0, refused: 0 };
    fc.assert(
      fc.property(mutated(sample, kind), (text) => {
        seen[check(text, format)]++;
      }),
      fuzzParams(),
    );
    assert.ok(seen.refused > 0 && seen.imported > 0, JSON.stringify(seen));
  });
}
