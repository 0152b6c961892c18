/**
 * The reason and condition vocabularies stay closed and documented: docs/reasons.md lists every
 * reason code with the Event type core/reason.ts gives it, and every condition type of
 * core/model.ts, no more and no fewer; and no source file makes a reason without a message.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { REASON_SEVERITY } from "../core/reason.ts";
import { CONDITION_TYPES } from "../core/model.ts";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const DOC = Deno.readTextFileSync(join(ROOT, "docs/reasons.md"));

/** The rows of the markdown table under `heading`: first cell (unquoted) -> second cell. */
function tableUnder(heading: string): Map<string, string> {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/reasons.md has a "${heading}" section`);
  const next = DOC.indexOf("\n## ", start + 1);
  const rows = new Map<string, string>();
  for (const line of DOC.slice(start, next < 0 ? undefined : next).split("\n")) {
    const m = /^\|\s*`([A-Za-z]+)`\s*\|\s*([A-Za-z]+)\s*\|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

Deno.test("docs/reasons.md lists every reason code with its Event type, and no other code", () => {
  const documented = Object.fromEntries(tableUnder("Reason codes"));
  assert.deepEqual(documented, { ...REASON_SEVERITY });
});

Deno.test("docs/reasons.md lists every condition type proxscale writes, and no other", () => {
  assert.deepEqual([...tableUnder("Condition types").keys()].sort(), [...CONDITION_TYPES].sort());
});

/** Source files of the tree (tests and fakes aside), relative to the repository root. */
function sources(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) sources(path, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

/** `reason("Code", "")` or `reason("Code", ``)`: a reason with nothing to say. */
const EMPTY_REASON = /\breason\(\s*"[A-Za-z]+",\s*(""|``|'')\s*\)/;

Deno.test("no source file makes a reason with an empty message", () => {
  const found = ["core", "daemon", "adapters", "sim", "cli", "harness"].flatMap((d) => sources(d))
    .filter((f) => EMPTY_REASON.test(Deno.readTextFileSync(join(ROOT, f))));
  assert.deepEqual(found, []);
});
