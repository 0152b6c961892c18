import assert from "node:assert/strict";
import { MAX_ALIAS_EXPANSION, readYaml } from "./yaml_source.ts";

Deno.test("readYaml keeps ordinary anchors and aliases working", () => {
  const r = readYaml("base: &b { cpu: 2, memory: 4Gi }\nlist: [*b, *b]\n", "one");
  assert.ok(r.ok);
  assert.deepEqual(r.value[0]!.value, {
    base: { cpu: 2, memory: "4Gi" },
    list: [{ cpu: 2, memory: "4Gi" }, { cpu: 2, memory: "4Gi" }],
  });
});

Deno.test("readYaml refuses aliases that expand past the limit, at the alias that crosses it", () => {
  const level = (n: number) => `l${n}: &l${n} [${Array(10).fill(`*l${n - 1}`).join(", ")}]\n`;
  const text = "l0: &l0 [x]\n" + [1, 2, 3, 4, 5].map(level).join("");
  const r = readYaml(text, "one");
  assert.ok(!r.ok);
  assert.equal(r.error.length, 1);
  assert.match(r.error[0]!.message, new RegExp(`more than ${MAX_ALIAS_EXPANSION} values`));
  assert.equal(r.error[0]!.line, 5, "l4's aliases are the ones past 10000 expanded values");
});

Deno.test("readYaml reads several documents when asked, and names the second when not", () => {
  const text = "a: 1\n---\nb: 2\n";
  const many = readYaml(text, "many");
  assert.ok(many.ok);
  assert.deepEqual(many.value.map((d) => d.value), [{ a: 1 }, { b: 2 }]);
  const one = readYaml(text, "one");
  assert.ok(!one.ok);
  assert.deepEqual([one.error[0]!.line, one.error[0]!.col], [2, 1]);
});

Deno.test("readYaml counts positions after a byte order mark from the first real character", () => {
  const r = readYaml("\uFEFFa: 1\nb: *missing\n", "one");
  assert.ok(!r.ok);
  assert.deepEqual([r.error[0]!.line, r.error[0]!.col], [2, 4]);
});
