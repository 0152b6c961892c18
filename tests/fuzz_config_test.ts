/**
 * Fuzzing the configuration parser: mutations of config.example.yaml (deleted, duplicated and
 * retyped keys, random scalars, anchors and aliases, tags, extra documents, byte order marks,
 * huge sizes) are valid or refused with problems at file:line:col, exactly as `proxscale
 * validate` prints them (exit 2), never an exception, "internal error", a stack trace, or more
 * than 2 s. One subprocess run checks the same of the real binary. Regression inputs the
 * fuzzer found stay below as plain tests.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatProblem, parseConfigText } from "../adapters/config/load.ts";
import { captureIo } from "../cli/command.ts";
import { validateCommand } from "../cli/validate.ts";
import {
  assertPlainMessage,
  FUZZ_RUNS,
  fuzzParams,
  mutatedYaml,
  withinBudget,
} from "./testing/fuzz.ts";

const FILE = "fuzz.yaml";
const EXAMPLE = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));

/** What validate would print and return for `text`, checked for the rules above. */
export function checkConfig(text: string): "valid" | "refused" {
  const r = withinBudget("parseConfigText", () => parseConfigText(text, FILE));
  if (r.ok) return "valid";
  assert.ok(r.error.length > 0, "a refusal names at least one problem");
  const lineCount = text.split("\n").length;
  for (const p of r.error) {
    const line = formatProblem(p);
    assert.match(line, /^fuzz\.yaml:\d+:\d+: /, line);
    assert.ok(p.line >= 1 && p.col >= 1 && p.line <= lineCount + 1, line.slice(0, 300));
    assertPlainMessage(line);
  }
  return "refused";
}

Deno.test(`fuzz: ${FUZZ_RUNS} mutations of config.example.yaml are valid or located problems, within 2 s`, () => {
  const seen = { valid: 0, refused: 0 };
  fc.assert(
    fc.property(mutatedYaml(EXAMPLE), (text) => {
      seen[checkConfig(text)]++;
    }),
    fuzzParams(),
  );
  // The generator reaches both sides (a mutation that breaks nothing is valid).
  assert.ok(seen.refused > FUZZ_RUNS / 2, JSON.stringify(seen));
});

Deno.test("the unmutated example is valid, so the fuzzer starts from a good file", () => {
  assert.equal(checkConfig(EXAMPLE), "valid");
});

Deno.test("validate exits 2 with file:line:col on a mutated file, in process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-fuzz-config-" });
  try {
    const samples = fc.sample(mutatedYaml(EXAMPLE), { numRuns: 20, seed: 7 });
    for (const [i, text] of samples.entries()) {
      const path = `${dir}/c${i}.yaml`;
      await Deno.writeTextFile(path, text);
      const io = captureIo();
      const code = await validateCommand.run([path], io);
      const want = checkConfig(text) === "valid" ? 0 : 2;
      assert.equal(code, want, io.stderr.join("\n"));
      if (code === 2) {
        assert.match(io.stderr[0]!, new RegExp(`^${path}:\\d+:\\d+: `));
        assertPlainMessage(io.stderr.join("\n"));
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the real binary refuses hostile YAML with exit 2 and no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-fuzz-bin-" });
  try {
    const path = `${dir}/hostile.yaml`;
    // An alias bomb, a tag, a second document, a BOM and a dangling alias together.
    await Deno.writeTextFile(
      path,
      "\uFEFF" + EXAMPLE.replace("providers:", "providers: !!python/object:x\n  - *nope") +
        "\n---\nb0: &b0 [x, x, x, x, x, x, x, x, x, x]\nb1: &b1 [*b0, *b0, *b0, *b0, *b0]\n",
    );
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "validate", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, new RegExp(`${path}:\\d+:\\d+: `));
    assertPlainMessage(stderr);
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
