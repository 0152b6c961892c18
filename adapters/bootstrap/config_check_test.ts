import assert from "node:assert/strict";
import { bootstrapProblems } from "./config_check.ts";

Deno.test("an inline template's unknown variable becomes a config problem with line and column", () => {
  assert.deepEqual(
    bootstrapProblems({ mode: "nocloudIso", userData: "#cloud-config\nx: {{ join.tokn }}\n" }),
    [{
      path: ["userData"],
      message: 'template line 2, column 7: unknown variable "join.tokn", did you mean join.token?',
      inner: { line: 2, col: 7, message: 'unknown variable "join.tokn", did you mean join.token?' },
    }],
  );
  assert.deepEqual(bootstrapProblems({ mode: "nocloudIso", userData: "x: {{ join.token }}" }), []);
  assert.deepEqual(bootstrapProblems({ mode: "nocloudIso", template: "kubeadm" }), []);
  assert.equal(bootstrapProblems({ userData: "{{ node.name" })[0]?.path[0], "userData");
});
