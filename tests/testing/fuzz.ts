/**
 * Shared by the fuzz suites (tests/fuzz_*_test.ts): the run count (1000 per parser in CI,
 * `deno task fuzz` sets PROXSCALE_FUZZ_RUNS=20000 and PROXSCALE_FUZZ_HUGE_FREQ=60), a replay seed (PROXSCALE_FUZZ_SEED; fast-check
 * prints the seed and path of every failure), the 2 s budget per input, the check that a message
 * carries no stack trace, and text mutations of a valid YAML document: deleted, duplicated and
 * re-indented lines, retyped and random scalars, anchors and aliases (dangling ones and alias
 * bombs), tags, extra documents, byte order marks and huge sizes.
 *
 * May import: npm:fast-check.
 */
import fc from "fast-check";

/** Cases per fuzzed parser. */
export const FUZZ_RUNS = Number(Deno.env.get("PROXSCALE_FUZZ_RUNS") ?? "1000");

/**
 * Parameters for fc.assert: the run count, the replay seed when one is given, and a reporter
 * that prints the seed and path with a shortened counterexample (inputs can be megabytes).
 */
export function fuzzParams<T>(): fc.Parameters<T> {
  const seed = Deno.env.get("PROXSCALE_FUZZ_SEED");
  return {
    numRuns: FUZZ_RUNS,
    endOnFailure: true,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    reporter: (out) => {
      if (!out.failed) return;
      const example = JSON.stringify(out.counterexample) ?? "";
      const cause = out.errorInstance instanceof Error
        ? out.errorInstance.message
        : String(out.errorInstance);
      throw new Error(
        `fuzz failure after ${out.numRuns} cases; replay with PROXSCALE_FUZZ_SEED=${out.seed} ` +
          `(path ${out.counterexamplePath}); ${
            cause.slice(0, 2000)
          }\ncounterexample (${example.length} chars): ` +
          `${example.slice(0, 1500)}${example.length > 1500 ? "…" : ""}`,
      );
    },
  };
}

/**
 * One input in HUGE_FREQ is also made huge (megabytes, thousands of lines, deep nesting): 1 in
 * 200 in CI, where each costs up to a second, 1 in 60 in the long run.
 */
export const HUGE_FREQ = Number(Deno.env.get("PROXSCALE_FUZZ_HUGE_FREQ") ?? "200");

/** `arb` one time in HUGE_FREQ, else null. */
export function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof(
    { arbitrary: fc.constant(null), weight: HUGE_FREQ - 1 },
    { arbitrary: arb, weight: 1 },
  );
}

/** Longest a parser may take on one input (ms). */
export const BUDGET_MS = 2_000;

/**
 * Runs `fn`, failing when it throws or exceeds the budget (BUDGET_MS unless a larger input
 * names its own); returns its value. A slow run is timed once more before it counts: the
 * machine is shared, and a garbage collection or a neighbour's burst is not the parser's cost,
 * while a slow parser is slow twice.
 */
export function withinBudget<T>(what: string, fn: () => T, budgetMs = BUDGET_MS): T {
  const run = (): { v: T; ms: number } => {
    const t0 = performance.now();
    try {
      const v = fn();
      return { v, ms: performance.now() - t0 };
    } catch (e) {
      throw new Error(
        `${what} threw instead of returning an error value: ${
          e instanceof Error ? e.stack : String(e)
        }`,
      );
    }
  };
  let r = run();
  if (r.ms > budgetMs) r = run();
  if (r.ms > budgetMs) {
    throw new Error(`${what} took ${r.ms.toFixed(0)} ms twice (budget ${budgetMs})`);
  }
  return r.v;
}

/** A message an operator sees must not be a crash: no "internal error", no stack frames. */
export function assertPlainMessage(text: string): void {
  if (/internal error/i.test(text)) throw new Error(`"internal error" in: ${text}`);
  if (/\bat .*\.(ts|js):\d+/.test(text) || /^\s+at /m.test(text)) {
    throw new Error(`stack trace in: ${text}`);
  }
}

const scalar = fc.oneof(
  fc.constantFrom(
    "",
    "~",
    "null",
    "true",
    "no",
    "yes",
    "0",
    "-1",
    "1e309",
    "-0",
    ".nan",
    ".inf",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    "2026-13-45",
    "'unterminated",
    '"unterminated',
    "[",
    "{",
    "]",
    "}",
    "[1, 2",
    "{a: 1",
    "|",
    ">",
    "- x",
    "? x",
    ": x",
    "&a",
    "*a",
    "*missing",
    "&a [*a, *a]",
    "!!binary aGVsbG8=",
    "!!python/object:os.system x",
    "!custom x",
    "!!str 5",
    "!!int x",
    "!<tag:yaml.org,2002:str> x",
    "%YAML 1.2",
    "@x",
    "`x",
    "#comment",
    "\t",
    "a: b: c",
    "100Gi",
    "-5Gi",
    "1.5",
    "500m",
    "99999999999999999999999",
    "10000000000000000000000000000000Ki",
    "30s",
    "-1h",
    "1y",
    "\u0000",
    "\u202e",
    "💥",
  ),
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => JSON.stringify(s)),
);

/** One mutation of a YAML text, as a function of its lines. */
type Mutation = (lines: string[]) => string[];

const at = (lines: string[], i: number) => Math.min(i, Math.max(0, lines.length - 1));

