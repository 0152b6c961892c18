/**
 * Fuzzing the snapshot file of `proxscale plan --snapshot`: mutations of examples/snapshot.yaml
 * (the same YAML mutations as the configuration's, huge sizes included) are planned or refused
 * with problems at file:line:col, exactly as plan prints them (exit 2), never an exception, a
 * stack trace, or more than 2 s for reading and converting (and planning, for snapshots of up to
 * 200 pods).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatProblem, parseConfigText, parseYaml } from "../adapters/config/load.ts";
import { SNAPSHOT_LIMITS, snapshotFile, toSnapshot } from "../adapters/config/snapshot_file.ts";
import { provision } from "../core/provisioning.ts";
import { captureIo } from "../cli/command.ts";
import { planCommand } from "../cli/plan.ts";
import {
  assertPlainMessage,
  FUZZ_RUNS,
  fuzzParams,
  mutatedYaml,
  withinBudget,
} from "./testing/fuzz.ts";

const FILE = "snap.yaml";
const root = new URL("../", import.meta.url);
const SNAPSHOT = await Deno.readTextFile(new URL("examples/snapshot.yaml", root));
const parsedConfig = parseConfigText(
  await Deno.readTextFile(new URL("config.example.yaml", root)),
  "config.example.yaml",
);
if (!parsedConfig.ok) throw new Error("config.example.yaml must be valid");
const CONFIG = parsedConfig.value;
const NOW = Date.parse("2026-12-01T00:00:00Z");
const PLAN_MAX_PODS = 200;

/** Reads, converts and plans `text` as `plan` does; checks a refusal's messages. */
function checkSnapshot(text: string): "planned" | "refused" {
  return withinBudget("snapshot read + plan", () => {
    const r = parseYaml(text, FILE, snapshotFile, SNAPSHOT_LIMITS);
    if (!r.ok) {
      const lineCount = text.split("\n").length;
      assert.ok(r.error.length > 0);
      for (const p of r.error) {
        const line = formatProblem(p);
        assert.match(line, /^snap\.yaml:\d+:\d+: /, line.slice(0, 300));
        assert.ok(p.line >= 1 && p.col >= 1 && p.line <= lineCount + 1, line.slice(0, 300));
        assertPlainMessage(line);
      }
      return "refused";
    }
    const snap = toSnapshot(r.value.parsed, CONFIG, NOW);
    // The decision itself on big clusters is the performance suite's subject; here it runs on
    // snapshots of ordinary size, so malformed-but-valid inputs reach it too.
    if (snap.pods.length <= PLAN_MAX_PODS) provision(snap, CONFIG);
    return "planned";
  });
}

Deno.test(`fuzz: ${FUZZ_RUNS} mutations of the example snapshot are planned or located problems, within 2 s`, () => {
  const seen = { planned: 0, refused: 0 };
  fc.assert(
    fc.property(mutatedYaml(SNAPSHOT), (text) => {
      seen[checkSnapshot(text)]++;
    }),
    fuzzParams(),
  );
  assert.ok(seen.refused > 0 && seen.planned > 0, JSON.stringify(seen));
});

Deno.test("plan exits 2 naming snapshot file:line:col for a mutated snapshot, in process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-fuzz-snap-" });
  try {
    let refused = 0;
    for (const [i, text] of fc.sample(mutatedYaml(SNAPSHOT), { numRuns: 20, seed: 11 }).entries()) {
      const path = `${dir}/s${i}.yaml`;
      await Deno.writeTextFile(path, text);
      const io = captureIo();
      const code = await planCommand.run(
        [
          "--config",
          new URL("config.example.yaml", root).pathname,
          "--snapshot",
          path,
          "--now",
          String(NOW),
        ],
        io,
      );
      const want = checkSnapshot(text) === "planned" ? 0 : 2;
      assert.equal(code, want, io.stderr.join("\n").slice(0, 500));
      if (code === 2) {
        refused++;
        assert.match(io.stderr[0]!, new RegExp(`^${path}:\\d+:\\d+: `));
        assertPlainMessage(io.stderr.join("\n"));
      }
    }
    assert.ok(refused > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
