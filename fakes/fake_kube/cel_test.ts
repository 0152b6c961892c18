/**
 * The fake API server's CEL: values typed by the schema, the Kubernetes quantity, URL and regex
 * libraries, transition rules, messages, reasons and compile errors, worded as the apiserver
 * words them.
 */
import assert from "node:assert/strict";
import { celRuleErrors, type CelTyping, compileRule, ruleCompileErrors } from "./cel.ts";
import { parseExactQuantity, parseRequestUri } from "./cel_kubernetes.ts";

type Json = Parameters<typeof celRuleErrors>[2];

/** True when `rule` holds for `self` typed by `s` (false on failure or evaluation error). */
function holds(rule: string, self: Json = null, s: CelTyping = {}, old?: Json): boolean {
  return celRuleErrors([{ rule, message: "m" }], self, old, s, "spec").length === 0;
}

Deno.test("values are typed by the schema: integers as int, numbers as double, int-or-string as int or string", () => {
  assert.ok(holds("type(self) == int", 3, { type: "integer" }));
  assert.ok(holds("type(self) == double", 3, { type: "number" }));
  assert.ok(holds("type(self) == int", 3, { "x-kubernetes-int-or-string": true }));
  assert.ok(holds("type(self) == string", "3", { "x-kubernetes-int-or-string": true }));
  assert.ok(holds("type(self) == int && self == 3", 3));
  assert.ok(holds("type(self) == double", 1.5));
  const obj: CelTyping = {
    type: "object",
    properties: { n: { type: "number" }, xs: { type: "array", items: { type: "integer" } } },
  };
  assert.ok(
    holds("type(self.n) == double && self.xs.all(x, type(x) == int)", { n: 2, xs: [1] }, obj),
  );
  assert.ok(holds("has(self.n) && !has(self.m)", { n: 1 }, obj));
  assert.ok(!holds("self.n > 1.0", { n: 1 }, obj));
});

Deno.test("quantities compare by value across suffixes and convert to integers only when whole", () => {
  assert.ok(holds("quantity('1') == quantity('1000m')"));
  assert.ok(holds("quantity('1Ki').compareTo(quantity('1k')) == 1"));
  assert.ok(holds("quantity('1Gi').isGreaterThan(quantity('1G'))"));
  assert.ok(holds("quantity('500m').isLessThan(quantity('1'))"));
  assert.ok(holds("quantity('1.5').add(quantity('500m')).asInteger() == 2"));
  assert.ok(holds("quantity('2').sub(3).sign() == -1"));
  assert.ok(holds("quantity('2k').asInteger() == 2000 && quantity('1e3').asInteger() == 1000"));
  assert.ok(holds("quantity('250m').asApproximateFloat() == 0.25"));
  assert.ok(
    holds("!quantity('1500m').isInteger() && quantity('1500m').add(quantity('500m')).isInteger()"),
  );
  assert.ok(holds("!quantity('10E').isInteger()"), "beyond int64 is not an integer");
  assert.ok(holds("isQuantity('4Gi') && !isQuantity('lots') && !isQuantity('1.5.2')"));
  assert.deepEqual(parseExactQuantity("1.5Ki"), { m: 1536n, e: 0 });
  assert.deepEqual(parseExactQuantity("-2m"), { m: -2n, e: -3 });
  assert.equal(parseExactQuantity("4 Gi"), undefined);
});

Deno.test("a quantity that is not whole fails asInteger with an evaluation error naming the rule's message", () => {
  const errs = celRuleErrors(
    [{ rule: "quantity(self).asInteger() > 0", message: "whole cores only" }],
    "1500m",
    undefined,
    { "x-kubernetes-int-or-string": true },
    "spec.cpu",
  );
  assert.deepEqual(errs, [{
    reason: "FieldValueInvalid",
    field: "spec.cpu",
    message: 'Invalid value: "": cannot convert value to integer evaluating rule: whole cores only',
  }]);
});

Deno.test("URLs: isURL accepts absolute URLs and absolute paths as Go's request-URI parser does", () => {
  assert.ok(holds("isURL('https://pve1.lan:8006') && isURL('/healthz') && isURL('mailto:a@b')"));
  assert.ok(holds("!isURL('pve1') && !isURL('https://a b') && !isURL('')"));
  assert.ok(holds("url('https://u@pve1.lan:8006/api2/json?a=1&a=2').getHost() == 'pve1.lan:8006'"));
  assert.ok(holds("url('https://pve1.lan:8006/x').getHostname() == 'pve1.lan'"));
  assert.ok(holds("url('https://[::1]:8006/x').getHostname() == '::1'"));
  assert.ok(holds("url('https://pve1.lan:8006/x').getPort() == '8006'"));
  assert.ok(holds("url('https://pve1/api2/json?a=1&a=2').getEscapedPath() == '/api2/json'"));
  assert.ok(holds("url('https://pve1/p?a=1&a=2&b=3').getQuery()['a'] == ['1', '2']"));
  assert.ok(holds("url('https://pve1').getScheme() == 'https'"));
  assert.equal(parseRequestUri("https://a:b:c"), undefined);
});

