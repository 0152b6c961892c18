/**
 * The protobuf message tables hold together: every message a field names has a table, every
 * decoded kind's root message exists, and the notation refuses what it cannot mean.
 */
import assert from "node:assert/strict";
import { KIND_MESSAGES, MESSAGES, parseSchemas } from "./protobuf_schema.ts";

const SCALARS = new Set(["string", "int", "bool", "bytes"]);

Deno.test("every message a table names, and every decoded kind's root, has a table", () => {
  const missing: string[] = [];
  for (const m of MESSAGES.values()) {
    for (const f of m.order) {
      if (!SCALARS.has(f.type) && !MESSAGES.has(f.type)) {
        missing.push(`${m.name}.${f.json}: ${f.type}`);
      }
    }
  }
  for (const root of Object.values(KIND_MESSAGES)) {
    if (!MESSAGES.has(root)) missing.push(`kind root ${root}`);
  }
  assert.deepEqual(missing, []);
});

Deno.test("Go-inline fields are singular messages, and pointers are singular", () => {
  for (const m of MESSAGES.values()) {
    for (const f of m.order) {
      if (f.inline) assert.ok(!f.repeated && !f.map && !SCALARS.has(f.type), `${m.name}.${f.json}`);
      if (f.pointer) assert.ok(!f.repeated && !f.map, `${m.name}.${f.json}`);
    }
  }
});

Deno.test("the table notation reads pointers, repeats, maps and inline fields, and refuses the rest", () => {
  const s = parseSchemas([{ M: "1 a int?; 2 b []string; 3 c map<Quantity>; 4 ...d N" }]).get("M")!;
  assert.deepEqual(s.order.map((f) => [f.number, f.json, f.type, f.pointer, f.repeated, f.map]), [
    [1, "a", "int", true, false, false],
    [2, "b", "string", false, true, false],
    [3, "c", "Quantity", false, false, true],
    [4, "d", "N", false, false, false],
  ]);
  assert.ok(s.byNumber.get(4)!.inline);
  assert.throws(() => parseSchemas([{ M: "1 a" }]), /malformed field "1 a"/);
  assert.throws(() => parseSchemas([{ M: "1 a map<string" }]), /malformed field/);
  assert.throws(() => parseSchemas([{ M: "1 a int; 1 b int" }]), /field 1 twice/);
  assert.throws(() => parseSchemas([{ M: "1 a int" }, { M: "1 a int" }]), /defined twice/);
});
