/**
 * Tests of transport.ts's pure parts: parameters encoded as PVE decodes them, the endpoint
 * name, and a complete answer read into the envelope's data or a typed error that names the
 * endpoint (non-JSON, no envelope, odd statuses, error bodies bounded).
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { encodeParams, endpointName, interpret } from "./transport.ts";

const EP = "GET /nodes/pve1/qemu";

Deno.test("parameters: booleans as 1/0, undefined left out, separators PVE splits on escaped", () => {
  assert.equal(
    encodeParams({
      start: true,
      force: false,
      skip: undefined,
      name: "a b",
      net0: "virtio,bridge=vmbr0",
    }),
    "start=1&force=0&name=a+b&net0=virtio%2Cbridge%3Dvmbr0",
  );
  assert.equal(encodeParams({ description: "x&y;z=1" }), "description=x%26y%3Bz%3D1");
  assert.equal(encodeParams(undefined), "");
});

Deno.test("the endpoint name drops the query string", () => {
  assert.equal(endpointName("GET", "/cluster/resources?type=vm"), "GET /cluster/resources");
  assert.equal(endpointName("DELETE", "/nodes/pve1/qemu/100"), "DELETE /nodes/pve1/qemu/100");
});

Deno.test("a 2xx answer yields the envelope's data, null and empty lists included", () => {
  assert.deepEqual(interpret(EP, 200, "OK", '{"data":[{"vmid":100}]}'), {
    ok: true,
    value: [{ vmid: 100 }],
  });
  assert.deepEqual(interpret(EP, 200, "OK", '{"data":null}'), { ok: true, value: null });
});

Deno.test("a 2xx answer that is not a JSON envelope is malformed, naming the endpoint and quoting it", () => {
  const cases: [string, RegExp][] = [
    ["<html>proxy error</html>", /response is not JSON: "<html>proxy error<\/html>"/],
    ['{"result":1}', /response has no "data" envelope/],
    ["[1,2]", /no "data" envelope/],
    ["", /no "data" envelope: ""/],
    ["y".repeat(500), /not JSON: "y{80}…"$/],
  ];
  for (const [text, why] of cases) {
    const r = interpret(EP, 200, "OK", text);
    assert.ok(!r.ok, text);
    assert.equal(r.error.kind, "malformed");
    assert.equal(r.error.endpoint, EP);
    assert.equal(r.error.status, 200);
    assert.match(r.error.message, new RegExp(`^PVE ${EP}: `));
    assert.match(r.error.message, why);
  }
  const redirect = interpret(EP, 302, "Found", "");
  assert.ok(!redirect.ok);
  assert.equal(redirect.error.kind, "malformed");
  assert.match(redirect.error.message, /unexpected HTTP status 302 Found/);
});

Deno.test("an error answer is classified from its JSON message, a short plain-text body, or the reason phrase", () => {
  const json = interpret(
    EP,
    500,
    "Internal Server Error",
    '{"message":"VM 100 already exists\\n"}',
  );
  assert.ok(!json.ok);
  assert.equal(json.error.kind, "alreadyExists");
  const plain = interpret(EP, 500, "Internal Server Error", "VM is locked (backup)");
  assert.ok(!plain.ok);
  assert.equal(plain.error.kind, "locked");
  assert.equal(plain.error.lock, "backup");
  const phrase = interpret(EP, 500, "unable to find configuration file for VM 7", "");
  assert.ok(!phrase.ok);
  assert.equal(phrase.error.kind, "notFound");
  // A parameter map is kept only when it maps names to strings.
  const params = interpret(
    EP,
    400,
    "Parameter verification failed.",
    '{"errors":{"memory":"bad"}}',
  );
  assert.ok(!params.ok);
  assert.deepEqual(params.error.errors, { memory: "bad" });
  const odd = interpret(EP, 400, "Parameter verification failed.", '{"errors":{"memory":1}}');
  assert.ok(!odd.ok);
  assert.equal(odd.error.errors, undefined);
});

Deno.test("an error answer's texts are bounded: quoted, never copied whole", () => {
  const huge = "x".repeat(5_000);
  const r = interpret(
    EP,
    500,
    huge,
    JSON.stringify({
      message: huge,
      errors: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, huge])),
    }),
  );
  assert.ok(!r.ok);
  assert.equal(r.error.pveMessage, `${"x".repeat(1_000)}… (5000 characters)`);
  assert.equal(Object.keys(r.error.errors ?? {}).length, 20);
  assert.ok(Object.values(r.error.errors ?? {}).every((v) => v.length < 1_100));
  assert.ok(r.error.message.length < 40_000);
  // A long plain-text body is not taken as the message; the reason phrase is.
  const long = interpret(EP, 500, "Internal Server Error", "y".repeat(2_000));
  assert.ok(!long.ok);
  assert.equal(long.error.pveMessage, "Internal Server Error");
});