Deno.test("strings and regex extensions: lowerAscii, split, find, findAll, matches", () => {
  assert.ok(holds("'A,B'.lowerAscii().split(',') == ['a', 'b']"));
  assert.ok(holds("'abc123def45'.find('[0-9]+') == '123'"));
  assert.ok(holds("'abc123def45'.findAll('[0-9]+') == ['123', '45']"));
  assert.ok(holds("'abc123def45'.findAll('[0-9]+', 1) == ['123']"));
  assert.ok(holds("'12'.matches('^[0-9]+$') && !'1a'.matches('^[0-9]+$')"));
  assert.ok(holds("'pve-1'.startsWith('pve') && 'x'.endsWith('x') && 'abc'.contains('b')"));
});

Deno.test("a transition rule is skipped without an old value and judged against oldSelf with one", () => {
  const rule = { rule: "self >= oldSelf", message: "may not shrink" };
  const s: CelTyping = { type: "integer" };
  assert.deepEqual(celRuleErrors([rule], 1, undefined, s, "spec.size"), []);
  assert.deepEqual(celRuleErrors([rule], 3, 2, s, "spec.size"), []);
  assert.deepEqual(celRuleErrors([rule], 1, 2, s, "spec.size"), [{
    reason: "FieldValueInvalid",
    field: "spec.size",
    message: 'Invalid value: "integer": may not shrink',
  }]);
});

Deno.test("messageExpression, the default message, reason and fieldPath shape the field error", () => {
  const s: CelTyping = { type: "object", properties: { n: { type: "integer" } } };
  const v = { n: 1 };
  const one = (rule: Parameters<typeof celRuleErrors>[0][number]) =>
    celRuleErrors([rule], v, undefined, s, "spec")[0];
  assert.equal(
    one({ rule: "self.n > 1", messageExpression: "'n is ' + string(self.n)" })?.message,
    'Invalid value: "object": n is 1',
  );
  assert.equal(
    one({ rule: "self.n > 1" })?.message,
    'Invalid value: "object": failed rule: self.n > 1',
  );
  assert.deepEqual(one({ rule: "self.n > 1", message: "no", reason: "FieldValueForbidden" }), {
    reason: "FieldValueForbidden",
    field: "spec",
    message: "Forbidden: no",
  });
  assert.deepEqual(one({ rule: "self.n > 1", message: "no", fieldPath: ".n" })?.field, "spec.n");
  assert.equal(
    one({ rule: "self.m > 1", message: "m rule" })?.message,
    'Invalid value: "object": field not found: m evaluating rule: m rule',
  );
});

Deno.test("rules that do not compile are reported under the CRD schema path with cel-go's wording", () => {
  const schema: CelTyping = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        "x-kubernetes-validations": [
          { rule: "self.minNodes <= ", message: "a" },
          { rule: "nosuch(self)", message: "b" },
          { rule: "self.n > 0", message: "ok" },
          { rule: "self.n > 0", messageExpression: "other + 'x'" },
        ],
      },
    },
  };
  const errs = ruleCompileErrors(schema, "spec.versions[0].schema.openAPIV3Schema");
  assert.deepEqual(errs.map((e) => e.field), [
    "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
    "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule",
    "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[3].messageExpression",
  ]);
  assert.match(
    errs[0]!.message,
    /^Invalid value: "self.minNodes <= ": compilation failed: ERROR: <input>:1:/,
  );
  assert.equal(
    errs[1]!.message,
    "Invalid value: \"nosuch(self)\": compilation failed: ERROR: <input>:1:7: undeclared reference to 'nosuch' (in container '')",
  );
  assert.match(errs[2]!.message, /undeclared reference to 'other'/);
});

Deno.test("a rule is compiled once per schema node and reused", () => {
  const rule = { rule: "self > 0", message: "positive" };
  const first = compileRule(rule);
  assert.equal(compileRule(rule), first);
  assert.notEqual(compileRule({ ...rule }), first, "another CRD's rule object compiles anew");
});

Deno.test("declared property names are escaped as the apiserver escapes them; map keys are not", () => {
  const s: CelTyping = {
    type: "object",
    properties: {
      "x-y": { type: "string" },
      namespace: { type: "string" },
      "a.b": { type: "string" },
      labels: { type: "object", additionalProperties: { type: "string" } },
    },
  };
  const v = { "x-y": "1", namespace: "n", "a.b": "2", labels: { "k-8": "v" } };
  assert.ok(holds("self.x__dash__y == '1' && self.__namespace__ == 'n'", v, s));
  assert.ok(holds("self.a__dot__b == '2' && self.labels['k-8'] == 'v'", v, s));
});
