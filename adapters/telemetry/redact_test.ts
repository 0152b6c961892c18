import assert from "node:assert/strict";
import { createRedactor, describeError, REDACTED } from "./redact.ts";

const SECRET = "s3cr3t-Token/value+=";

Deno.test("a registered secret is replaced in text, wherever and however often it occurs", () => {
  const r = createRedactor();
  r.registerSecret(`${SECRET}\n`); // read from a file: the newline is not part of it
  assert.equal(r.scrub(`a ${SECRET} b ${SECRET}`), `a ${REDACTED} b ${REDACTED}`);
  assert.equal(r.scrub("nothing here"), "nothing here");
  assert.ok(r.contains(`x${SECRET}y`));
});

Deno.test("the URL-encoded, JSON-escaped and base64 forms of a secret are redacted too", () => {
  const r = createRedactor();
  const secret = 'pa"ss word/1';
  r.registerSecret(secret);
  const b64 = btoa(secret);
  const text = `?t=${encodeURIComponent(secret)} ${JSON.stringify({ p: secret })} data:${b64}`;
  const out = r.scrub(text);
  assert.ok(!out.includes(encodeURIComponent(secret)));
  assert.ok(!out.includes(JSON.stringify(secret).slice(1, -1)));
  assert.ok(!out.includes(b64));
  assert.equal(out.split(REDACTED).length, 4);
});

Deno.test("a longer secret containing a shorter one is redacted whole", () => {
  const r = createRedactor();
  r.registerSecret("abcd");
  r.registerSecret("xxabcdyy");
  assert.equal(r.scrub("xxabcdyy abcd"), `${REDACTED} ${REDACTED}`);
});

Deno.test("nested values are scrubbed: keys, arrays, numbers, Errors with causes and fields", () => {
  const r = createRedactor();
  r.registerSecret(SECRET);
  r.registerSecret("424242");
  const inner = Object.assign(new Error(`token ${SECRET} refused`), { code: "E401", body: SECRET });
  const value = {
    [`k-${SECRET}`]: [1, { deep: SECRET }],
    pin: 424242,
    err: new Error("outer", { cause: inner }),
  };
  const out = JSON.stringify(r.scrubValue(value));
  assert.ok(!out.includes(SECRET), out);
  assert.ok(!out.includes("424242"), out);
  assert.match(out, /"code":"E401"/);
  assert.match(out, /token <redacted> refused/);
});

Deno.test("cycles and very deep values do not hang the scrubber", () => {
  const r = createRedactor();
  const a: Record<string, unknown> = { name: "a" };
  a.self = a;
  assert.deepEqual(r.scrubValue(a), { name: "a", self: "[Circular]" });
  let deep: unknown = SECRET;
  for (let i = 0; i < 50; i++) deep = { d: deep };
  r.registerSecret(SECRET);
  assert.ok(!JSON.stringify(r.scrubValue(deep)).includes(SECRET));
});

Deno.test("describeError is one scrubbed line with the cause chain and no stack", () => {
  const r = createRedactor();
  r.registerSecret(SECRET);
  const e = new TypeError("request failed", { cause: new Error(`bad ${SECRET}`) });
  assert.equal(describeError(e, r), "TypeError: request failed (cause: Error: bad <redacted>)");
  assert.equal(
    describeError({ kind: "http", message: `401 ${SECRET}` }, r),
    "http: 401 <redacted>",
  );
  assert.equal(describeError(`plain ${SECRET}`, r), "plain <redacted>");
});

Deno.test("an empty or blank secret is ignored rather than redacting everything", () => {
  const r = createRedactor();
  r.registerSecret("  ");
  assert.equal(r.scrub("text stays"), "text stays");
});
