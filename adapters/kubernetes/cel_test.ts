/** The adapters' CEL evaluator on the rule strings proxscale ships. May import: ./cel.ts. */
import assert from "node:assert/strict";
import { compileCel, evaluateCel } from "./cel.ts";

const INT_OR_STRING = { "x-kubernetes-int-or-string": true } as const;
const SHAPE = { type: "object", properties: { cpu: INT_OR_STRING } } as const;
const WHOLE_CORES =
  "type(self.cpu) == int ? self.cpu > 0 : (isQuantity(self.cpu) && quantity(self.cpu).isInteger() && quantity(self.cpu).asInteger() > 0)";

Deno.test("the whole-cores rule accepts whole vCPU counts and refuses fractions, zero and non-quantities", () => {
  for (const cpu of [2, "2", "2000m", "1e1"]) {
    assert.equal(evaluateCel(WHOLE_CORES, { cpu }, SHAPE), true, String(cpu));
  }
  for (const cpu of [0, "0", "1500m", "lots"]) {
    assert.equal(evaluateCel(WHOLE_CORES, { cpu }, SHAPE), false, String(cpu));
  }
});

Deno.test("quantities compare by value and only whole ones convert to integers", () => {
  const q = (rule: string) => evaluateCel(rule, null, {});
  assert.equal(q("quantity('1Ki').compareTo(quantity('1024')) == 0"), true);
  assert.equal(q("quantity('1Gi').isGreaterThan(quantity('1G'))"), true);
  assert.equal(
    q("quantity('100m').isLessThan(quantity('1')) && quantity('-1').sign() == -1"),
    true,
  );
  assert.match(String(q("quantity('1500m').asInteger() > 0")), /cannot convert value to integer/);
});

Deno.test("isURL follows Go's request-URI rules and the endpoint rule needs https", () => {
  const rule = "self.startsWith('https://') && isURL(self)";
  const s = { type: "string" } as const;
  assert.equal(evaluateCel(rule, "https://pve1.lan:8006", s), true);
  assert.equal(evaluateCel(rule, "http://pve1.lan:8006", s), false);
  assert.equal(evaluateCel(rule, "https://pve 1", s), false);
  assert.equal(evaluateCel("isURL(self)", "/healthz", s), true);
  assert.equal(evaluateCel("isURL(self)", "pve1", s), false);
});

Deno.test("integers are CEL ints, so a negative int-or-string quantity fails the non-negative rule", () => {
  const rule = "type(self) != int || self >= 0";
  assert.equal(evaluateCel(rule, -1, INT_OR_STRING), false);
  assert.equal(evaluateCel(rule, 3, INT_OR_STRING), true);
  assert.equal(
    evaluateCel(rule, "-1Gi", INT_OR_STRING),
    true,
    "strings are the pattern's business",
  );
});

Deno.test("a rule with a syntax error or an unknown function does not compile", () => {
  assert.equal(compileCel("self.a <= ").ok, false);
  const unknown = compileCel("isPrime(self)");
  assert.ok(!unknown.ok && /undeclared reference to 'isPrime'/.test(unknown.error));
  assert.equal(compileCel("self.lower <= self.upper").ok, true);
});