function valueSlot(line: string): number | undefined {
  const m = /^(\s*(?:- )?[^\s:#][^:#]*:)(\s|$)/.exec(line);
  return m ? m[1]!.length : undefined;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Delete a line (a key, an entry, a block's head).
  fc.nat().map((i) => (ls: string[]) => ls.filter((_, j) => j !== at(ls, i))),
  // Duplicate a line (duplicate keys, extra entries).
  fc.nat().map((i) => (ls: string[]) => {
    const k = at(ls, i);
    return [...ls.slice(0, k + 1), ls[k] ?? "", ...ls.slice(k + 1)];
  }),
  // Retype a value: replace what follows `key:` with a random scalar.
  fc.tuple(fc.nat(), scalar).map(([i, v]) => (ls: string[]) => {
    const k = at(ls, i);
    const line = ls[k] ?? "";
    const slot = valueSlot(line);
    const next = slot === undefined ? `${line} ${v}` : `${line.slice(0, slot)} ${v}`;
    return ls.map((l, j) => (j === k ? next : l));
  }),
  // Insert a random line at a random indentation.
  fc.tuple(fc.nat(), fc.nat({ max: 12 }), scalar, fc.boolean()).map(
    ([i, ind, v, keyed]) => (ls: string[]) => {
      const k = at(ls, i);
      const line = `${" ".repeat(ind)}${keyed ? `k${ind}: ` : ""}${v}`;
      return [...ls.slice(0, k), line, ...ls.slice(k)];
    },
  ),
  // Re-indent a line.
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([i, d]) => (ls: string[]) =>
    ls.map((l, j) =>
      j !== at(ls, i) ? l : d >= 0 ? " ".repeat(d) + l : l.replace(new RegExp(`^ {0,${-d}}`), "")
    )
  ),
  // Anchor a value and alias it elsewhere (or alias an anchor that does not exist).
  fc.tuple(fc.nat(), fc.nat(), fc.boolean()).map(([i, j, dangling]) => (ls: string[]) => {
    const a = at(ls, i);
    const b = at(ls, j);
    return ls.map((l, k) => {
      const slot = valueSlot(l);
      if (slot === undefined) return l;
      if (k === a && !dangling) return `${l.slice(0, slot)} &anc${l.slice(slot)}`;
      if (k === b) return `${l.slice(0, slot)} *anc`;
      return l;
    });
  }),
  // An alias bomb appended at the top level.
  fc.integer({ min: 2, max: 9 }).map((n) => (ls: string[]) => [
    ...ls,
    "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]",
    ...Array.from(
      { length: n },
      (_, k) => `bomb${k + 1}: &b${k + 1} [${Array(10).fill(`*b${k}`).join(", ")}]`,
    ),
  ]),
  // Tag a value.
  fc.tuple(
    fc.nat(),
    fc.constantFrom("!!str", "!!int", "!!map", "!!seq", "!!binary", "!custom", "!!set", "!!omap"),
  ).map(([i, tag]) => (ls: string[]) =>
    ls.map((l, k) => {
      const slot = valueSlot(l);
      return k === at(ls, i) && slot !== undefined
        ? `${l.slice(0, slot)} ${tag}${l.slice(slot)}`
        : l;
    })
  ),
  // Another document, a document end, or a directive.
  fc.tuple(fc.nat(), fc.constantFrom("---", "...", "--- {}", "%YAML 1.1", "--- !!map")).map((
    [i, marker],
  ) =>
  (ls: string[]) => {
    const k = at(ls, i);
    return [...ls.slice(0, k), marker, ...ls.slice(k)];
  }),
  // A byte order mark at the start or in the middle.
  fc.nat().map((i) => (ls: string[]) => ls.map((l, k) => (k === at(ls, i) ? `\uFEFF${l}` : l))),
  // Swap two lines.
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => (ls: string[]) => {
    const out = [...ls];
    const a = at(ls, i);
    const b = at(ls, j);
    [out[a], out[b]] = [out[b] ?? "", out[a] ?? ""];
    return out;
  }),
  // Truncate the file.
  fc.nat().map((i) => (ls: string[]) => ls.slice(0, at(ls, i))),
);

const huge: fc.Arbitrary<Mutation> = fc.oneof(
  // A huge scalar (1-4 MB).
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })).map(([i, mb]) => (ls: string[]) =>
    ls.map((l, k) => {
      const slot = valueSlot(l);
      return k === at(ls, i) && slot !== undefined
        ? `${l.slice(0, slot)} ${"x".repeat(mb << 20)}`
        : l;
    })
  ),
  // Many repeated lines (tens of thousands of entries or keys).
  fc.tuple(fc.nat(), fc.integer({ min: 1_000, max: 8_000 })).map(([i, n]) => (ls: string[]) => {
    const k = at(ls, i);
    return [...ls.slice(0, k + 1), ...Array(n).fill(ls[k] ?? ""), ...ls.slice(k + 1)];
  }),
  // Deep nesting.
  fc.integer({ min: 20, max: 2_000 }).map((n) => (ls: string[]) => [
    ...ls,
    `deep: ${"[".repeat(n)}${"]".repeat(n)}`,
  ]),
);

/** One to four mutations of `text` (a huge one now and then), and the mutated text. */
export function mutatedYaml(text: string): fc.Arbitrary<string> {
  const lines = text.split("\n");
  return fc.tuple(
    fc.array(mutation, { minLength: 1, maxLength: 4 }),
    rarely(huge),
    fc.boolean(),
  ).map(([ms, h, bom]) => {
    let ls = lines;
    for (const m of ms) ls = m(ls);
    if (h) ls = h(ls);
    return (bom ? "\uFEFF" : "") + ls.join("\n");
  });
}
