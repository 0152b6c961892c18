/**
 * Protobuf bodies of the review endpoints, built by hand from the published field numbers
 * (as kubectl's typed clients send them), read back into the JSON they stand for; and the
 * same review answered over HTTP.
 */
import assert from "node:assert/strict";
import { isKubeProtobuf, reviewFromProtobuf } from "./review_protobuf.ts";
import { withKube } from "./testing/client.ts";

const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const bytesField = (f: number, b: number[]) => [...varint(f * 8 + 2), ...varint(b.length), ...b];
const strField = (f: number, s: string) => bytesField(f, [...enc.encode(s)]);
const intField = (f: number, n: number) => [...varint(f * 8), ...varint(n)];

/** `k8s\0` + Unknown{typeMeta{apiVersion, kind}, raw{metadata, spec}}. */
function envelope(apiVersion: string, kind: string, spec: number[]): Uint8Array<ArrayBuffer> {
  const typeMeta = [...strField(1, apiVersion), ...strField(2, kind)];
  const raw = [...bytesField(1, []), ...bytesField(2, spec)];
  return new Uint8Array([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...bytesField(1, typeMeta),
    ...bytesField(2, raw),
  ]);
}

Deno.test("protobuf access reviews read back as their JSON spec", () => {
  const ssar = envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", [
    ...bytesField(1, [
      ...strField(1, "kube-system"),
      ...strField(2, "list"),
      ...strField(5, "secrets"),
    ]),
  ]);
  assert.ok(isKubeProtobuf(ssar));
  assert.deepEqual(reviewFromProtobuf(ssar), {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    spec: { resourceAttributes: { namespace: "kube-system", verb: "list", resource: "secrets" } },
  });
  const extraValue = [...strField(1, "a"), ...strField(1, "b")];
  const sar = envelope("authorization.k8s.io/v1", "SubjectAccessReview", [
    ...bytesField(2, [...strField(1, "/healthz"), ...strField(2, "get")]),
    ...strField(3, "jane"),
    ...strField(4, "dev"),
    ...strField(4, "ops"),
    ...bytesField(5, [...strField(1, "scopes"), ...bytesField(2, extraValue)]),
    ...strField(6, "u-1"),
  ]);
  assert.deepEqual(reviewFromProtobuf(sar)?.spec, {
    nonResourceAttributes: { path: "/healthz", verb: "get" },
    user: "jane",
    groups: ["dev", "ops"],
    extra: { scopes: ["a", "b"] },
    uid: "u-1",
  });
  const rules = envelope("authorization.k8s.io/v1", "SelfSubjectRulesReview", strField(1, "apps"));
  assert.deepEqual(reviewFromProtobuf(rules)?.spec, { namespace: "apps" });
  const token = envelope("authentication.k8s.io/v1", "TokenRequest", [
    ...strField(1, "vault"),
    ...intField(4, 7200),
  ]);
  assert.deepEqual(reviewFromProtobuf(token)?.spec, {
    audiences: ["vault"],
    expirationSeconds: 7200,
  });
  assert.equal(
    reviewFromProtobuf(envelope("v1", "Pod", [])),
    undefined,
    "other kinds are not read",
  );
  assert.equal(reviewFromProtobuf(enc.encode('{"kind":"x"}')), undefined);
});

Deno.test("a protobuf SelfSubjectAccessReview is answered in JSON; other protobuf kinds get 415", async () => {
  await withKube({ users: { t: "alice" } }, async (k) => {
    const post = (body: Uint8Array<ArrayBuffer>, path: string) =>
      fetch(k.url + path, {
        method: "POST",
        headers: {
          authorization: "Bearer t",
          "content-type": "application/vnd.kubernetes.protobuf",
          accept: "application/vnd.kubernetes.protobuf, */*",
        },
        body,
      });
    const r = await post(
      envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", [
        ...bytesField(1, [
          ...strField(2, "create"),
          ...strField(5, "selfsubjectreviews"),
          ...strField(3, "authentication.k8s.io"),
        ]),
      ]),
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    );
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("content-type"), "application/json");
    const body = await r.json();
    assert.equal(body.status.allowed, true, "system:basic-user lets everyone ask who they are");
    const odd = await post(
      envelope("v1", "Pod", []),
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    );
    assert.equal(odd.status, 415);
    await odd.body?.cancel();
  });
});
