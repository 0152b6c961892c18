/**
 * The RBAC table in docs/operations.md is the one rendered from adapters/deploy/rbac.ts (so the
 * documented reasons cannot drift from the granted verbs), and the shipped rules never let
 * proxscale list or watch Secrets anywhere.
 *
 * May import: adapters/deploy/.
 */
import assert from "node:assert/strict";
import {
  rbacTable,
  rbacTableRegion,
  tableCells,
  withRbacTable,
} from "../adapters/deploy/rbac_table.ts";
import {
  BOOTSTRAP_RULES,
  CLUSTER_RULE_DOCS,
  CLUSTER_RULES,
  NAMESPACE_RULES,
} from "../adapters/deploy/rbac.ts";

const DOC = new URL("../docs/operations.md", import.meta.url);

Deno.test("the committed RBAC table in operations.md is the one generated from the RBAC source", async () => {
  const doc = await Deno.readTextFile(DOC);
  const committed = tableCells(rbacTableRegion(doc));
  const generated = tableCells(rbacTable());
  assert.ok(generated.length > CLUSTER_RULE_DOCS.length, "one row per rule plus the header");
  assert.deepEqual(committed, generated, "run `deno task rbac-docs`");
  // The check can fail: a changed reason is a different table.
  const stale = withRbacTable(doc).replace("Never list or watch", "May list");
  assert.notDeepEqual(tableCells(rbacTableRegion(stale)), generated);
});

Deno.test("no rule anywhere grants list or watch on Secrets, and every verb has a reason", () => {
  for (const r of [...CLUSTER_RULES, ...NAMESPACE_RULES, ...BOOTSTRAP_RULES]) {
    const secrets = r.resources.includes("secrets") || r.resources.includes("*");
    if (!secrets) continue;
    assert.deepEqual(r.verbs.filter((v) => v === "list" || v === "watch" || v === "*"), []);
  }
  assert.deepEqual(BOOTSTRAP_RULES.flatMap((r) => r.verbs).sort(), ["create", "delete", "get"]);
  for (const row of tableCells(rbacTable()).slice(1)) {
    const [, , , verbs, why] = row;
    for (const v of verbs!.split(", ")) {
      assert.match(
        why!,
        new RegExp(`\\b${v}\\b`),
        `the reason names verb ${v}: ${row.join(" | ")}`,
      );
    }
  }
});
