/**
 * Tests of client.ts's error translation: a Status body (object, JSON text or plain text) read
 * into a KubeError, thrown values from client-node or the transport translated by their shape,
 * the predicates callers decide on, and the one-line description.
 *
 * May import: this folder, core/result.ts.
 */
import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import {
  call,
  describeKubeError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  kubeErrorFrom,
  statusError,
} from "./client.ts";

const pdbStatus = {
  kind: "Status",
  status: "Failure",
  reason: "TooManyRequests",
  message: "Cannot evict pod as it would violate the pod's disruption budget.",
  details: {
    causes: [{ message: "needs 2 healthy pods" }, { reason: "x" }, { message: "" }],
    retryAfterSeconds: 10,
  },
  code: 429,
};

Deno.test("a Status body is read with its reason, message, non-empty causes and retry hint", () => {
  const want = {
    kind: "Status",
    code: 429,
    reason: "TooManyRequests",
    message: pdbStatus.message,
    causes: ["needs 2 healthy pods"],
    retryAfterSeconds: 10,
  };
  assert.deepEqual(statusError(429, pdbStatus), want);
  assert.deepEqual(statusError(429, JSON.stringify(pdbStatus)), want, "the same from JSON text");
});

Deno.test("a body that is not a Status still gives a usable error", () => {
  assert.deepEqual(statusError(502, "<html>Bad Gateway</html>"), {
    kind: "Status",
    code: 502,
    reason: "Unknown",
    message: "<html>Bad Gateway</html>",
    causes: [],
  });
  assert.deepEqual(statusError(401, undefined), {
    kind: "Status",
    code: 401,
    reason: "Unauthorized",
    message: "HTTP 401",
    causes: [],
  });
  assert.equal("retryAfterSeconds" in statusError(500, {}), false);
});

Deno.test("thrown values are translated by shape: client-node's exception, a status code, or transport", () => {
  const apiException = { code: 409, body: JSON.stringify({ reason: "Conflict", message: "m" }) };
  assert.deepEqual(kubeErrorFrom(apiException), {
    kind: "Status",
    code: 409,
    reason: "Conflict",
    message: "m",
    causes: [],
  });
  assert.equal(kubeErrorFrom({ statusCode: "404" }).kind, "Status");
  assert.deepEqual(kubeErrorFrom(new Error("connect ECONNREFUSED 127.0.0.1:6443")), {
    kind: "Transport",
    message: "connect ECONNREFUSED 127.0.0.1:6443",
  });
  assert.deepEqual(kubeErrorFrom("socket hang up"), {
    kind: "Transport",
    message: "socket hang up",
  });
});

Deno.test("the predicates tell Conflict from AlreadyExists (both 409) and NotFound", () => {
  const conflict = statusError(409, { reason: "Conflict" });
  const exists = statusError(409, { reason: "AlreadyExists" });
  const missing = statusError(404, {});
  const transport = kubeErrorFrom(new Error("x"));
  assert.deepEqual([isConflict(conflict), isAlreadyExists(conflict), isNotFound(conflict)], [
    true,
    false,
    false,
  ]);
  assert.deepEqual([isConflict(exists), isAlreadyExists(exists)], [false, true]);
  assert.equal(isNotFound(missing), true);
  assert.deepEqual([isConflict(transport), isAlreadyExists(transport), isNotFound(transport)], [
    false,
    false,
    false,
  ]);
  assert.equal(describeKubeError(conflict), "409 Conflict: HTTP 409");
  assert.equal(describeKubeError(transport), "transport: x");
});

Deno.test("call returns the value or the translated error, never throws", async () => {
  assert.deepEqual(await call(() => Promise.resolve(5)), ok(5));
  assert.deepEqual(
    await call(() => Promise.reject(new Error("reset"))),
    err({ kind: "Transport", message: "reset" }),
  );
});
