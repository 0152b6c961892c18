/**
 * Tests of scalar_position.ts: a line and column inside a YAML string value mapped to the
 * file's own line and column, for block literals, plain and quoted scalars, and undefined where
 * the mapping cannot be exact.
 *
 * May import: this folder, npm:yaml.
 */
import assert from "node:assert/strict";
import { LineCounter, parseDocument } from "yaml";
import { positionInScalar } from "./scalar_position.ts";

const TEXT = [
  "templates:", //                      line 1
  "  - name: small", //                 line 2
  "    userData: |", //                 line 3
  "      #cloud-config", //             line 4
  "", //                                line 5
  "      runcmd: [echo {{ oops }}]", // line 6
  "    plain: abc {{ x }}", //          line 7
  '    quoted: "ab {{ y }}"', //        line 8
  "    folded: >", //                   line 9
  "      a b", //                       line 10
  "      c d", //                       line 11
  "    multi: 'one", //                 line 12
  "      two {{ z }}'", //              line 13
  "",
].join("\n");

function at(path: PropertyKey[], inner: { line: number; col: number }) {
  const lc = new LineCounter();
  const doc = parseDocument(TEXT, { lineCounter: lc });
  return positionInScalar(doc, lc, TEXT, path, inner);
}

Deno.test("a position in a block literal counts from the line after its header, at its indentation", () => {
  // Line 3 of the value is "runcmd: [echo {{ oops }}]"; "{{" is its column 15.
  assert.deepEqual(at(["templates", 0, "userData"], { line: 3, col: 15 }), { line: 6, col: 21 });
  assert.equal(TEXT.split("\n")[5]!.slice(20, 22), "{{");
  assert.deepEqual(at(["templates", 0, "userData"], { line: 1, col: 1 }), { line: 4, col: 7 });
});

Deno.test("a position on the first line of a plain or quoted scalar lands on the same text", () => {
  const plain = at(["templates", 0, "plain"], { line: 1, col: 5 });
  assert.deepEqual(plain, { line: 7, col: 16 });
  assert.equal(TEXT.split("\n")[6]!.slice(15, 17), "{{");
  // A quoted scalar's range starts at the quote, so its text starts one column later.
  const quoted = at(["templates", 0, "quoted"], { line: 1, col: 4 });
  assert.deepEqual(quoted, { line: 8, col: 17 });
  assert.equal(TEXT.split("\n")[7]!.slice(16, 18), "{{");
});

Deno.test("no position where it cannot be exact: folded text, a later line of a flow scalar, no scalar", () => {
  assert.equal(at(["templates", 0, "folded"], { line: 1, col: 1 }), undefined);
  assert.equal(at(["templates", 0, "multi"], { line: 2, col: 5 }), undefined);
  assert.equal(at(["templates", 0, "plain"], { line: 2, col: 1 }), undefined);
  assert.equal(at(["templates", 0], { line: 1, col: 1 }), undefined, "a map, not a scalar");
  assert.equal(at(["templates", 3, "userData"], { line: 1, col: 1 }), undefined, "no such node");
});
