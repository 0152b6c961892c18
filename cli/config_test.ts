import assert from "node:assert/strict";
import { rollbackTarget } from "./config.ts";

Deno.test("rollback goes to the newest generation that differs from the live one, or the one asked", () => {
  const e = (generation: number, digest: string) => ({
    generation,
    digest,
    appliedAt: "",
    by: "",
    objects: [],
  });
  const h = [e(4, "a"), e(5, "b"), e(6, "b")];
  const t = rollbackTarget(h, undefined);
  assert.ok(t.ok && t.entry.generation === 4);
  const asked = rollbackTarget(h, 5);
  assert.ok(asked.ok && asked.entry.generation === 5);
  const missing = rollbackTarget(h, 2);
  assert.ok(!missing.ok);
  assert.equal(missing.error, "generation 2 is not in the history (kept: 4..6)");
  const none = rollbackTarget([e(1, "a")], undefined);
  assert.ok(!none.ok && /nothing to roll back to/.test(none.error));
});
